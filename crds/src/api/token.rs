//! API tokens: roles, who-am-I, issuing and listing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a token may do, within its tenant and the tenant's descendants.
///
/// `viewer` reads; `editor` also requests quota; `operations` also decides requests and
/// administers tokens; `auditor` reads and exports and verifies the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Operations,
    Auditor,
}

impl Role {
    /// The role's name as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Operations => "operations",
            Self::Auditor => "auditor",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "viewer" => Ok(Self::Viewer),
            "editor" => Ok(Self::Editor),
            "operations" => Ok(Self::Operations),
            "auditor" => Ok(Self::Auditor),
            other => Err(format!(
                "unknown role \"{other}\": expected viewer, editor, operations or auditor"
            )),
        }
    }
}

/// The caller, as its token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// Token identifier (not the secret).
    pub token_id: i64,
    /// The tenant the token is scoped to.
    pub tenant: String,
    /// The token's role.
    pub role: Role,
    /// The token's description, usually who holds it.
    pub description: String,
    /// When the token expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A request to issue a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    /// The tenant the token is scoped to.
    pub tenant: String,
    /// Its role.
    pub role: Role,
    /// Who holds it and why.
    pub description: String,
    /// Lifetime in Go notation (`720h`); the server's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

/// A token just issued: the secret is shown this once and never again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    /// The secret, to send as `Authorization: Bearer …`.
    pub token: String,
    /// What the server keeps of it.
    #[serde(flatten)]
    pub view: TokenView,
}

/// A token as the server keeps it (a hash of the secret, never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    /// Identifier.
    pub id: i64,
    /// Tenant.
    pub tenant: String,
    /// Role.
    pub role: Role,
    /// Who holds it and why.
    pub description: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

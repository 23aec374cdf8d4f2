//! Bearer tokens: minting secrets, reading the `Authorization` header, and the [`Caller`] every
//! authenticated handler receives, with its role checks.
//!
//! A secret is `gct_` followed by 32 random bytes in unpadded base64url; only its SHA-256 is
//! stored. Unknown, expired and revoked tokens get the same `401` answer; a header that cannot
//! hold a token at all is refused without a database lookup. Secrets never reach a log line,
//! a problem body or an audit record.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::problem::{ApiProblem, ProblemKind};
use super::state::AppState;
use crate::storage::{ApiToken, Role, hash_token_secret};

/// Prefix of every token secret (so that secret scanners can find leaked ones).
pub const TOKEN_PREFIX: &str = "gct_";
/// Random bytes in a secret.
pub const TOKEN_BYTES: usize = 32;
/// Length of a secret: the prefix and 32 bytes in unpadded base64.
const TOKEN_LENGTH: usize = TOKEN_PREFIX.len() + (TOKEN_BYTES * 4).div_ceil(3);
/// At most this many characters of a token's description go into an actor name, so that the
/// actor fits the 253 characters of `requestedBy` and `decidedBy`.
const ACTOR_DESCRIPTION_CHARS: usize = 200;

/// A new secret and the hash to store.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// What the holder sends; shown once.
    pub secret: String,
    /// What the server stores.
    pub hash: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("secret", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

/// Mints a secret from the operating system's random source.
pub fn mint_secret() -> Result<Secret, getrandom::Error> {
    let mut bytes = [0_u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)?;
    let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token_secret(&secret);
    Ok(Secret { secret, hash })
}

/// Whether `candidate` has the shape of a secret this server mints.
fn well_formed(candidate: &str) -> bool {
    candidate.len() == TOKEN_LENGTH
        && candidate.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
            rest.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The secret of an `Authorization` header value, or the 401 to answer.
pub fn bearer_secret(header: Option<&[u8]>) -> Result<&str, ApiProblem> {
    let Some(value) = header else {
        return Err(ApiProblem::missing_credentials());
    };
    let malformed = || {
        ApiProblem::invalid_credentials(
            "the Authorization header must be `Bearer <token>` with a govcloud API token",
        )
    };
    let value = std::str::from_utf8(value).map_err(|_| malformed())?;
    let (scheme, secret) = value.trim().split_once(' ').ok_or_else(malformed)?;
    let secret = secret.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || !well_formed(secret) {
        return Err(malformed());
    }
    Ok(secret)
}

/// The authenticated caller: what its token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's identifier.
    pub token_id: i64,
    /// The tenant it is scoped to.
    pub tenant: String,
    /// Its role.
    pub role: Role,
    /// Who holds it.
    pub description: String,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Caller {
    fn from_token(token: ApiToken) -> Self {
        Self {
            token_id: token.id,
            tenant: token.tenant,
            role: token.role,
            description: token.description,
            expires_at: token.expires_at,
        }
    }

    /// How the caller is named in audit records, `requestedBy` and `decidedBy`:
    /// `<description> (token <id>)`.
    pub fn actor(&self) -> String {
        actor_name(&self.description, self.token_id)
    }

    /// `Ok` when the caller's role is one of `allowed`, else a 403 saying what is needed.
    pub fn require(&self, allowed: &[Role], action: &str) -> Result<(), ApiProblem> {
        if allowed.contains(&self.role) {
            return Ok(());
        }
        let needed = allowed
            .iter()
            .map(|role| role.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        Err(ApiProblem::new(
            ProblemKind::Forbidden,
            format!(
                "a {} token cannot {action}; that needs the {needed} role",
                self.role
            ),
        ))
    }
}

/// `<description> (token <id>)`, the description cut to 200 characters.
pub fn actor_name(description: &str, token_id: i64) -> String {
    let description: String = description.chars().take(ACTOR_DESCRIPTION_CHARS).collect();
    format!("{description} (token {token_id})")
}

/// The token id at the end of an actor name, if it is one.
pub fn actor_token_id(actor: &str) -> Option<i64> {
    let rest = actor.strip_suffix(')')?;
    let (_, id) = rest.rsplit_once(" (token ")?;
    id.parse().ok()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiProblem> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(axum::http::HeaderValue::as_bytes);
        let secret = bearer_secret(header)?;
        let hash = hash_token_secret(secret);
        let token = state
            .storage()
            .tokens()
            .find_active(&hash, Utc::now())
            .await
            .map_err(|error| {
                tracing::error!(
                    error = %crate::report::error_chain(&error),
                    "failed to look up an API token"
                );
                ApiProblem::internal()
            })?
            .ok_or_else(|| {
                ApiProblem::invalid_credentials("the token is unknown, expired or revoked")
            })?;
        let caller = Self::from_token(token);
        tracing::Span::current().record("token", caller.token_id);
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_secrets_are_well_formed_and_distinct() {
        let one = mint_secret().expect("random");
        let two = mint_secret().expect("random");
        assert_ne!(one.secret, two.secret);
        assert!(well_formed(&one.secret), "{}", one.secret);
        assert_eq!(one.secret.len(), TOKEN_LENGTH);
        assert_eq!(one.hash, hash_token_secret(&one.secret));
        assert!(!format!("{one:?}").contains(&one.secret));
    }

    #[test]
    fn the_header_must_be_a_bearer_token() {
        let secret = mint_secret().expect("random").secret;
        let header = format!("Bearer {secret}");
        assert_eq!(bearer_secret(Some(header.as_bytes())), Ok(secret.as_str()));
        let lower = format!("bearer  {secret} ");
        assert_eq!(bearer_secret(Some(lower.as_bytes())), Ok(secret.as_str()));
        for bad in [
            format!("Basic {secret}"),
            secret.clone(),
            "Bearer ".to_owned(),
            "Bearer gct_short".to_owned(),
            format!("Bearer {}", secret.replace("gct_", "xyz_")),
            format!("Bearer {}!", &secret[..secret.len() - 1]),
        ] {
            let problem = bearer_secret(Some(bad.as_bytes())).expect_err(&bad);
            assert_eq!(problem.kind(), ProblemKind::Unauthorized);
            assert!(!problem.detail().contains(&secret));
        }
        assert_eq!(
            bearer_secret(None).expect_err("missing").kind(),
            ProblemKind::Unauthorized
        );
        assert!(bearer_secret(Some(b"Bearer \xff\xfe")).is_err());
    }

    #[test]
    fn actors_name_the_token() {
        assert_eq!(
            actor_name("Li Wei, finance", 7),
            "Li Wei, finance (token 7)"
        );
        assert_eq!(actor_token_id("Li Wei (token 1) (token 7)"), Some(7));
        assert_eq!(actor_token_id("chen.jing@ankang.example.org"), None);
        let long = "x".repeat(400);
        assert!(actor_name(&long, i64::MAX).chars().count() <= 253);
    }

    #[test]
    fn roles_are_checked() {
        let caller = Caller {
            token_id: 1,
            tenant: "city-finance".into(),
            role: Role::Viewer,
            description: "viewer".into(),
            expires_at: None,
        };
        let problem = caller
            .require(&[Role::Editor, Role::Operations], "create quota requests")
            .expect_err("viewer");
        assert_eq!(problem.kind(), ProblemKind::Forbidden);
        assert_eq!(
            problem.detail(),
            "a viewer token cannot create quota requests; that needs the editor or operations role"
        );
        assert!(caller.require(&[Role::Viewer], "read").is_ok());
    }
}

//! Classification of systems and networks (涉密 / 非涉密), their sensitivity, and site levels.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether an information system or network carries classified information.
///
/// `Unclassified` (非涉密) items may move onto the government cloud and the e-government
/// extranet; `Classified` (涉密) items never do.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum Classification {
    Unclassified,
    Classified,
}

/// How sensitive an unclassified item is: `Public`, `Internal` or `Sensitive`.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum Sensitivity {
    Public,
    Internal,
    Sensitive,
}

/// The administrative level of a site: `City` (市), `County` (县/区) or `Township` (乡镇/街道).
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum SiteLevel {
    City,
    County,
    Township,
}

//! String formats the schemas check: Go-style durations, cron schedules, IPv6 prefixes, dates and
//! HTTPS URLs. Each is a transparent newtype whose schema carries the pattern (and the Kubernetes
//! `format` where one exists), so the API server refuses a malformed value before any controller
//! sees it.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Pattern of a Go duration as Kubernetes writes them (`90s`, `1h30m`, `720h`).
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";

/// Pattern of a cron schedule: five fields (minute hour day-of-month month day-of-week) or one of
/// the `@daily`-style shorthands.
pub const CRON_PATTERN: &str = r"^(@(yearly|annually|monthly|weekly|daily|hourly)|[0-9*/,-]+\s+[0-9*/,-]+\s+[0-9*/,?LW-]+\s+[0-9A-Za-z*/,-]+\s+[0-9A-Za-z*/,?L#-]+)$";

/// Pattern of an IPv6 prefix in CIDR notation; the `cidr` format checks the address itself.
pub const IPV6_PREFIX_PATTERN: &str = r"^[0-9a-fA-F:]*:[0-9a-fA-F:.]*/[0-9]{1,3}$";

/// Pattern of a calendar date (the `date` format checks that the day exists).
pub const DATE_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// Pattern of an HTTPS URL: plain HTTP is never accepted for an endpoint that carries tokens or
/// government data.
pub const HTTPS_URL_PATTERN: &str = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$";

macro_rules! string_format {
    ($(#[$doc:meta])* $name:ident, $schema_name:literal, $schema:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The value as written in the manifest.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                $schema_name.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

string_format!(
    /// A duration in Go notation, e.g. `15m`, `4h`, `720h`.
    Duration,
    "Duration",
    json_schema!({ "type": "string", "pattern": DURATION_PATTERN, "maxLength": 32 })
);

string_format!(
    /// A cron schedule in the controller's time zone, e.g. `0 2 * * 1` or `@daily`.
    CronSchedule,
    "CronSchedule",
    json_schema!({ "type": "string", "pattern": CRON_PATTERN, "maxLength": 128 })
);

string_format!(
    /// An IPv6 prefix in CIDR notation, e.g. `2001:db8:100::/48`.
    Prefix,
    "Prefix",
    json_schema!({ "type": "string", "format": "cidr", "pattern": IPV6_PREFIX_PATTERN, "maxLength": 43 })
);

string_format!(
    /// A calendar date, `YYYY-MM-DD`.
    IsoDate,
    "IsoDate",
    json_schema!({ "type": "string", "format": "date", "pattern": DATE_PATTERN })
);

string_format!(
    /// An `https://` URL.
    HttpsUrl,
    "HttpsUrl",
    json_schema!({ "type": "string", "pattern": HTTPS_URL_PATTERN, "maxLength": 2048 })
);

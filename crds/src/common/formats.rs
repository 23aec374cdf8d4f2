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

/// Why a duration could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse duration \"{0}\": expected Go notation such as 90s, 15m, 1h30m or 720h")]
pub struct InvalidDuration(pub String);

const UNITS: &[(&str, i128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go duration (`90s`, `1h30m`, `720h`, `1.5h`); fractions of a nanosecond are dropped.
pub fn parse_go_duration(text: &str) -> Result<std::time::Duration, InvalidDuration> {
    let invalid = || InvalidDuration(text.to_owned());
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut nanos: i128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, after) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        // As the schemas' pattern: digits, optionally a point and more digits.
        if whole.is_empty()
            || (number.contains('.') && fraction.is_empty())
            || fraction.contains('.')
        {
            return Err(invalid());
        }
        // The longest unit that prefixes what follows (`ms` before `m`).
        let (unit, per_unit) = UNITS
            .iter()
            .filter(|(unit, _)| after.starts_with(unit))
            .max_by_key(|(unit, _)| unit.len())
            .ok_or_else(invalid)?;
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut part = whole.checked_mul(*per_unit).ok_or_else(invalid)?;
        let mut scale = *per_unit;
        for digit in fraction.chars() {
            scale /= 10;
            let value = i128::from(digit.to_digit(10).ok_or_else(invalid)?);
            part = part.checked_add(value * scale).ok_or_else(invalid)?;
        }
        nanos = nanos.checked_add(part).ok_or_else(invalid)?;
        rest = &after[unit.len()..];
    }
    let seconds = u64::try_from(nanos / 1_000_000_000).map_err(|_| invalid())?;
    let subsec = u32::try_from(nanos % 1_000_000_000).map_err(|_| invalid())?;
    Ok(std::time::Duration::new(seconds, subsec))
}

impl Duration {
    /// The duration this Go notation denotes.
    pub fn to_std(&self) -> Result<std::time::Duration, InvalidDuration> {
        parse_go_duration(&self.0)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> f64 {
        parse_go_duration(text).expect(text).as_secs_f64()
    }

    #[test]
    fn reads_go_notation() {
        assert!((secs("1s") - 1.0).abs() < f64::EPSILON);
        assert!((secs("90s") - 90.0).abs() < f64::EPSILON);
        assert!((secs("1h30m") - 5400.0).abs() < f64::EPSILON);
        assert!((secs("720h") - 2_592_000.0).abs() < f64::EPSILON);
        assert!((secs("1.5h") - 5400.0).abs() < f64::EPSILON);
        assert!((secs("250ms") - 0.25).abs() < f64::EPSILON);
        assert!((secs("2m0.5s") - 120.5).abs() < f64::EPSILON);
        assert_eq!(
            parse_go_duration("10µs").expect("µs"),
            std::time::Duration::from_micros(10)
        );
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in [
            "",
            "5",
            "h",
            "1d",
            "1h 30m",
            "-5s",
            "1..5s",
            "99999999999999999999h",
            "0",
            ".5h",
            "1.h",
            "1e3s",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }
}

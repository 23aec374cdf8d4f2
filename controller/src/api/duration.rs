//! Go durations on the wire (`expiresIn`, `validFor`), read with the schemas' own parser.

use chrono::TimeDelta;
use govcloud_crds::common::parse_go_duration as parse_std;

/// Parses a Go duration into a `TimeDelta`, with a message fit for a problem's detail.
pub fn parse_go_duration(text: &str) -> Result<TimeDelta, String> {
    let duration = parse_std(text).map_err(|error| error.to_string())?;
    TimeDelta::from_std(duration).map_err(|_| format!("{text:?} is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_become_time_deltas() {
        assert_eq!(parse_go_duration("720h"), Ok(TimeDelta::hours(720)));
        assert_eq!(parse_go_duration("1h30m"), Ok(TimeDelta::minutes(90)));
        assert!(
            parse_go_duration("5d")
                .expect_err("days")
                .contains("Go notation")
        );
    }
}

//! Go durations as Kubernetes writes them (`90s`, `1h30m`, `720h`, `1.5h`), read exactly into a
//! `jiff::SignedDuration` (the schema's pattern already refused anything else).

use k8s_openapi::jiff::SignedDuration;

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

/// Parses a Go duration; fractions of a nanosecond are dropped.
pub fn parse_go_duration(text: &str) -> Result<SignedDuration, InvalidDuration> {
    let invalid = || InvalidDuration(text.to_owned());
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    if rest == "0" {
        return Ok(SignedDuration::ZERO);
    }
    let mut nanos: i128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, after) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
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
    let seconds = i64::try_from(nanos / 1_000_000_000).map_err(|_| invalid())?;
    let subsec = i32::try_from(nanos % 1_000_000_000).map_err(|_| invalid())?;
    Ok(SignedDuration::new(seconds, subsec))
}

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
        assert!((secs("0") - 0.0).abs() < f64::EPSILON);
        assert_eq!(
            parse_go_duration("10µs").expect("µs"),
            SignedDuration::from_micros(10)
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
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }
}

//! Go durations (`90s`, `1h30m`, `720h`, `1.5h`), pure: how token lifetimes and the validity
//! of quota requests are written on the wire and in the CRDs.

use chrono::TimeDelta;

/// Parses a Go duration that is not negative, in the form the CRDs' pattern accepts: one or
/// more `<digits>[.<digits>]<unit>` with units `ns`, `us` (`µs`), `ms`, `s`, `m`, `h`.
/// Precision is the nanosecond; a value above about 292 years is refused.
pub fn parse_go_duration(text: &str) -> Result<TimeDelta, String> {
    const UNITS: [(&str, i128); 7] = [
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ];
    let invalid = || format!("{text:?} is not a duration such as 90s, 45m, 720h or 1h30m");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut rest = text;
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, after) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        // As the CRDs' pattern: digits, optionally a point and more digits.
        if whole.is_empty()
            || (number.contains('.') && fraction.is_empty())
            || fraction.contains('.')
        {
            return Err(invalid());
        }
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let scale = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, scale)| *scale)
            .ok_or_else(invalid)?;
        let too_long = || format!("{text:?} is too long a duration");
        let whole: i128 = whole.parse().map_err(|_| too_long())?;
        let mut nanos = whole.checked_mul(scale).ok_or_else(too_long)?;
        // Fraction digits beyond nanosecond precision are dropped, as Go does.
        let mut place = scale;
        for digit in fraction.bytes() {
            place /= 10;
            nanos += i128::from(digit - b'0') * place;
        }
        total = total.checked_add(nanos).ok_or_else(too_long)?;
        rest = next;
    }
    let total = i64::try_from(total).map_err(|_| format!("{text:?} is too long a duration"))?;
    Ok(TimeDelta::nanoseconds(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("720h"), Ok(TimeDelta::hours(720)));
        assert_eq!(parse_go_duration("1h30m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_go_duration("1.5h"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_go_duration("90s"), Ok(TimeDelta::seconds(90)));
        assert_eq!(parse_go_duration("250ms"), Ok(TimeDelta::milliseconds(250)));
        assert_eq!(parse_go_duration("3µs"), Ok(TimeDelta::microseconds(3)));
        assert_eq!(parse_go_duration("0s"), Ok(TimeDelta::zero()));
    }

    #[test]
    fn other_text_is_refused() {
        for bad in [
            "", "5", "h", "-5h", "5d", "1.2.3h", "5 h", "1e3s", ".h", ".5h", "1.h",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
        assert!(
            parse_go_duration("99999999999999999999h")
                .expect_err("huge")
                .contains("too long")
        );
    }
}

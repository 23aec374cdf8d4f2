//! The string formats kube-apiserver checks in custom resources (the `strfmt` registry behind
//! `supportedFormats`), implemented as `strfmt` does. Other formats (`int64`, `uint8`, `double`,
//! …) are not checked, as in Kubernetes, where they are stripped from the validation schema.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;

/// A format check.
pub type Check = fn(&str) -> bool;

/// Every checked format, by the name a schema gives it.
pub const CHECKED: &[(&str, Check)] = &[
    ("bsonobjectid", is_bson_object_id),
    ("uri", is_uri),
    ("email", is_email),
    ("hostname", is_hostname),
    ("ipv4", is_ipv4),
    ("ipv6", is_ipv6),
    ("cidr", is_cidr),
    ("mac", is_mac),
    ("uuid", is_uuid),
    ("uuid3", is_uuid3),
    ("uuid4", is_uuid4),
    ("uuid5", is_uuid5),
    ("hexcolor", is_hex_color),
    ("rgbcolor", is_rgb_color),
    ("ssn", is_ssn),
    ("byte", is_base64),
    ("password", accept),
    ("date", is_date),
    ("duration", is_duration),
    ("datetime", is_date_time),
    ("date-time", is_date_time),
];

/// Formats Kubernetes supports but this server does not check (every value passes).
const ACCEPTED: &[&str] = &["isbn", "isbn10", "isbn13", "creditcard"];

/// Whether Kubernetes validates `format` in a custom resource (names compared without dashes,
/// as `strfmt` normalizes them). Unsupported formats are dropped from the validation schema.
pub fn is_supported(format: &str) -> bool {
    let normalized = format.replace('-', "");
    CHECKED
        .iter()
        .any(|(name, _)| name.replace('-', "") == normalized)
        || ACCEPTED.contains(&normalized.as_str())
}

/// The check of a supported format, under its name or its dashless spelling.
pub fn check(format: &str) -> Option<Check> {
    let normalized = format.replace('-', "");
    CHECKED
        .iter()
        .find(|(name, _)| name.replace('-', "") == normalized)
        .map(|(_, check)| *check)
        .or_else(|| {
            ACCEPTED
                .contains(&normalized.as_str())
                .then_some(accept as Check)
        })
}

fn accept(_: &str) -> bool {
    true
}

fn all(value: &str, pattern: impl Fn(u8) -> bool) -> bool {
    value.bytes().all(pattern)
}

fn is_bson_object_id(value: &str) -> bool {
    value.len() == 24 && all(value, |b| b.is_ascii_hexdigit())
}

/// `url.ParseRequestURI`: an absolute URI or an absolute path, without spaces or controls.
fn is_uri(value: &str) -> bool {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    if value.starts_with('/') {
        return true;
    }
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && !rest.is_empty()
}

/// `mail.ParseAddress`, for the common forms `a@b` and `Name <a@b>`.
fn is_email(value: &str) -> bool {
    let value = value.trim();
    let address = match (value.rfind('<'), value.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        _ => value,
    };
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>(),;:\\[]".contains(c))
}

/// RFC 1034 host names as `strfmt` accepts them: labels of letters, digits and inner dashes,
/// at most 63 bytes each and 255 in all; a dotted name ends in a label of two or more letters.
fn is_hostname(value: &str) -> bool {
    if value.is_empty() || value.len() > 255 {
        return false;
    }
    let labels: Vec<&str> = value.split('.').collect();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if !labels.iter().all(|label| label_ok(label)) {
        return false;
    }
    labels.len() == 1
        || labels.last().is_some_and(|tld| {
            (2..=63).contains(&tld.chars().count()) && tld.chars().all(char::is_alphabetic)
        })
}

fn is_ipv4(value: &str) -> bool {
    value.parse::<IpAddr>().is_ok() && value.contains('.')
}

fn is_ipv6(value: &str) -> bool {
    value.parse::<IpAddr>().is_ok() && value.contains(':')
}

/// `net.ParseCIDR`: an IPv4 or IPv6 address, a slash, and a prefix length that fits it.
pub fn is_cidr(value: &str) -> bool {
    let Some((address, length)) = value.split_once('/') else {
        return false;
    };
    let Ok(address) = address.parse::<IpAddr>() else {
        return false;
    };
    if length.is_empty() || length.len() > 3 || !all(length, |b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(length) = length.parse::<u8>() else {
        return false;
    };
    length <= if address.is_ipv4() { 32 } else { 128 }
}

/// `net.ParseMAC`: 6, 8 or 20 octets as `xx:xx…`, `xx-xx…` or `xxxx.xxxx…`.
fn is_mac(value: &str) -> bool {
    let hex = |part: &str, len: usize| part.len() == len && all(part, |b| b.is_ascii_hexdigit());
    let octets_ok = |count: usize| [6, 8, 20].contains(&count);
    for separator in [':', '-'] {
        if value.contains(separator) {
            let parts: Vec<&str> = value.split(separator).collect();
            return octets_ok(parts.len()) && parts.iter().all(|p| hex(p, 2));
        }
    }
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() > 1 && octets_ok(parts.len() * 2) && parts.iter().all(|p| hex(p, 4))
}

/// `(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$`: the five groups,
/// lower-cased.
fn uuid_groups(value: &str) -> Option<Vec<String>> {
    let mut rest = value;
    let mut groups = Vec::with_capacity(5);
    for (i, length) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        let group = rest.get(..length)?;
        if !all(group, |b| b.is_ascii_hexdigit()) {
            return None;
        }
        groups.push(group.to_ascii_lowercase());
        rest = &rest[length..];
        if i < 4 {
            rest = rest.strip_prefix('-').unwrap_or(rest);
        }
    }
    rest.is_empty().then_some(groups)
}

fn is_uuid(value: &str) -> bool {
    uuid_groups(value).is_some()
}

fn uuid_version(value: &str, version: char, variant: bool) -> bool {
    uuid_groups(value).is_some_and(|g| {
        g[2].starts_with(version) && (!variant || g[3].starts_with(['8', '9', 'a', 'b']))
    })
}

fn is_uuid3(value: &str) -> bool {
    uuid_version(value, '3', false)
}

fn is_uuid4(value: &str) -> bool {
    uuid_version(value, '4', true)
}

fn is_uuid5(value: &str) -> bool {
    uuid_version(value, '5', true)
}

fn is_hex_color(value: &str) -> bool {
    let hex = value.strip_prefix('#').unwrap_or(value);
    (hex.len() == 3 || hex.len() == 6) && all(hex, |b| b.is_ascii_hexdigit())
}

fn is_rgb_color(value: &str) -> bool {
    let Some(inner) = value
        .strip_prefix("rgb(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return false;
    };
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part.len() <= 3
                && all(part, |b| b.is_ascii_digit())
                && (part.len() == 1 || !part.starts_with('0'))
                && part.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// `^\d{3}[- ]?\d{2}[- ]?\d{4}$`.
fn is_ssn(value: &str) -> bool {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let separators = value.len() - digits.len();
    if digits.len() != 9 || separators > 2 {
        return false;
    }
    let bytes = value.as_bytes();
    let mut position = 0;
    for (group, length) in [3, 2, 4].into_iter().enumerate() {
        if bytes.len() < position + length
            || !bytes[position..position + length]
                .iter()
                .all(u8::is_ascii_digit)
        {
            return false;
        }
        position += length;
        if group < 2
            && bytes
                .get(position)
                .is_some_and(|b| *b == b'-' || *b == b' ')
        {
            position += 1;
        }
    }
    position == bytes.len()
}

fn is_base64(value: &str) -> bool {
    STANDARD.decode(value).is_ok()
}

/// RFC 3339 `full-date` (`2006-01-02`), a real calendar day.
pub fn is_date(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| {
        let digits = &bytes[range];
        digits.iter().all(u8::is_ascii_digit).then(|| {
            digits
                .iter()
                .fold(0_u32, |n, digit| n * 10 + u32::from(digit - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    i32::try_from(year)
        .ok()
        .and_then(|year| NaiveDate::from_ymd_opt(year, month, day))
        .is_some()
}

/// `strfmt.IsDateTime`: a date, `T`, `hh:mm:ss`, optional fraction, then `Z` or `±hh:mm`
/// (case-insensitive).
pub fn is_date_time(value: &str) -> bool {
    if value.len() < 4 {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    let mut parts = lower.split('t');
    let (Some(date), Some(time)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let bytes = time.as_bytes();
    let two = |at: usize| {
        bytes
            .get(at..at + 2)
            .filter(|pair| pair.iter().all(u8::is_ascii_digit))
            .map(|pair| u32::from(pair[0] - b'0') * 10 + u32::from(pair[1] - b'0'))
    };
    let (Some(hour), Some(minute), Some(second)) = (two(0), two(3), two(6)) else {
        return false;
    };
    if bytes.get(2) != Some(&b':') || bytes.get(5) != Some(&b':') {
        return false;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    let mut rest = &time[8..];
    // `(.[0-9]+)?`: any one character, then digits.
    if let Some(first) = rest.chars().next()
        && first != 'z'
        && first != '+'
        && first != '-'
    {
        let after = &rest[first.len_utf8()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &after[digits..];
    }
    if rest == "z" {
        return true;
    }
    let zone = rest.as_bytes();
    zone.len() == 6
        && (zone[0] == b'+' || zone[0] == b'-')
        && zone[1..3].iter().all(u8::is_ascii_digit)
        && zone[3] == b':'
        && zone[4..6].iter().all(u8::is_ascii_digit)
}

/// `strfmt.ParseDuration`: Go's `time.ParseDuration` (`1h30m`), or any `<digits><unit>` found in
/// the text with units `ns`, `us`, `ms`, `s`, `m`, `h`, `d`, `w` and their long forms.
pub fn is_duration(value: &str) -> bool {
    is_go_duration(value) || has_duration_term(value)
}

fn is_go_duration(value: &str) -> bool {
    let rest = value.strip_prefix(['+', '-']).unwrap_or(value);
    if rest == "0" {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    let mut rest = rest;
    while !rest.is_empty() {
        let integer = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut consumed = integer;
        let mut fraction = 0;
        if rest[consumed..].starts_with('.') {
            consumed += 1;
            fraction = rest[consumed..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            consumed += fraction;
        }
        if integer == 0 && fraction == 0 {
            return false;
        }
        rest = &rest[consumed..];
        let Some(unit) = ["ns", "us", "\u{b5}s", "\u{3bc}s", "ms", "s", "m", "h"]
            .into_iter()
            .filter(|unit| rest.starts_with(unit))
            .max_by_key(|unit| unit.len())
        else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

fn has_duration_term(value: &str) -> bool {
    const UNITS: &[&[&str]] = &[
        &["ns", "nano"],
        &["us", "\u{b5}s", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphabetic() || chars[i] == '\u{b5}') {
            i += 1;
        }
        if start == i {
            continue;
        }
        let unit: String = chars[start..i].iter().collect::<String>().to_lowercase();
        let matched = UNITS.iter().any(|variants| {
            variants.iter().enumerate().any(|(n, variant)| {
                unit == *variant || (n == variants.len() - 1 && unit.starts_with(variant))
            })
        });
        if matched {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matches_kubernetes() {
        assert!(is_cidr("2001:db8:a00::/48"));
        assert!(is_cidr("192.0.2.0/24"));
        assert!(!is_cidr("2001:db8::/129"));
        assert!(!is_cidr("192.0.2.0/33"));
        assert!(!is_cidr("2001:db8::"));
        assert!(!is_cidr("2001:db8::/+48"));
        assert!(!is_cidr("2001:zz8::/48"));
    }

    #[test]
    fn dates_are_real_calendar_days() {
        assert!(is_date("2025-12-31"));
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2025-02-29"));
        assert!(!is_date("2025-02-30"));
        assert!(!is_date("2025-1-05"));
        assert!(!is_date("25-01-05xx"));
        assert!(!is_date("2025-13-01"));
    }

    #[test]
    fn date_times_follow_rfc_3339() {
        assert!(is_date_time("2025-01-02T03:04:05Z"));
        assert!(is_date_time("2025-01-02t03:04:05.123z"));
        assert!(is_date_time("2025-01-02T03:04:05+08:00"));
        assert!(!is_date_time("2025-01-02T24:00:00Z"));
        assert!(!is_date_time("2025-01-02T03:04:05"));
        assert!(!is_date_time("2025-01-02 03:04:05Z"));
        assert!(!is_date_time("2025-02-30T03:04:05Z"));
        assert!(!is_date_time(""));
    }

    #[test]
    fn durations_follow_strfmt() {
        assert!(is_duration("1h30m"));
        assert!(is_duration("1.5h"));
        assert!(is_duration("0"));
        assert!(is_duration("336h"));
        assert!(is_duration("3 days"));
        assert!(is_duration("2w"));
        assert!(!is_duration("forever"));
        assert!(!is_duration("h"));
        assert!(!is_duration(""));
    }

    #[test]
    fn other_formats() {
        assert!(is_ipv4("192.0.2.1"));
        assert!(!is_ipv4("2001:db8::1"));
        assert!(is_ipv6("2001:db8::1"));
        assert!(!is_ipv6("192.0.2.1"));
        assert!(is_email("ops@example.org"));
        assert!(is_email("Ops <ops@example.org>"));
        assert!(!is_email("ops.example.org"));
        assert!(is_hostname("dns.example.org"));
        assert!(is_hostname("localhost"));
        assert!(!is_hostname("-bad.example.org"));
        assert!(!is_hostname("a..b"));
        assert!(is_uri("https://dns.example.org/api"));
        assert!(is_uri("/relative/path"));
        assert!(!is_uri("not a uri"));
        assert!(!is_uri("relative/path"));
        assert!(is_mac("00:00:5e:00:53:01"));
        assert!(is_mac("0000.5e00.5301"));
        assert!(!is_mac("00:00:5e:00:53"));
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_uuid("123E4567E89B12D3A456426614174000"));
        assert!(!is_uuid("123e4567-e89b-12d3-a456-42661417400"));
        assert!(is_uuid4("123e4567-e89b-42d3-a456-426614174000"));
        assert!(!is_uuid4("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_hex_color("#fff") && is_hex_color("a0b1c2") && !is_hex_color("#ffff"));
        assert!(is_rgb_color("rgb(255, 0, 10)") && !is_rgb_color("rgb(256,0,0)"));
        assert!(is_ssn("123-45-6789") && is_ssn("123456789") && !is_ssn("12-345-6789"));
        assert!(is_base64("aGVsbG8=") && !is_base64("aGVsbG8"));
        assert!(is_bson_object_id("507f1f77bcf86cd799439011"));
    }

    #[test]
    fn only_kubernetes_formats_are_supported() {
        assert!(is_supported("date-time"));
        assert!(is_supported("datetime"));
        assert!(is_supported("cidr"));
        assert!(is_supported("isbn"));
        assert!(!is_supported("int64"));
        assert!(!is_supported("uint8"));
        assert!(!is_supported("time"));
        assert!(check("isbn").is_some_and(|c| c("anything")));
        assert!(check("date-time").is_some_and(|c| !c("2025-02-30T00:00:00Z")));
        assert!(check("int32").is_none());
    }
}

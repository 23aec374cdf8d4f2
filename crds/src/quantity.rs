//! Arithmetic on Kubernetes quantities: parse `500m`, `64Gi`, `1.5`, `2e3` into exact
//! milli-units, add, subtract, compare, split by percent, and print them for people
//! (`4 cores`, `256 GiB`) or for the API (`4`, `256Gi`).

use std::fmt;
use std::ops::{Add, Sub};

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Why a quantity could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// Not a quantity at all.
    #[error(
        "failed to parse quantity \"{0}\": expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, Ti, …)"
    )]
    Syntax(String),
    /// Too large to hold.
    #[error("failed to parse quantity \"{0}\": the value is too large")]
    Overflow(String),
}

/// An exact amount, in thousandths of the unit (millicores, millibytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    milli: i128,
}

const BINARY: &[(&str, u32)] = &[
    ("Ki", 1),
    ("Mi", 2),
    ("Gi", 3),
    ("Ti", 4),
    ("Pi", 5),
    ("Ei", 6),
];
const DECIMAL: &[(&str, i32)] = &[
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

impl Amount {
    /// Zero.
    pub const ZERO: Self = Self { milli: 0 };

    /// An amount of whole units.
    pub fn from_units(units: i64) -> Self {
        Self {
            milli: i128::from(units) * 1000,
        }
    }

    /// An amount of thousandths.
    pub fn from_milli(milli: i128) -> Self {
        Self { milli }
    }

    /// Thousandths of the unit.
    pub fn milli(self) -> i128 {
        self.milli
    }

    /// Whether the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.milli < 0
    }

    /// Parses a quantity the way Kubernetes does; fractions below a thousandth round up.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let syntax = || QuantityError::Syntax(text.to_owned());
        let overflow = || QuantityError::Overflow(text.to_owned());
        let trimmed = text.trim();
        let number_end = trimmed
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_digit() || *c == '.' || ((*c == '+' || *c == '-') && *i == 0))
            })
            .map_or(trimmed.len(), |(i, _)| i);
        let (number, suffix) = trimmed.split_at(number_end);
        let (negative, digits) = match number.as_bytes().first() {
            Some(b'-') => (true, &number[1..]),
            Some(b'+') => (false, &number[1..]),
            _ => (false, number),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(syntax());
        }
        // The number as an integer `mantissa` times 10^-scale.
        let mantissa_digits = format!("{whole}{fraction}");
        let mantissa: i128 = if mantissa_digits.is_empty() {
            0
        } else {
            mantissa_digits.parse().map_err(|_| overflow())?
        };
        let scale = i32::try_from(fraction.len()).map_err(|_| overflow())?;
        let (multiplier, exponent): (i128, i32) = if suffix.is_empty() {
            (1, 0)
        } else if let Some((_, power)) = BINARY.iter().find(|(s, _)| *s == suffix) {
            (1024_i128.pow(*power), 0)
        } else if let Some((_, exponent)) = DECIMAL.iter().find(|(s, _)| *s == suffix) {
            (1, *exponent)
        } else if let Some(exponent) = suffix.strip_prefix(['e', 'E']) {
            (1, exponent.parse::<i32>().map_err(|_| syntax())?)
        } else {
            return Err(syntax());
        };
        // milli = mantissa * multiplier * 10^(exponent - scale + 3), rounded up.
        let value = mantissa.checked_mul(multiplier).ok_or_else(overflow)?;
        let shift = exponent - scale + 3;
        let milli = if shift >= 0 {
            value
                .checked_mul(
                    10_i128
                        .checked_pow(shift.unsigned_abs())
                        .ok_or_else(overflow)?,
                )
                .ok_or_else(overflow)?
        } else {
            let divisor = 10_i128
                .checked_pow(shift.unsigned_abs())
                .ok_or_else(overflow)?;
            value / divisor + i128::from(value % divisor != 0)
        };
        Ok(Self {
            milli: if negative { -milli } else { milli },
        })
    }

    /// Parses a Kubernetes `Quantity`.
    pub fn from_quantity(quantity: &Quantity) -> Result<Self, QuantityError> {
        Self::parse(&quantity.0)
    }

    /// `percent`% of the amount, rounded down to a thousandth.
    #[must_use]
    pub fn percent(self, percent: u8) -> Self {
        Self {
            milli: self.milli * i128::from(percent) / 100,
        }
    }

    /// The amount as a Kubernetes quantity in the most natural suffix for `resource`.
    pub fn to_quantity(self, resource: ResourceKind) -> Quantity {
        Quantity(self.canonical(resource))
    }

    /// The API's text: `4`, `1500m` for CPU; `256Gi`, `1536Mi`, `1000` for bytes.
    pub fn canonical(self, resource: ResourceKind) -> String {
        if self.milli % 1000 != 0 {
            return format!("{}m", self.milli);
        }
        let units = self.milli / 1000;
        if resource == ResourceKind::Cpu || units == 0 {
            return units.to_string();
        }
        BINARY
            .iter()
            .rev()
            .find(|(_, power)| units % 1024_i128.pow(*power) == 0)
            .map_or_else(
                || units.to_string(),
                |(suffix, power)| format!("{}{suffix}", units / 1024_i128.pow(*power)),
            )
    }

    /// For people: `4 cores`, `0.5 cores`, `256 GiB`, `1.5 TiB`.
    pub fn human(self, resource: ResourceKind) -> String {
        let decimal = |milli: i128, divisor: i128| {
            let scaled = milli * 10 / divisor;
            if scaled % 10 == 0 {
                format!("{}", scaled / 10)
            } else {
                format!("{}.{}", scaled / 10, (scaled % 10).abs())
            }
        };
        match resource {
            ResourceKind::Cpu => {
                let value = decimal(self.milli, 1000);
                format!("{value} {}", if value == "1" { "core" } else { "cores" })
            }
            ResourceKind::Memory | ResourceKind::Storage => {
                let bytes = self.milli / 1000;
                let (unit, divisor) = [("PiB", 5), ("TiB", 4), ("GiB", 3), ("MiB", 2), ("KiB", 1)]
                    .into_iter()
                    .map(|(unit, power)| (unit, 1024_i128.pow(power)))
                    .find(|(_, divisor)| bytes.abs() >= *divisor)
                    .unwrap_or(("B", 1));
                format!("{} {unit}", decimal(bytes * 1000, divisor * 1000))
            }
        }
    }
}

impl Add for Amount {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            milli: self.milli.saturating_add(other.milli),
        }
    }
}

impl Sub for Amount {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        Self {
            milli: self.milli.saturating_sub(other.milli),
        }
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
    }
}

/// The resources govcloud accounts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    /// CPU cores.
    Cpu,
    /// Memory, in bytes.
    Memory,
    /// Persistent storage, in bytes.
    Storage,
}

impl ResourceKind {
    /// Every resource, in display order.
    pub const ALL: [Self; 3] = [Self::Cpu, Self::Memory, Self::Storage];

    /// The name used in quotas and the API: `cpu`, `memory`, `storage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Storage => "storage",
        }
    }
}

impl std::str::FromStr for ResourceKind {
    type Err = String;

    /// `cpu`, `memory` or `storage`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| format!("unknown resource \"{name}\": expected cpu, memory or storage"))
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn milli(text: &str) -> i128 {
        Amount::parse(text).expect(text).milli()
    }

    #[test]
    fn parses_every_suffix_exactly() {
        assert_eq!(milli("4"), 4000);
        assert_eq!(milli("500m"), 500);
        assert_eq!(milli("1.5"), 1500);
        assert_eq!(milli("64Gi"), 64 * 1024_i128.pow(3) * 1000);
        assert_eq!(milli("2k"), 2_000_000);
        assert_eq!(milli("2e3"), 2_000_000);
        assert_eq!(milli("1.5Gi"), 1536 * 1024 * 1024 * 1000);
        assert_eq!(milli("0.1m"), 1, "fractions of a thousandth round up");
        assert_eq!(milli("-5"), -5000);
        assert_eq!(milli("2Pi"), 2 * 1024_i128.pow(5) * 1000);
    }

    #[test]
    fn refuses_what_is_not_a_quantity() {
        for bad in ["", "abc", "5GB", "1.2.3", "Gi", "--5", "5 Gi"] {
            assert!(Amount::parse(bad).is_err(), "{bad}");
        }
        assert!(Amount::parse("99999999999999999999999999999999999999Ei").is_err());
        assert_eq!(
            Amount::parse("5GB").expect_err("5GB").to_string(),
            "failed to parse quantity \"5GB\": expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, Ti, …)"
        );
    }

    #[test]
    fn arithmetic_and_percentages() {
        let total = Amount::parse("64").expect("64");
        assert_eq!(total.percent(25), Amount::parse("16").expect("16"));
        assert_eq!(Amount::parse("1").expect("1").percent(33).milli(), 330);
        let sum: Amount = ["1", "500m", "250m"]
            .iter()
            .map(|q| Amount::parse(q).expect("q"))
            .sum();
        assert_eq!(sum.milli(), 1750);
        assert!((Amount::parse("1").expect("1") - Amount::parse("2").expect("2")).is_negative());
        assert!(Amount::parse("1Gi").expect("1Gi") > Amount::parse("1G").expect("1G"));
    }

    #[test]
    fn prints_for_the_api_and_for_people() {
        let q = |text: &str| Amount::parse(text).expect(text);
        assert_eq!(q("4").canonical(ResourceKind::Cpu), "4");
        assert_eq!(q("1.5").canonical(ResourceKind::Cpu), "1500m");
        assert_eq!(q("256Gi").canonical(ResourceKind::Memory), "256Gi");
        assert_eq!(q("1.5Gi").canonical(ResourceKind::Memory), "1536Mi");
        assert_eq!(q("1000").canonical(ResourceKind::Storage), "1000");
        assert_eq!(q("4").human(ResourceKind::Cpu), "4 cores");
        assert_eq!(q("1").human(ResourceKind::Cpu), "1 core");
        assert_eq!(q("500m").human(ResourceKind::Cpu), "0.5 cores");
        assert_eq!(q("256Gi").human(ResourceKind::Memory), "256 GiB");
        assert_eq!(q("1536Gi").human(ResourceKind::Storage), "1.5 TiB");
        assert_eq!(q("100").human(ResourceKind::Memory), "100 B");
    }
}

//! [`ValidPool`]: an `AddressPool` spec checked for what the schema cannot say alone — the
//! prefix is IPv6 with no host bits, every length falls on a nibble boundary and grows from
//! city to segment, reserved prefixes lie inside the pool, the hold is a duration — and
//! [`check_overlaps`] between pools. Each refusal names the field to fix.

use chrono::TimeDelta;
use govcloud_crds::network::address_pool::AddressPoolSpec;

use super::error::PoolError;
use super::level::Level;
use super::prefix::Prefix;

/// The shortest length a level may have (the schema's minimum).
pub const MIN_LENGTH: u8 = 16;
/// The longest length a level may have (the schema's maximum: a /64 is the smallest LAN that
/// SLAAC serves).
pub const MAX_LENGTH: u8 = 64;

/// A pool whose spec passed [`ValidPool::from_spec`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidPool {
    prefix: Prefix,
    lengths: [u8; 4],
    reserved: Vec<Prefix>,
    hold: TimeDelta,
}

impl ValidPool {
    /// Checks `spec`; the first problem found is the error, in field order.
    pub fn from_spec(spec: &AddressPoolSpec) -> Result<Self, PoolError> {
        let prefix = parse_field("spec.prefix", spec.prefix.as_str())?;
        if !prefix.is_nibble_aligned() {
            return Err(PoolError::NotNibbleAligned {
                field: "spec.prefix".to_owned(),
                length: prefix.length(),
            });
        }
        let l = &spec.lengths;
        let lengths = [l.city, l.county, l.township, l.segment];
        check_lengths(prefix, lengths)?;
        let reserved = spec
            .reserved
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let reserved = parse_field(&format!("spec.reserved[{index}]"), text.as_str())?;
                if prefix.contains(reserved) {
                    Ok(reserved)
                } else {
                    Err(PoolError::ReservedOutsidePool {
                        index,
                        reserved,
                        pool: prefix,
                    })
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let hold = spec
            .release_hold
            .to_std()
            .map_err(|e| PoolError::InvalidHold {
                reason: e.to_string(),
            })
            .and_then(|d| {
                TimeDelta::from_std(d).map_err(|_| PoolError::InvalidHold {
                    reason: format!("{:?} is too long", spec.release_hold.as_str()),
                })
            })?;
        Ok(Self {
            prefix,
            lengths,
            reserved,
            hold,
        })
    }

    /// The pool's prefix: the root every allocation lies in.
    pub fn prefix(&self) -> Prefix {
        self.prefix
    }

    /// The prefix length of `level`.
    pub fn length(&self, level: Level) -> u8 {
        self.lengths[level.index()]
    }

    /// The level whose prefixes have length `len`, if any.
    pub fn level_of_length(&self, len: u8) -> Option<Level> {
        Level::ALL.into_iter().find(|l| self.length(*l) == len)
    }

    /// Prefixes never allocated.
    pub fn reserved(&self) -> &[Prefix] {
        &self.reserved
    }

    /// How long a released prefix is held before another owner may have it.
    pub fn hold(&self) -> TimeDelta {
        self.hold
    }
}

fn parse_field(field: &str, text: &str) -> Result<Prefix, PoolError> {
    Prefix::parse(text).map_err(|e| PoolError::InvalidPrefix {
        field: field.to_owned(),
        reason: e.to_string(),
    })
}

/// Each length within the schema's bounds and nibble-aligned, the city's not shorter than the
/// pool's prefix, and each level longer than the one above.
fn check_lengths(prefix: Prefix, lengths: [u8; 4]) -> Result<(), PoolError> {
    for (level, length) in Level::ALL.into_iter().zip(lengths) {
        let field = level.length_field();
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
            return Err(PoolError::LengthOutOfRange {
                field,
                length,
                min: MIN_LENGTH,
                max: MAX_LENGTH,
            });
        }
        if length % 4 != 0 {
            return Err(PoolError::NotNibbleAligned {
                field: field.to_owned(),
                length,
            });
        }
    }
    if lengths[0] < prefix.length() {
        return Err(PoolError::CityLargerThanPool {
            field: Level::City.length_field(),
            length: lengths[0],
            pool: prefix.length(),
        });
    }
    for pair in Level::ALL.windows(2) {
        let (above, level) = (pair[0], pair[1]);
        let (above_length, length) = (lengths[above.index()], lengths[level.index()]);
        if length <= above_length {
            return Err(PoolError::LengthsOutOfOrder {
                field: level.length_field(),
                length,
                above_field: above.length_field(),
                above: above_length,
            });
        }
    }
    Ok(())
}

/// Refuses `prefix` (of the pool being checked) if it overlaps the prefix of any of `others`
/// (the other pools, by name); the first overlap in the order given is named. Which of two
/// overlapping pools is refused is the caller's choice (e.g. the younger).
pub fn check_overlaps<'a>(
    prefix: Prefix,
    others: impl IntoIterator<Item = (&'a str, Prefix)>,
) -> Result<(), PoolError> {
    match others.into_iter().find(|(_, other)| other.overlaps(prefix)) {
        Some((other, other_prefix)) => Err(PoolError::Overlaps {
            prefix,
            other: other.to_owned(),
            other_prefix,
        }),
        None => Ok(()),
    }
}

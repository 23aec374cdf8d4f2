//! [`Level`]: the depth of an allocation in a pool's hierarchy, as the `AddressPool` spec names
//! it (`spec.lengths.city` …) and as the ledger stores it (`level` 0–3).

use std::fmt;

/// A level of the hierarchy, shallowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// The city's prefix (normally the pool's own).
    City,
    /// A county's prefix, inside the city's.
    County,
    /// A township's prefix, inside its county's.
    Township,
    /// A segment: a LAN or a consolidated dedicated network at a site.
    Segment,
}

impl Level {
    /// Every level, shallowest first.
    pub const ALL: [Self; 4] = [Self::City, Self::County, Self::Township, Self::Segment];

    /// Position in [`Level::ALL`].
    pub fn index(self) -> usize {
        match self {
            Self::City => 0,
            Self::County => 1,
            Self::Township => 2,
            Self::Segment => 3,
        }
    }

    /// The ledger's `level` column.
    pub fn ledger(self) -> i32 {
        match self {
            Self::City => 0,
            Self::County => 1,
            Self::Township => 2,
            Self::Segment => 3,
        }
    }

    /// The level a ledger row names, if any.
    pub fn from_ledger(level: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.ledger() == level)
    }

    /// The key of the spec's `lengths` and of the status's per-level maps.
    pub fn name(self) -> &'static str {
        match self {
            Self::City => "city",
            Self::County => "county",
            Self::Township => "township",
            Self::Segment => "segment",
        }
    }

    /// The spec field holding this level's prefix length.
    pub fn length_field(self) -> &'static str {
        match self {
            Self::City => "spec.lengths.city",
            Self::County => "spec.lengths.county",
            Self::Township => "spec.lengths.township",
            Self::Segment => "spec.lengths.segment",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Level;

    #[test]
    fn ledger_levels_round_trip() {
        for level in Level::ALL {
            assert_eq!(Level::from_ledger(level.ledger()), Some(level));
            assert_eq!(Level::ALL[level.index()], level);
            assert!(level.length_field().ends_with(level.name()));
        }
        assert_eq!(Level::from_ledger(4), None);
        assert_eq!(Level::from_ledger(-1), None);
    }
}

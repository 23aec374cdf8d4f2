//! [`IntervalSet`]: the addresses taken inside one parent prefix, as disjoint ranges merged on
//! insertion, and the search for the lowest free aligned subprefix. Sequential allocations merge
//! into one range, so finding the next free prefix stays logarithmic however many are taken.

use std::collections::BTreeMap;

use super::prefix::{Prefix, host_mask};

/// Disjoint, non-adjacent inclusive ranges of addresses, keyed by first address.
#[derive(Clone, Debug, Default)]
pub(crate) struct IntervalSet {
    ranges: BTreeMap<u128, u128>,
}

impl IntervalSet {
    /// Adds `first..=last`, merging it with the ranges it overlaps or touches.
    pub(crate) fn insert(&mut self, first: u128, last: u128) {
        let (mut first, mut last) = (first, last);
        if let Some((&start, &end)) = self.ranges.range(..=first).next_back()
            && end.checked_add(1).is_none_or(|after| after >= first)
        {
            first = start;
            last = last.max(end);
            self.ranges.remove(&start);
        }
        while let Some((&start, &end)) = self.ranges.range(first..).next() {
            if start > last.saturating_add(1) {
                break;
            }
            last = last.max(end);
            self.ranges.remove(&start);
        }
        self.ranges.insert(first, last);
    }

    /// The last address of a range overlapping `first..=last`, if any.
    fn overlap_end(&self, first: u128, last: u128) -> Option<u128> {
        self.ranges
            .range(..=last)
            .next_back()
            .and_then(|(_, &end)| (end >= first).then_some(end))
    }

    /// The lowest subprefix of length `len` inside `parent` that overlaps no range; `None`
    /// when there is none (or `len` is shorter than the parent's).
    pub(crate) fn lowest_free(&self, parent: Prefix, len: u8) -> Option<Prefix> {
        if len < parent.length() {
            return None;
        }
        let span = host_mask(len);
        let mut start = parent.first();
        loop {
            match self.overlap_end(start, start | span) {
                None => return Some(Prefix::truncate(start, len)),
                Some(end) => {
                    start = (end | span).checked_add(1)?;
                    if start > parent.last() {
                        return None;
                    }
                }
            }
        }
    }

    /// How many ranges are kept (for tests of the merging).
    #[cfg(test)]
    pub(crate) fn ranges(&self) -> usize {
        self.ranges.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipam::testing::p;

    #[test]
    fn ranges_merge_when_they_touch_or_overlap() {
        let mut set = IntervalSet::default();
        set.insert(10, 19);
        set.insert(30, 39);
        assert_eq!(set.ranges(), 2);
        set.insert(20, 29);
        assert_eq!(set.ranges(), 1);
        set.insert(12, 15);
        set.insert(0, 5);
        assert_eq!(set.ranges(), 2);
        set.insert(3, 100);
        assert_eq!(set.ranges(), 1);
        set.insert(u128::MAX - 1, u128::MAX);
        set.insert(0, u128::MAX);
        assert_eq!(set.ranges(), 1);
    }

    #[test]
    fn lowest_free_skips_taken_and_partly_taken_blocks() {
        let township = p("2001:db8:a00:1010::/60");
        let mut set = IntervalSet::default();
        assert_eq!(
            set.lowest_free(township, 64),
            Some(p("2001:db8:a00:1010::/64"))
        );
        let first = p("2001:db8:a00:1010::/64");
        set.insert(first.first(), first.last());
        // A /126 inside the third /64 takes the whole /64 from the search.
        let small = p("2001:db8:a00:1012::4/126");
        set.insert(small.first(), small.last());
        assert_eq!(
            set.lowest_free(township, 64),
            Some(p("2001:db8:a00:1011::/64"))
        );
        let second = p("2001:db8:a00:1011::/64");
        set.insert(second.first(), second.last());
        assert_eq!(
            set.lowest_free(township, 64),
            Some(p("2001:db8:a00:1013::/64"))
        );
        set.insert(township.first(), township.last());
        assert_eq!(set.lowest_free(township, 64), None);
        assert_eq!(set.lowest_free(township, 56), None);
    }

    #[test]
    fn the_top_of_the_address_space_ends_the_search() {
        let top = p("ffff:ffff:ffff:ffff::/64");
        let mut set = IntervalSet::default();
        set.insert(top.first(), top.last());
        assert_eq!(set.lowest_free(top, 64), None);
        assert_eq!(set.lowest_free(top, 128), None);
    }
}

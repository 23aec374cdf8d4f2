//! The generator's deterministic random numbers: SplitMix64, one independent stream per city,
//! so that the same seed gives the same province on every machine and every run.

/// A SplitMix64 stream (Steele, Lea and Flood 2014): tiny, fast, and good enough to vary a data
/// set; not for anything secret.
#[derive(Clone, Debug)]
pub struct Stream {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl Stream {
    /// The stream of `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream for `index` (a city), drawn from this stream's seed, so that a
    /// city's data does not depend on how many cities come before it.
    pub fn fork(&self, index: u64) -> Self {
        let mut mixer = Self::new(self.state ^ index.wrapping_mul(GOLDEN_GAMMA).rotate_left(17));
        Self::new(mixer.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        let Ok(bound_u64) = u64::try_from(bound) else {
            return 0;
        };
        if bound_u64 == 0 {
            return 0;
        }
        usize::try_from(self.next_u64() % bound_u64).unwrap_or(0)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.next_u64() % (high - low + 1)
    }

    /// True with probability `percent` in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One element of `choices` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len())]
    }

    /// `count` distinct indices of `0..len`, in increasing order (all of them when `count >= len`).
    pub fn sample(&mut self, len: usize, count: usize) -> Vec<usize> {
        let mut indices: Vec<usize> = (0..len).collect();
        let count = count.min(len);
        for position in 0..count {
            let other = position + self.below(len - position);
            indices.swap(position, other);
        }
        let mut chosen = indices[..count].to_vec();
        chosen.sort_unstable();
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers_and_forks_differ() {
        let mut a = Stream::new(7);
        let mut b = Stream::new(7);
        let first: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
        let mut city_one = Stream::new(7).fork(1);
        let mut city_two = Stream::new(7).fork(2);
        assert_ne!(city_one.next_u64(), city_two.next_u64());
    }

    #[test]
    fn samples_are_distinct_sorted_and_in_range() {
        let mut stream = Stream::new(3);
        for _ in 0..100 {
            let chosen = stream.sample(20, 5);
            assert_eq!(chosen.len(), 5);
            assert!(chosen.windows(2).all(|w| w[0] < w[1]));
            assert!(chosen.iter().all(|i| *i < 20));
        }
        assert_eq!(stream.sample(3, 10), vec![0, 1, 2]);
    }
}

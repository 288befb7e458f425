//! A deterministic [`Host`] for tests, benchmarks and reproducible CLI runs:
//! a seeded PRNG (SplitMix64) and UUIDs that count up but are valid version-4
//! UUIDs in their canonical text form.

use std::cell::Cell;

use crate::Host;

/// Seeded randomness and sequential UUIDs.
#[derive(Debug)]
pub struct DeterministicHost {
    state: Cell<u64>,
    counter: Cell<u64>,
}

impl DeterministicHost {
    pub fn new(seed: u64) -> DeterministicHost {
        DeterministicHost {
            state: Cell::new(seed),
            counter: Cell::new(0),
        }
    }

    fn next_u64(&self) -> u64 {
        // SplitMix64: tiny, fast and good enough for jitter and tests.
        let s = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Default for DeterministicHost {
    fn default() -> Self {
        DeterministicHost::new(0)
    }
}

impl Host for DeterministicHost {
    fn random(&self) -> f64 {
        // 53 random bits → [0, 1).
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn uuid(&self) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        // Version nibble 4, variant bits 10: valid v4 layout, counting up.
        format!("00000000-0000-4000-8000-{:012x}", n & 0xFFFF_FFFF_FFFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let a = DeterministicHost::new(7);
        let b = DeterministicHost::new(7);
        for _ in 0..100 {
            let x = a.random();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x, b.random());
        }
        assert_eq!(a.uuid(), "00000000-0000-4000-8000-000000000001");
        assert_eq!(a.uuid(), "00000000-0000-4000-8000-000000000002");
    }
}

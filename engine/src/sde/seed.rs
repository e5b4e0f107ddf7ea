//! Seed derivation: independent, reproducible random streams from one user seed.
//!
//! Every random object in [`sde`](super) (a node of a Brownian tree, the stream of path
//! `k` of an ensemble) draws from its own `Xoshiro256PlusPlus` generator whose seed is a
//! hash of the user seed and a key naming the object. The hash is built from the
//! SplitMix64 finaliser (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
//! generators", OOPSLA, doi:10.1145/2660193.2660195), the generator Vigna recommends for
//! seeding xoshiro. Streams therefore depend only on `(seed, key)`, never on the order in
//! which objects are created or on the number of threads.
//!
//! Two distinct keys give unrelated 256-bit generator states; the chance that two such
//! streams overlap within the lengths used here (≤ 2⁴⁰ draws) is below 2⁻¹⁷⁰.

/// The SplitMix64 output function applied to `x + γ` (one step of SplitMix64 from state `x`).
#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of the object named `key` in the family of streams of `seed`.
///
/// Distinct `(seed, key)` pairs give (with overwhelming probability) distinct, unrelated
/// seeds; the map is a fixed function, so results are reproducible everywhere.
#[inline]
pub fn derive_seed(seed: u64, key: u64) -> u64 {
    splitmix64(splitmix64(seed) ^ splitmix64(key.wrapping_add(0x6A09_E667_F3BC_C909)))
}

/// The four state words of a xoshiro256 generator seeded with `seed` by SplitMix64,
/// exactly as `rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed)` does.
#[inline]
pub fn xoshiro_state_from_u64(seed: u64) -> [u64; 4] {
    let mut x = seed;
    let mut s = [0u64; 4];
    for w in &mut s {
        *w = splitmix64(x);
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    }
    s
}

/// Domain tags keeping the key spaces of different objects apart: an object's seed is
/// `derive_seed(derive_seed(seed, TAG), key)`.
pub(crate) mod tag {
    /// Brownian tree nodes (key = heap index of the node; 0 = root values).
    pub const TREE: u64 = 0x7472_6565;
    /// Ensemble paths (key = path index).
    #[allow(dead_code)]
    pub const PATH: u64 = 0x7061_7468;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn state_matches_rand_xoshiro_seeding() {
        for seed in [0u64, 1, 42, u64::MAX] {
            let s = xoshiro_state_from_u64(seed);
            let mut bytes = [0u8; 32];
            for (k, w) in s.iter().enumerate() {
                bytes[8 * k..8 * k + 8].copy_from_slice(&w.to_le_bytes());
            }
            let mut a = Xoshiro256PlusPlus::from_seed(bytes);
            let mut b = Xoshiro256PlusPlus::seed_from_u64(seed);
            for _ in 0..8 {
                assert_eq!(a.next_u64(), b.next_u64());
            }
        }
    }

    #[test]
    fn derived_seeds_differ() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..8u64 {
            for key in 0..256u64 {
                assert!(seen.insert(derive_seed(seed, key)));
            }
        }
    }
}

//! Fast standard normal streams for fixed-step ensembles.
//!
//! Each path owns a xoshiro256++ generator (Blackman & Vigna 2021, "Scrambled linear
//! pseudorandom number generators", ACM TOMS 47(4), doi:10.1145/3460772) — the same
//! generator as `rand_xoshiro::Xoshiro256PlusPlus`, word for word — seeded by
//! [`seed::xoshiro_state_from_u64`](super::seed::xoshiro_state_from_u64) from the path's
//! derived seed. Normals come from the 256-layer ziggurat of Marsaglia & Tsang (2000) in
//! the form of Doornik (2005); the generator, the tables and the vectorised fill live in
//! [`mechml_kernels::normal`], which this module re-exports.
//!
//! A path's normals are a fixed sequence (each draw consumes its generator in order), so
//! a path can be replayed alone, and paths computed in blocks or on any number of threads
//! are identical. The fill runs four generators per AVX2 register where the processor has
//! AVX2, and gives the same bits as the scalar reference.

use super::seed::xoshiro_state_from_u64;
pub use mechml_kernels::normal::{Ziggurat, next_u64};

/// The generators of a block of paths ("lanes").
#[derive(Clone, Debug)]
pub struct NormalLanes {
    states: Vec<[u64; 4]>,
}

impl NormalLanes {
    /// One generator per seed, seeded with SplitMix64 like
    /// `Xoshiro256PlusPlus::seed_from_u64`.
    pub fn from_seeds(seeds: impl IntoIterator<Item = u64>) -> Self {
        Self {
            states: seeds.into_iter().map(xoshiro_state_from_u64).collect(),
        }
    }

    /// Number of lanes.
    pub fn lanes(&self) -> usize {
        self.states.len()
    }

    /// The generator state of lane `l` (to save and restore a stream position).
    pub fn state(&self, l: usize) -> [u64; 4] {
        self.states[l]
    }

    /// Draws the next `per_lane` normals of every lane, the `j`-th draw of the call scaled
    /// by `scale[j % scale.len()]`: `out[j * lanes + l]` = lane `l`'s `j`-th draw.
    pub fn fill(&mut self, zig: &Ziggurat, per_lane: usize, scale: &[f64], out: &mut [f64]) {
        mechml_kernels::normal::fill_lanes(zig, &mut self.states, per_lane, scale, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn generator_is_xoshiro256plusplus() {
        let mut s = xoshiro_state_from_u64(12345);
        let mut r = Xoshiro256PlusPlus::seed_from_u64(12345);
        for _ in 0..1000 {
            assert_eq!(next_u64(&mut s), r.next_u64());
        }
    }

    #[test]
    fn lanes_are_independent_of_grouping() {
        let z = Ziggurat::new();
        // 19 lanes: vector groups of 4 and a scalar remainder of 3.
        let (n_lanes, n) = (19, 400);
        let seeds: Vec<u64> = (0..n_lanes as u64).collect();
        let mut block = NormalLanes::from_seeds(seeds.clone());
        let mut out = vec![0.0; n_lanes * n];
        block.fill(&z, n, &[1.0], &mut out);
        for (l, &seed) in seeds.iter().enumerate() {
            let mut single = NormalLanes::from_seeds([seed]);
            let mut o = vec![0.0; n];
            // In two calls, to check that chunking does not matter either.
            single.fill(&z, 150, &[1.0], &mut o[..150]);
            single.fill(&z, n - 150, &[1.0], &mut o[150..]);
            // And against the scalar sampler on the lane's own generator.
            let mut st = xoshiro_state_from_u64(seed);
            for j in 0..n {
                assert_eq!(o[j].to_bits(), out[j * n_lanes + l].to_bits());
                assert_eq!(z.sample(&mut st).to_bits(), o[j].to_bits());
            }
        }
    }
}

//! Fast standard normal streams for fixed-step ensembles.
//!
//! Each path owns a xoshiro256++ generator (Blackman & Vigna 2021, "Scrambled linear
//! pseudorandom number generators", ACM TOMS 47(4), doi:10.1145/3460772) — the same
//! generator as `rand_xoshiro::Xoshiro256PlusPlus`, word for word — seeded by
//! [`seed::xoshiro_state_from_u64`](super::seed::xoshiro_state_from_u64) from the path's
//! derived seed. Normals come from the 256-layer ziggurat of Marsaglia & Tsang (2000, "The
//! ziggurat method for generating random variables", J. Stat. Softw. 5(8)) in the form of
//! Doornik (2005, "An improved ziggurat method to generate normal random samples"): one
//! 64-bit draw gives the layer (low 8 bits) and a uniform in `[−1, 1)` (high 52 bits);
//! about 98.8 % of draws are accepted on the fast path, the rest take the wedge or tail
//! test with further draws from the same generator.
//!
//! A path's normals are a fixed sequence (each draw consumes its generator in order), so
//! a path can be replayed alone, and paths computed in blocks or on any number of threads
//! are identical. Blocks of paths keep their states in registers, four at a time, so the
//! generators run interleaved.
//!
//! The tables are computed with the `libm` crate, so the numbers are the same on every
//! platform.

use super::seed::xoshiro_state_from_u64;

/// The start of the tail, `r`, for 256 layers (Marsaglia & Tsang 2000, §3).
const ZIG_R: f64 = 3.654_152_885_361_009;
/// The area of each layer, `v = r f(r) + ∫ᵣ^∞ f`, `f(x) = e^{−x²/2}`.
const ZIG_V: f64 = 0.004_928_673_233_99;

/// Ziggurat tables: layer edges `x[i]` (decreasing, `x[256] = 0`), fast-acceptance ratios
/// `r[i] = x[i+1]/x[i]`, and the density at the edges.
#[derive(Clone, Debug)]
pub struct Ziggurat {
    x: [f64; 257],
    r: [f64; 256],
    /// `f[i] = exp(−x[i]²/2)`.
    f: [f64; 257],
}

impl Default for Ziggurat {
    fn default() -> Self {
        Self::new()
    }
}

impl Ziggurat {
    /// Builds the tables (Doornik 2005, `ZigNorInit`).
    pub fn new() -> Self {
        let mut x = [0.0; 257];
        let mut r = [0.0; 256];
        let mut f = libm::exp(-0.5 * ZIG_R * ZIG_R);
        x[0] = ZIG_V / f;
        x[1] = ZIG_R;
        for i in 2..256 {
            x[i] = libm::sqrt(-2.0 * libm::log(ZIG_V / x[i - 1] + f));
            f = libm::exp(-0.5 * x[i] * x[i]);
        }
        x[256] = 0.0;
        for i in 0..256 {
            r[i] = x[i + 1] / x[i];
        }
        let mut fx = [0.0; 257];
        for i in 0..257 {
            fx[i] = libm::exp(-0.5 * x[i] * x[i]);
        }
        Self { x, r, f: fx }
    }

    /// One standard normal from the generator state `s`.
    #[inline(always)]
    pub fn sample(&self, s: &mut [u64; 4]) -> f64 {
        let w = next_u64(s);
        let i = (w & 0xff) as usize;
        // 52 high bits as a double in [2, 4), minus 3: uniform on [−1, 1).
        let u = f64::from_bits((w >> 12) | 0x4000_0000_0000_0000) - 3.0;
        if u.abs() < self.r[i] {
            u * self.x[i]
        } else {
            self.sample_slow(s, i, u)
        }
    }

    #[inline(never)]
    fn sample_slow(&self, s: &mut [u64; 4], mut i: usize, mut u: f64) -> f64 {
        loop {
            if u.abs() < self.r[i] {
                return u * self.x[i];
            }
            if i == 0 {
                // The tail beyond r (Marsaglia 1964).
                loop {
                    let a = libm::log(open01(next_u64(s))) / ZIG_R;
                    let b = libm::log(open01(next_u64(s)));
                    if -2.0 * b >= a * a {
                        return if u < 0.0 { a - ZIG_R } else { ZIG_R - a };
                    }
                }
            }
            // The wedge between layers i and i + 1: accept if a uniform height in
            // [f(x[i]), f(x[i+1])] falls under the density (Marsaglia & Tsang 2000).
            let x = u * self.x[i];
            let y = self.f[i] + open01(next_u64(s)) * (self.f[i + 1] - self.f[i]);
            if y < libm::exp(-0.5 * x * x) {
                return x;
            }
            let w = next_u64(s);
            i = (w & 0xff) as usize;
            u = f64::from_bits((w >> 12) | 0x4000_0000_0000_0000) - 3.0;
        }
    }
}

/// A uniform on `(0, 1)` from the top 53 bits.
#[inline]
fn open01(w: u64) -> f64 {
    ((w >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// One xoshiro256++ output (Blackman & Vigna 2021).
#[inline(always)]
pub fn next_u64(s: &mut [u64; 4]) -> u64 {
    let r = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    r
}

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
        let lanes = self.states.len();
        let out = &mut out[..per_lane * lanes];
        let ns = scale.len();
        let mut g = 0;
        while g + 4 <= lanes {
            let mut st = [
                self.states[g],
                self.states[g + 1],
                self.states[g + 2],
                self.states[g + 3],
            ];
            let mut c = 0;
            for j in 0..per_lane {
                let sc = scale[c];
                c = if c + 1 == ns { 0 } else { c + 1 };
                let o = &mut out[j * lanes + g..j * lanes + g + 4];
                for (o, s) in o.iter_mut().zip(st.iter_mut()) {
                    *o = sc * zig.sample(s);
                }
            }
            self.states[g..g + 4].copy_from_slice(&st);
            g += 4;
        }
        for l in g..lanes {
            let mut s = self.states[l];
            let mut c = 0;
            for j in 0..per_lane {
                out[j * lanes + l] = scale[c] * zig.sample(&mut s);
                c = if c + 1 == ns { 0 } else { c + 1 };
            }
            self.states[l] = s;
        }
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
    fn tables_close_the_ziggurat() {
        let z = Ziggurat::new();
        // The last computed edge x[255] must leave the top layer with area v:
        // x[255] (1 − f(x[255])) = v, up to the rounding of the published constants.
        let x = z.x[255];
        let top = x * (1.0 - (-0.5 * x * x).exp());
        assert!((top / ZIG_V - 1.0).abs() < 1e-6, "top layer area {top}");
        assert!(z.x.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn lanes_are_independent_of_grouping() {
        let z = Ziggurat::new();
        let seeds: Vec<u64> = (0..7).collect();
        let mut block = NormalLanes::from_seeds(seeds.clone());
        let mut out = vec![0.0; 7 * 50];
        block.fill(&z, 50, &[1.0], &mut out);
        for (l, &seed) in seeds.iter().enumerate() {
            let mut single = NormalLanes::from_seeds([seed]);
            let mut o = vec![0.0; 50];
            // In two calls, to check that chunking does not matter either.
            single.fill(&z, 20, &[1.0], &mut o[..20]);
            single.fill(&z, 30, &[1.0], &mut o[20..]);
            for j in 0..50 {
                assert_eq!(o[j].to_bits(), out[j * 7 + l].to_bits());
            }
        }
    }
}

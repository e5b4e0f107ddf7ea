//! Sobol' sequences (Sobol' 1967) in Gray-code order (Antonov & Saleev 1979) with the
//! direction numbers of Joe & Kuo (2008), and Owen's (1995) nested uniform scrambling.
//!
//! Dimension `k` has the primitive polynomial `x^s + a_1 x^{s−1} + … + a_{s−1} x + 1` over
//! GF(2) and the initial integers `m_1 … m_s`; the direction numbers `v_j = m_j / 2^j`
//! continue by the recurrence (Joe & Kuo 2008, eq. (2))
//!
//! $$ m_j = 2 a_1 m_{j−1} ⊕ 2^2 a_2 m_{j−2} ⊕ … ⊕ 2^{s−1} a_{s−1} m_{j−s+1} ⊕ 2^s m_{j−s} ⊕ m_{j−s}, $$
//!
//! and point `i` is `x_k(i) = ⊕_{j : bit j of g(i)} v_j` with the Gray code
//! `g(i) = i ⊕ ⌊i/2⌋`, in 32-bit fixed point. Owen scrambling flips digit `t` of every
//! coordinate by a random bit that depends on the digits before it (a random binary
//! tree); here the random bits come from a hash of `(seed, dimension, t, prefix)` (Burley
//! 2020, "Practical hash-based Owen scrambling", JCGT 9(4)), so a point can be scrambled
//! on its own, in any order, and the result is an exact nested uniform scramble of the
//! 32-bit net. A uniform jitter below the last digit makes each coordinate uniform on
//! `[0, 1)`.

use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::joe_kuo::JOE_KUO;
use super::{Design, check_size};

/// Highest dimension with direction numbers in the shipped table.
pub const MAX_SOBOL_DIM: usize = 1024;

const BITS: usize = 32;

/// Options of [`sobol`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SobolOptions {
    /// Owen-scramble the net (`true`) or return the plain Sobol' points (the first point is
    /// then the origin).
    pub scramble: bool,
    /// Seed of the scrambling.
    pub seed: u64,
    /// Points skipped at the start of the sequence.
    pub skip: u64,
}

impl Default for SobolOptions {
    /// Unscrambled, no skip.
    fn default() -> Self {
        Self {
            scramble: false,
            seed: 0,
            skip: 0,
        }
    }
}

impl SobolOptions {
    /// Owen-scrambled with `seed`, no skip.
    pub const fn scrambled(seed: u64) -> Self {
        Self {
            scramble: true,
            seed,
            skip: 0,
        }
    }
}

/// A Sobol' sequence in `d` dimensions: its direction numbers, and points by index (so
/// that very long sequences can be generated chunk by chunk).
#[derive(Clone, Debug)]
pub struct SobolSequence {
    d: usize,
    /// `v[k][j]`: direction number `j` of dimension `k`, 32-bit fixed point.
    v: Vec<[u32; BITS]>,
    opts: SobolOptions,
}

impl SobolSequence {
    /// Direction numbers for `d ≤ MAX_SOBOL_DIM` dimensions.
    pub fn new(d: usize, opts: SobolOptions) -> Result<Self> {
        if d == 0 || d > MAX_SOBOL_DIM {
            return Err(Error::invalid_option(
                "SobolSequence",
                "d",
                d,
                format!("between 1 and {MAX_SOBOL_DIM} (the shipped Joe–Kuo table)"),
            ));
        }
        let mut v = Vec::with_capacity(d);
        let mut first = [0u32; BITS];
        for (j, e) in first.iter_mut().enumerate() {
            *e = 1u32 << (BITS - 1 - j);
        }
        v.push(first);
        for &(s, a, m) in JOE_KUO.iter().take(d - 1) {
            let s = s as usize;
            let mut vk = [0u32; BITS];
            for j in 0..s.min(BITS) {
                vk[j] = m[j] << (BITS - 1 - j);
            }
            for j in s..BITS {
                let mut x = vk[j - s] ^ (vk[j - s] >> s);
                for l in 1..s {
                    if (a >> (s - 1 - l)) & 1 == 1 {
                        x ^= vk[j - l];
                    }
                }
                vk[j] = x;
            }
            v.push(vk);
        }
        Ok(Self { d, v, opts })
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Writes point `index` (after the skip) into `out` (length `d`).
    pub fn point_into(&self, index: u64, out: &mut [f64]) {
        let i = index + self.opts.skip;
        let g = i ^ (i >> 1);
        for (k, (o, vk)) in out.iter_mut().zip(&self.v).enumerate() {
            let mut x = 0u32;
            let mut bits = g;
            let mut j = 0;
            while bits != 0 && j < BITS {
                if bits & 1 == 1 {
                    x ^= vk[j];
                }
                bits >>= 1;
                j += 1;
            }
            *o = if self.opts.scramble {
                let s = owen_scramble(x, self.opts.seed, k as u64);
                // A uniform jitter below the last digit (from the same hash family).
                let low = mix(
                    self.opts.seed ^ 0x5851_f42d_4c95_7f2d,
                    (k as u64) << 32 ^ s as u64,
                    i,
                );
                (s as f64 + (low >> 11) as f64 * (1.0 / (1u64 << 53) as f64))
                    * (1.0 / 4_294_967_296.0)
            } else {
                x as f64 * (1.0 / 4_294_967_296.0)
            };
        }
    }

    /// Writes points `start .. start + count` point-major into `out` (`count d` values).
    pub fn fill(&self, start: u64, out: &mut [f64]) {
        for (t, chunk) in out.chunks_exact_mut(self.d).enumerate() {
            self.point_into(start + t as u64, chunk);
        }
    }
}

/// The first `n` points of the `d`-dimensional Sobol' sequence (Joe–Kuo direction
/// numbers), optionally Owen-scrambled.
///
/// ```
/// use mechml_models::emulator::design::{SobolOptions, sobol};
/// let d = sobol(4, 2, &SobolOptions::default())?;
/// assert_eq!(d.as_slice(), &[0.0, 0.0, 0.5, 0.5, 0.75, 0.25, 0.25, 0.75]);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn sobol(n: usize, d: usize, opts: &SobolOptions) -> Result<Design> {
    check_size("sobol", n, d)?;
    let seq = SobolSequence::new(d, *opts)?;
    let mut data = vec![0.0; n * d];
    seq.fill(0, &mut data);
    Design::new(n, d, data)
}

/// Owen's nested uniform scrambling of a 32-bit fixed-point coordinate: digit `t` (from
/// the most significant) is flipped by a pseudo-random bit drawn from `(seed, dim, t,
/// the t digits above it)`.
pub fn owen_scramble(x: u32, seed: u64, dim: u64) -> u32 {
    let mut out = 0u32;
    for t in 0..BITS {
        let b = BITS - 1 - t;
        // The t leading digits, with a marker bit so that prefixes of different lengths
        // differ.
        let prefix = if t == 0 {
            1u64
        } else {
            (1u64 << t) | (x >> (b + 1)) as u64
        };
        let flip = (mix(seed, dim, prefix) >> 63) as u32;
        out |= (((x >> b) & 1) ^ flip) << b;
    }
    out
}

/// A 64-bit hash of three words (SplitMix64 finaliser rounds; Steele, Lea & Flood 2014).
#[inline]
fn mix(a: u64, b: u64, c: u64) -> u64 {
    let mut z = a
        .wrapping_add(b.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(c.wrapping_mul(0xd1b5_4a32_d192_ed03));
    for _ in 0..2 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
    }
    z
}

//! Halton (1960) points: coordinate `k` of point `i` is the radical inverse of `i` in the
//! `k`-th prime base `b`, `φ_b(i) = Σ_t a_t b^{−t−1}` for `i = Σ_t a_t b^t`. Optionally
//! every digit of dimension `k` goes through one random permutation of `{0, …, b − 1}`
//! (a random-permutation scrambling, Braaten & Weller 1979; Owen 2017), which breaks the
//! correlations between high dimensions; the infinite tail of zero digits is accounted
//! for exactly (it contributes `π(0) b^{−T}/(b − 1)`).

use mechml_engine::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::{Design, check_size};

/// Options of [`halton`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaltonOptions {
    /// Permute the digits at random.
    pub scramble: bool,
    /// Seed of the permutations.
    pub seed: u64,
    /// Points skipped at the start (the unscrambled point 0 is the origin).
    pub skip: u64,
}

impl Default for HaltonOptions {
    /// Unscrambled, no skip.
    fn default() -> Self {
        Self {
            scramble: false,
            seed: 0,
            skip: 0,
        }
    }
}

/// Largest dimension (Halton points degrade quickly in high dimension; use Sobol').
pub const MAX_HALTON_DIM: usize = 100;

/// The first `n` Halton points in `d ≤ 100` dimensions.
///
/// ```
/// use mechml_models::emulator::design::{HaltonOptions, halton};
/// let d = halton(4, 2, &HaltonOptions::default())?;
/// assert_eq!(d.point(1), &[0.5, 1.0 / 3.0]);
/// assert_eq!(d.point(3), &[0.75, 1.0 / 9.0]);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn halton(n: usize, d: usize, opts: &HaltonOptions) -> Result<Design> {
    check_size("halton", n, d)?;
    if d > MAX_HALTON_DIM {
        return Err(Error::invalid_option(
            "halton",
            "d",
            d,
            format!("at most {MAX_HALTON_DIM} (use a Sobol' sequence beyond)"),
        ));
    }
    let primes = first_primes(d);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
    let perms: Vec<Vec<u64>> = primes
        .iter()
        .map(|&b| {
            let mut p: Vec<u64> = (0..b).collect();
            if opts.scramble {
                for i in (1..b as usize).rev() {
                    let j = rng.random_range(0..=i);
                    p.swap(i, j);
                }
            }
            p
        })
        .collect();
    let mut data = vec![0.0; n * d];
    for i in 0..n {
        let idx = i as u64 + opts.skip;
        for (k, &b) in primes.iter().enumerate() {
            data[i * d + k] = radical_inverse(idx, b, &perms[k]).min(1.0 - f64::EPSILON / 2.0);
        }
    }
    Design::new(n, d, data)
}

/// `φ_b(i)` with the digit permutation `perm` (identity: the plain radical inverse).
fn radical_inverse(mut i: u64, b: u64, perm: &[u64]) -> f64 {
    let inv = 1.0 / b as f64;
    let mut f = inv;
    let mut x = 0.0;
    while i > 0 {
        x += perm[(i % b) as usize] as f64 * f;
        i /= b;
        f *= inv;
    }
    // Tail of zero digits: Σ_{t ≥ T} π(0) b^{−t−1} = π(0) f b / (b − 1).
    x + perm[0] as f64 * f * b as f64 / (b as f64 - 1.0)
}

fn first_primes(d: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(d);
    let mut c = 2u64;
    while out.len() < d {
        if (2..c)
            .take_while(|p| p * p <= c)
            .all(|p| !c.is_multiple_of(p))
        {
            out.push(c);
        }
        c += 1;
    }
    out
}

//! The bootstrap particle filter (Gordon, Salmond & Smith 1993; Doucet & Johansen 2011,
//! "A tutorial on particle filtering and smoothing", Alg. 1) with systematic resampling
//! (Kitagawa 1996) at every step, and its unbiased estimate of the likelihood,
//! p̂(y_{1:T}) = Π_t (1/N) Σᵢ p(y_t | x_tⁱ).
//!
//! Parallel over particles (rayon) in fixed blocks of [`BLOCK`] particles, each block
//! drawing from its own generator seeded from (seed, step, block); sums are formed per
//! block and added in block order. The result is therefore bit-for-bit the same for any
//! number of threads.
//!
//! ```
//! use mechml_models::ssm::{LinearGaussianSsm, Observations};
//! use mechml_models::ssm::nonlinear::{LinearAsNonlinear, particle::{particle_filter, ParticleOptions}};
//! let lin = LinearGaussianSsm::time_invariant(1, 1, vec![0.9], vec![0.1], vec![1.0],
//!                                             vec![0.2], vec![0.0], vec![1.0])?;
//! let data = Observations::univariate(vec![0.1, 0.4, -0.2, 0.3])?;
//! let pf = particle_filter(&LinearAsNonlinear(&lin), &[], &data, &ParticleOptions { n_particles: 20_000, seed: 1 })?;
//! let kf = mechml_models::ssm::kalman::kalman_loglik(&lin, &data)?;
//! assert!((pf.loglik - kf).abs() < 0.05);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use mechml_engine::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{NonlinearSsm, observed};
use crate::ssm::kalman::LN_2PI;
use crate::ssm::model::Observations;
use crate::ssm::simulate::psd_sqrt;

/// Particles per parallel block (fixed, so results do not depend on the thread count).
pub const BLOCK: usize = 512;

/// Options of [`particle_filter`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParticleOptions {
    /// Number of particles N.
    pub n_particles: usize,
    /// Seed.
    pub seed: u64,
}

/// Output of the particle filter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParticleOutput {
    /// log p̂(y_{1:T}).
    pub loglik: f64,
    /// Filtered means (weighted, before resampling), `T x n`.
    pub filt_mean: Vec<f64>,
    /// Effective sample size 1/Σ wᵢ² at each step.
    pub ess: Vec<f64>,
}

/// SplitMix64: a seed for (seed, step, block).
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        ^ a.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ b.wrapping_mul(0xbf58_476d_1ce4_e5b9).rotate_left(31);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Systematic resampling (Kitagawa 1996; Douc, Cappé & Moulines 2005): with the points
/// u_k = (k + u0)/N, k = 0 … N − 1, ancestor a_k is the first index j whose cumulative
/// weight Σ_{i≤j} wᵢ exceeds u_k (so a particle of weight zero is never chosen). `w` must be normalised (Σ wᵢ = 1) and u0 ∈ [0, 1).
/// Particle i is then chosen ⌊N wᵢ⌋ or ⌈N wᵢ⌉ times, and the ancestors are
/// non-decreasing. Writes the N ancestors into `out` (cleared first).
pub fn systematic_resample(w: &[f64], u0: f64, out: &mut Vec<usize>) {
    let np = w.len();
    out.clear();
    if np == 0 {
        return;
    }
    let mut cum = w[0];
    let mut j = 0;
    for k in 0..np {
        let uk = (k as f64 + u0) / np as f64;
        while uk >= cum && j + 1 < np {
            j += 1;
            cum += w[j];
        }
        out.push(j);
    }
}

/// Runs the bootstrap filter with parameters `theta`.
pub fn particle_filter<M: NonlinearSsm>(
    model: &M,
    theta: &[f64],
    data: &Observations,
    opts: &ParticleOptions,
) -> Result<ParticleOutput> {
    let n = model.n_state();
    let np = opts.n_particles;
    if np == 0 {
        return Err(Error::invalid_option(
            "particle_filter",
            "n_particles",
            np,
            "at least 1",
        ));
    }
    let (m1, p1) = model.prior(theta);
    let l1 = psd_sqrt(&p1, n, "the prior covariance")?;
    let n_blocks = np.div_ceil(BLOCK);
    // Initial particles, block by block.
    let mut x = vec![0.0; np * n];
    x.par_chunks_mut(BLOCK * n)
        .enumerate()
        .for_each(|(b, chunk)| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(opts.seed, u64::MAX, b as u64));
            for xi in chunk.chunks_mut(n) {
                let z: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
                for i in 0..n {
                    xi[i] = m1[i] + (0..n).map(|j| l1[i + j * n] * z[j]).sum::<f64>();
                }
            }
        });
    let mut out = ParticleOutput {
        loglik: 0.0,
        filt_mean: Vec::with_capacity(data.n_steps * n),
        ess: Vec::with_capacity(data.n_steps),
    };
    let mut logw = vec![0.0; np];
    let mut next = vec![0.0; np * n];
    let mut ancestors = Vec::with_capacity(np);
    for t in 0..data.n_steps {
        let y = data.y_at(t);
        let idx = observed(y);
        let mo = idx.len();
        // Log-weights log N(y_o | h(x), R_oo).
        if mo > 0 {
            let r = model.obs_cov(theta, t);
            let m_all = model.n_obs();
            let r = &r;
            let roo: Vec<f64> = idx
                .iter()
                .flat_map(|&b| idx.iter().map(move |&a| r[a + b * m_all]))
                .collect();
            let mut l = roo.clone();
            crate::ssm::dense::cholesky_in_place(&mut l, mo, "particle_filter").map_err(|_| {
                Error::InvalidArgument {
                    op: "particle_filter",
                    message: format!("observation covariance at step {t} is not positive definite"),
                }
            })?;
            let logdet: f64 = (0..mo).map(|a| l[a + a * mo].ln()).sum::<f64>() * 2.0;
            let c0 = -0.5 * (logdet + LN_2PI * mo as f64);
            logw.par_chunks_mut(BLOCK)
                .zip(x.par_chunks(BLOCK * n))
                .for_each(|(w, xs)| {
                    for (wi, xi) in w.iter_mut().zip(xs.chunks(n)) {
                        let h = model.observation(theta, t, xi);
                        let mut e: Vec<f64> = idx.iter().map(|&a| y[a] - h[a]).collect();
                        crate::ssm::dense::solve_lower_in_place(&l, mo, &mut e);
                        *wi = c0 - 0.5 * e.iter().map(|v| v * v).sum::<f64>();
                    }
                });
        } else {
            logw.iter_mut().for_each(|w| *w = 0.0);
        }
        if let Some(i) = logw.iter().position(|w| w.is_nan()) {
            return Err(Error::NonFinite {
                op: "particle_filter",
                index: i,
                value: f64::NAN,
                context: format!("log-weight of particle {i} at step {t}"),
            });
        }
        let wmax = logw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if !wmax.is_finite() {
            return Err(Error::InvalidArgument {
                op: "particle_filter",
                message: format!("every particle has zero weight at step {t}; use more particles"),
            });
        }
        // Block sums in block order (deterministic).
        let block_sums: Vec<f64> = logw
            .par_chunks(BLOCK)
            .map(|w| w.iter().map(|v| (v - wmax).exp()).sum::<f64>())
            .collect();
        let total: f64 = block_sums.iter().sum();
        out.loglik += wmax + (total / np as f64).ln();
        let w: Vec<f64> = logw.iter().map(|v| (v - wmax).exp() / total).collect();
        out.ess.push(1.0 / w.iter().map(|v| v * v).sum::<f64>());
        for i in 0..n {
            out.filt_mean
                .push(w.iter().zip(x.chunks(n)).map(|(wi, xi)| wi * xi[i]).sum());
        }
        // Systematic resampling: ancestors of u_k = (k + U)/N.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(opts.seed, t as u64, u64::MAX - 1));
        let u0: f64 = rng.random::<f64>();
        systematic_resample(&w, u0, &mut ancestors);
        // Propagate: x' = f(x_ancestor) + chol(Q) ε.
        let u = data.u_at(t);
        let lq = psd_sqrt(&model.process_cov(theta, t), n, &format!("Q at step {t}"))?;
        let xs = &x;
        next.par_chunks_mut(BLOCK * n)
            .enumerate()
            .for_each(|(b, chunk)| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(opts.seed, t as u64, b as u64));
                for (k, xi) in chunk.chunks_mut(n).enumerate() {
                    let a = ancestors[b * BLOCK + k];
                    let f = model.transition(theta, t, &xs[a * n..(a + 1) * n], u);
                    let z: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
                    for i in 0..n {
                        xi[i] = f[i] + (0..n).map(|j| lq[i + j * n] * z[j]).sum::<f64>();
                    }
                }
            });
        std::mem::swap(&mut x, &mut next);
        let _ = n_blocks;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systematic_resampling_keeps_every_count_within_floor_and_ceil() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut anc = Vec::new();
        for case in 0..200 {
            let np = 1 + case % 37;
            // Random weights, some exactly zero, some tiny.
            let raw: Vec<f64> = (0..np)
                .map(|i| {
                    let v: f64 = rng.random::<f64>();
                    if i % 5 == 3 {
                        0.0
                    } else if i % 7 == 2 {
                        1e-12 * v
                    } else {
                        v
                    }
                })
                .collect();
            let total: f64 = raw.iter().sum();
            if total == 0.0 {
                continue;
            }
            let w: Vec<f64> = raw.iter().map(|v| v / total).collect();
            for u0 in [0.0, rng.random::<f64>(), 1.0 - 1e-12] {
                systematic_resample(&w, u0, &mut anc);
                assert_eq!(anc.len(), np);
                assert!(anc.windows(2).all(|p| p[0] <= p[1]), "not sorted: {anc:?}");
                for (i, &wi) in w.iter().enumerate() {
                    let count = anc.iter().filter(|&&a| a == i).count() as f64;
                    let expect = np as f64 * wi;
                    // Rounding of the cumulative sums: a count may reach floor − 1 or
                    // ceil + 1 only within 1e-9 of an integer.
                    let (lo, hi) = ((expect - 1e-9).floor(), (expect + 1e-9).ceil());
                    assert!(
                        count >= lo && count <= hi,
                        "N = {np}, u0 = {u0}: particle {i} (N w = {expect}) chosen {count} times"
                    );
                    if wi == 0.0 {
                        assert_eq!(count, 0.0, "a zero-weight particle was chosen");
                    }
                }
            }
        }
        // One particle with all the weight is every ancestor; a leading zero weight is
        // skipped even at u0 = 0.
        systematic_resample(&[0.0, 1.0, 0.0], 0.5, &mut anc);
        assert_eq!(anc, [1, 1, 1]);
        systematic_resample(&[0.0, 0.5, 0.5], 0.0, &mut anc);
        assert_eq!(anc, [1, 1, 2]);
    }
}

//! What one block of paths contributes, and the running merge of blocks in path order.

use super::EnsembleOptions;
use crate::error::Result;
use crate::sde::quantile::{P2Quantile, QuantileMethod};

/// What one block of paths contributes.
pub(super) struct BlockOut {
    pub(super) n: usize,
    /// `[k * d + i]`.
    pub(super) mean: Vec<f64>,
    pub(super) m2: Vec<f64>,
    /// Co-moments `Σ_l (x_il − x̄_i)(x_jl − x̄_j)`, `[(k * d + i) * d + j]`, when asked.
    pub(super) cross: Option<Vec<f64>>,
    /// Saved states, lane-major `[(lane * n_save + k) * d + i]`, when kept.
    pub(super) saved: Option<Vec<f64>>,
    pub(super) n_steps: usize,
    pub(super) n_rejected: usize,
}

impl BlockOut {
    pub(super) fn new(n: usize, n_save: usize, d: usize, keep: bool, cross: bool) -> Self {
        Self {
            n,
            mean: vec![0.0; n_save * d],
            m2: vec![0.0; n_save * d],
            cross: cross.then(|| vec![0.0; n_save * d * d]),
            saved: keep.then(|| vec![0.0; n * n_save * d]),
            n_steps: 0,
            n_rejected: 0,
        }
    }

    /// Records save point `k` from the SoA states `x` (`d × lanes`).
    pub(super) fn record(&mut self, k: usize, x: &[f64], d: usize, lanes: usize, n_save: usize) {
        let n = self.n as f64;
        for i in 0..d {
            let xs = &x[i * lanes..i * lanes + self.n];
            let mean = xs.iter().sum::<f64>() / n;
            let m2 = xs.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
            self.mean[k * d + i] = mean;
            self.m2[k * d + i] = m2;
            if let Some(s) = &mut self.saved {
                for (l, &v) in xs.iter().enumerate() {
                    s[(l * n_save + k) * d + i] = v;
                }
            }
        }
        if let Some(c) = &mut self.cross {
            // The same operations as `m2` on the diagonal, so that it equals the variance.
            for i in 0..d {
                let (xi, mi) = (&x[i * lanes..i * lanes + self.n], self.mean[k * d + i]);
                for j in 0..d {
                    let (xj, mj) = (&x[j * lanes..j * lanes + self.n], self.mean[k * d + j]);
                    c[(k * d + i) * d + j] = xi
                        .iter()
                        .zip(xj)
                        .map(|(a, b)| (a - mi) * (b - mj))
                        .sum::<f64>();
                }
            }
        }
    }
}

/// The running summary of the blocks merged so far (in block order).
pub(super) struct Merge {
    pub(super) n_save: usize,
    pub(super) d: usize,
    pub(super) mean: Vec<f64>,
    pub(super) m2: Vec<f64>,
    /// Co-moments `[(k * d + i) * d + j]`, when asked.
    pub(super) cross: Option<Vec<f64>>,
    pub(super) count: f64,
    /// Every path's saved states, when kept.
    pub(super) paths: Option<Vec<f64>>,
    /// Streaming quantile estimators, `[(k * n_levels + q) * d + i]` (empty unless asked).
    pub(super) estimators: Vec<P2Quantile>,
    pub(super) n_levels: usize,
    pub(super) n_steps: usize,
    pub(super) n_rejected: usize,
}

impl Merge {
    pub(super) fn new(
        n_save: usize,
        d: usize,
        opts: &EnsembleOptions,
        keep_all: bool,
    ) -> Result<Self> {
        let mut estimators = Vec::new();
        if opts.quantile_method == QuantileMethod::Streaming {
            for _ in 0..n_save {
                for &level in &opts.quantiles {
                    for _ in 0..d {
                        estimators.push(P2Quantile::new(level)?);
                    }
                }
            }
        }
        Ok(Self {
            n_save,
            d,
            mean: vec![0.0; n_save * d],
            m2: vec![0.0; n_save * d],
            cross: opts.covariance.then(|| vec![0.0; n_save * d * d]),
            count: 0.0,
            paths: keep_all.then(|| Vec::with_capacity(opts.n_paths * n_save * d)),
            estimators,
            n_levels: opts.quantiles.len(),
            n_steps: 0,
            n_rejected: 0,
        })
    }

    /// Merges the next block: means and variances by the pairwise update of Chan, Golub &
    /// LeVeque (1983); quantile estimators fed path by path.
    pub(super) fn add(&mut self, b: BlockOut) {
        let (n_save, d, nq) = (self.n_save, self.d, self.n_levels);
        let nb = b.n as f64;
        let n_ab = self.count + nb;
        if let (Some(c), Some(bc)) = (&mut self.cross, &b.cross) {
            // The pairwise update of Chan, Golub & LeVeque for co-moments (the same
            // operations as for `m2` on the diagonal).
            for k in 0..n_save {
                for i in 0..d {
                    let di = b.mean[k * d + i] - self.mean[k * d + i];
                    for j in 0..d {
                        let dj = b.mean[k * d + j] - self.mean[k * d + j];
                        let e = (k * d + i) * d + j;
                        c[e] += bc[e] + di * dj * self.count * nb / n_ab;
                    }
                }
            }
        }
        for e in 0..n_save * d {
            let delta = b.mean[e] - self.mean[e];
            self.mean[e] += delta * nb / n_ab;
            self.m2[e] += b.m2[e] + delta * delta * self.count * nb / n_ab;
        }
        self.count = n_ab;
        if let Some(s) = &b.saved {
            if !self.estimators.is_empty() {
                for path in s.chunks_exact(n_save * d) {
                    for k in 0..n_save {
                        for q in 0..nq {
                            for i in 0..d {
                                self.estimators[(k * nq + q) * d + i].push(path[k * d + i]);
                            }
                        }
                    }
                }
            }
            if let Some(all) = &mut self.paths {
                all.extend_from_slice(s);
            }
        }
        self.n_steps += b.n_steps;
        self.n_rejected += b.n_rejected;
    }
}

//! Streaming quantiles for ensembles: the P² algorithm.
//!
//! [`P2Quantile`] estimates the `p`-quantile of a stream of observations in O(1) memory
//! (Jain & Chlamtac 1985, "The P² algorithm for dynamic calculation of quantiles and
//! histograms without storing observations", Commun. ACM 28(10), 1076–1085,
//! doi:10.1145/4372.4378). Five markers track the minimum, the `p/2`-, `p`- and
//! `(1+p)/2`-quantiles and the maximum; marker `i` sits at an integer position `nᵢ` (its rank
//! among the observations so far) and should sit at the desired position
//! ```text
//! n′ = 1 + (n − 1)·[0, p/2, p, (1 + p)/2, 1],
//! ```
//! `n` being the count. After each observation a middle marker that is one or more ranks
//! off its desired position moves by one rank, its height following the piecewise-parabolic
//! (P²) interpolation through it and its neighbours (the paper's eq. (5)),
//! ```text
//! qᵢ ← qᵢ + s/(nᵢ₊₁ − nᵢ₋₁) · [(nᵢ − nᵢ₋₁ + s)(qᵢ₊₁ − qᵢ)/(nᵢ₊₁ − nᵢ) + (nᵢ₊₁ − nᵢ − s)(qᵢ − qᵢ₋₁)/(nᵢ − nᵢ₋₁)],
//! ```
//! `s = ±1`, or linearly when the parabola would leave `(qᵢ₋₁, qᵢ₊₁)`. The desired position of
//! the middle marker is that of the type-7 sample quantile (linear interpolation between order
//! statistics, numpy's default), so the estimate tracks it; the difference is small compared
//! to the quantile's own sampling error `√(p(1−p)/n) / f(x_p)` for smooth densities (tested
//! in `engine/tests/sde_ensemble.rs`). The estimator assumes the observations arrive in
//! random order (it is poor on sorted or periodic streams); ensemble paths are independent,
//! so this holds. The result depends on the order of the observations: ensembles feed paths
//! in path order, so it does not depend on the number of threads.
//!
//! [`QuantileMethod`] chooses between this estimator and exact sample quantiles, which need
//! every path's saved states.
//!
//! ```
//! use mechml_engine::sde::P2Quantile;
//! use rand::{RngExt, SeedableRng};
//! let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
//! let mut q = P2Quantile::new(0.9)?;
//! for _ in 0..10_000 {
//!     q.push(rng.random::<f64>());
//! }
//! // The 0.9-quantile of U(0, 1) is 0.9; a sample quantile's standard error is
//! // √(0.9 · 0.1 / n) = 0.003: allow four.
//! assert!((q.estimate() - 0.9).abs() < 0.012);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::error::{Error, Result};

/// How an ensemble computes its quantiles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QuantileMethod {
    /// P² estimates ([`P2Quantile`]) fed in path order: O(1) memory per save time,
    /// component and level; no path is stored.
    #[default]
    Streaming,
    /// Exact type-7 sample quantiles of the cross-sections: stores every path's saved
    /// states (`n_paths × n_save × d` values) and sorts each cross-section.
    Exact,
}

/// A P² estimator of one quantile (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct P2Quantile {
    p: f64,
    count: u64,
    /// Marker heights; before five observations, the sorted observations.
    q: [f64; 5],
    /// Marker positions (ranks, 1-based), as reals.
    pos: [f64; 5],
    /// Desired positions.
    want: [f64; 5],
    /// Their increments per observation, `[0, p/2, p, (1 + p)/2, 1]`.
    dn: [f64; 5],
    /// Whether a NaN was observed (the estimate is then NaN).
    nan: bool,
}

impl P2Quantile {
    /// An estimator of the `p`-quantile, `0 ≤ p ≤ 1`.
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid_option(
                "P2Quantile::new",
                "p",
                p,
                "a quantile level in [0, 1]",
            ));
        }
        Ok(Self {
            p,
            count: 0,
            q: [0.0; 5],
            pos: [1.0, 2.0, 3.0, 4.0, 5.0],
            want: [1.0, 1.0 + 2.0 * p, 1.0 + 4.0 * p, 3.0 + 2.0 * p, 5.0],
            dn: [0.0, 0.5 * p, p, 0.5 * (1.0 + p), 1.0],
            nan: false,
        })
    }

    /// The quantile level `p`.
    pub fn level(&self) -> f64 {
        self.p
    }

    /// Number of observations so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds one observation.
    #[inline]
    pub fn push(&mut self, x: f64) {
        if self.count < 5 || x.is_nan() {
            return self.push_slow(x);
        }
        self.count += 1;
        // The cell k with q[k] ≤ x < q[k+1] (extending the extreme markers if needed),
        // counted without branches on the middle markers.
        let k = if x < self.q[0] {
            self.q[0] = x;
            0
        } else if x >= self.q[4] {
            self.q[4] = x;
            3
        } else {
            (x >= self.q[1]) as usize + (x >= self.q[2]) as usize + (x >= self.q[3]) as usize
        };
        for j in 1..5 {
            self.pos[j] += (j > k) as u8 as f64;
        }
        for j in 1..4 {
            self.want[j] += self.dn[j];
        }
        self.want[4] += 1.0;
        for i in 1..4 {
            let off = self.want[i] - self.pos[i];
            if (off >= 1.0 && self.pos[i + 1] - self.pos[i] > 1.0)
                || (off <= -1.0 && self.pos[i - 1] - self.pos[i] < -1.0)
            {
                let s = if off > 0.0 { 1.0 } else { -1.0 };
                let qp = self.parabolic(i, s);
                self.q[i] = if self.q[i - 1] < qp && qp < self.q[i + 1] {
                    qp
                } else {
                    self.linear(i, s)
                };
                self.pos[i] += s;
            }
        }
    }

    /// The first five observations (kept sorted) and NaNs.
    fn push_slow(&mut self, x: f64) {
        self.count += 1;
        if x.is_nan() {
            self.nan = true;
            return;
        }
        let mut i = self.count as usize - 1;
        while i > 0 && self.q[i - 1] > x {
            self.q[i] = self.q[i - 1];
            i -= 1;
        }
        self.q[i] = x;
    }

    /// The P² prediction (the paper's eq. (5)) for moving marker `i` by `s = ±1`, over a
    /// common denominator (one division).
    #[inline]
    fn parabolic(&self, i: usize, s: f64) -> f64 {
        let (q, n) = (&self.q, &self.pos);
        let (up, down) = (n[i + 1] - n[i], n[i] - n[i - 1]);
        let num = (down + s) * (q[i + 1] - q[i]) * down + (up - s) * (q[i] - q[i - 1]) * up;
        q[i] + s * num / ((up + down) * up * down)
    }

    /// Linear prediction towards the neighbour in direction `s`.
    fn linear(&self, i: usize, s: f64) -> f64 {
        let j = if s > 0.0 { i + 1 } else { i - 1 };
        self.q[i] + s * (self.q[j] - self.q[i]) / (self.pos[j] - self.pos[i])
    }

    /// The current estimate: NaN before any observation or after a NaN one; the exact
    /// type-7 sample quantile for fewer than five observations; the minimum and maximum
    /// exactly for `p = 0` and `p = 1`; the middle marker's height otherwise.
    pub fn estimate(&self) -> f64 {
        let n = self.count as usize;
        if n == 0 || self.nan {
            return f64::NAN;
        }
        if n < 5 {
            let h = (n - 1) as f64 * self.p;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            return self.q[lo] + (h - lo as f64) * (self.q[hi] - self.q[lo]);
        }
        if self.p == 0.0 {
            self.q[0]
        } else if self.p == 1.0 {
            self.q[4]
        } else {
            self.q[2]
        }
    }
}

/// Type-7 sample quantile (linear interpolation between order statistics) of sorted data.
pub(crate) fn type7(sorted: &[f64], level: f64) -> f64 {
    let n = sorted.len();
    let h = (n - 1) as f64 * level;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Type-7 quantiles of every cross-section of saved paths `all[(path * n_save + k) * d + i]`:
/// `out[(k * n_levels + q) * d + i]`.
pub(crate) fn cross_section_quantiles(
    all: &[f64],
    n_paths: usize,
    n_save: usize,
    d: usize,
    levels: &[f64],
) -> Vec<f64> {
    let nq = levels.len();
    let mut out = vec![0.0; n_save * nq * d];
    let mut v = vec![0.0; n_paths];
    for k in 0..n_save {
        for i in 0..d {
            for (path, x) in v.iter_mut().enumerate() {
                *x = all[(path * n_save + k) * d + i];
            }
            v.sort_by(f64::total_cmp);
            for (q, &level) in levels.iter().enumerate() {
                out[(k * nq + q) * d + i] = type7(&v, level);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn few_observations_are_exact() {
        let xs = [3.0, -1.0, 2.0, 7.0];
        for p in [0.0, 0.1, 0.5, 0.75, 1.0] {
            let mut q = P2Quantile::new(p).unwrap();
            for (k, &x) in xs.iter().enumerate() {
                q.push(x);
                let mut s = xs[..=k].to_vec();
                s.sort_by(f64::total_cmp);
                assert_eq!(q.estimate(), type7(&s, p));
            }
        }
        assert!(P2Quantile::new(0.5).unwrap().estimate().is_nan());
        assert!(P2Quantile::new(1.5).is_err());
        assert!(P2Quantile::new(f64::NAN).is_err());
    }

    #[test]
    fn extremes_are_exact_and_nan_poisons() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let xs: Vec<f64> = (0..500).map(|_| rng.random::<f64>()).collect();
        let (mut lo, mut hi) = (P2Quantile::new(0.0).unwrap(), P2Quantile::new(1.0).unwrap());
        for &x in &xs {
            lo.push(x);
            hi.push(x);
        }
        assert_eq!(
            lo.estimate(),
            xs.iter().copied().fold(f64::INFINITY, f64::min)
        );
        assert_eq!(
            hi.estimate(),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
        lo.push(f64::NAN);
        assert!(lo.estimate().is_nan());
        assert_eq!(lo.count(), 501);
    }

    #[test]
    fn uniform_stream_tracks_the_sample_quantile() {
        // For n uniform observations the sample p-quantile has standard error
        // √(p(1 − p)/n) (density 1); P² must stay well within it.
        let n = 20_000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let xs: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        for p in [0.01, 0.1, 0.5, 0.9, 0.99] {
            let mut q = P2Quantile::new(p).unwrap();
            for &x in &xs {
                q.push(x);
            }
            let se = (p * (1.0 - p) / n as f64).sqrt();
            let exact = type7(&sorted, p);
            assert!(
                (q.estimate() - exact).abs() < se,
                "p = {p}: P² {} vs sample {exact} (se {se})",
                q.estimate()
            );
        }
    }
}

//! Sobol' indices by Saltelli sampling and Jansen's estimators (module docs).

use mechml_engine::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::emulator::design::{SobolOptions as QmcOptions, SobolSequence, check_size};

/// Options of [`sobol_indices`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SobolOptions {
    /// Base sample size `N` (runs: `N (d + 2)`).
    pub n: usize,
    /// Bootstrap resamples for the intervals (0: none).
    pub bootstrap: usize,
    /// Interval level (e.g. 0.95).
    pub level: f64,
    /// Seed (scrambling and bootstrap).
    pub seed: u64,
}

impl Default for SobolOptions {
    fn default() -> Self {
        Self {
            n: 4096,
            bootstrap: 100,
            level: 0.95,
            seed: 0,
        }
    }
}

/// First-order and total indices with bootstrap intervals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SobolIndices {
    /// First-order indices `S_i`.
    pub first: Vec<f64>,
    /// Total indices `S_{T,i}`.
    pub total: Vec<f64>,
    /// Intervals of `S_i` (lower, upper), if bootstrapped.
    pub first_ci: Vec<(f64, f64)>,
    /// Intervals of `S_{T,i}`.
    pub total_ci: Vec<(f64, f64)>,
    /// `Var(Y)` estimate.
    pub variance: f64,
}

/// The `N (d + 2)` points of the Saltelli design on the unit cube, point-major, in the
/// order `A` (N rows), `B` (N rows), `A_B^{(0)}`, …, `A_B^{(d−1)}`.
pub fn saltelli_design(n: usize, d: usize, seed: u64) -> Result<Vec<f64>> {
    check_size("saltelli_design", n.saturating_mul(d + 2), d)?;
    let seq = SobolSequence::new(
        2 * d,
        QmcOptions {
            scramble: true,
            seed,
            skip: 0,
        },
    )?;
    let mut ab = vec![0.0; n * 2 * d];
    seq.fill(0, &mut ab);
    let mut out = vec![0.0; n * (d + 2) * d];
    for j in 0..n {
        let row = &ab[j * 2 * d..(j + 1) * 2 * d];
        out[j * d..(j + 1) * d].copy_from_slice(&row[..d]);
        out[(n + j) * d..(n + j + 1) * d].copy_from_slice(&row[d..]);
        for i in 0..d {
            let base = ((2 + i) * n + j) * d;
            out[base..base + d].copy_from_slice(&row[..d]);
            out[base + i] = row[d + i];
        }
    }
    Ok(out)
}

/// Indices from the outputs `y` of [`saltelli_design`] (length `N (d + 2)`).
pub fn sobol_from_outputs(
    y: &[f64],
    n: usize,
    d: usize,
    opts: &SobolOptions,
) -> Result<SobolIndices> {
    if y.len() != n * (d + 2) || n < 2 {
        return Err(Error::ShapeMismatch {
            op: "sobol_from_outputs",
            arg: "y",
            expected: format!("N (d + 2) = {} outputs with N ≥ 2", n * (d + 2)),
            found: y.len().to_string(),
        });
    }
    if let Some(k) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            op: "sobol_from_outputs",
            index: k,
            value: y[k],
            context: "model output".into(),
        });
    }
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(Error::invalid_option(
            "SobolOptions",
            "level",
            opts.level,
            "in (0, 1)",
        ));
    }
    let rows: Vec<usize> = (0..n).collect();
    let (first, total, variance) = estimate(y, n, d, &rows);
    let (mut first_ci, mut total_ci) = (Vec::new(), Vec::new());
    if opts.bootstrap > 0 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed ^ 0xb007);
        let mut fs = vec![Vec::with_capacity(opts.bootstrap); d];
        let mut ts = vec![Vec::with_capacity(opts.bootstrap); d];
        let mut idx = vec![0usize; n];
        for _ in 0..opts.bootstrap {
            idx.iter_mut().for_each(|v| *v = rng.random_range(0..n));
            let (f, t, _) = estimate(y, n, d, &idx);
            for i in 0..d {
                fs[i].push(f[i]);
                ts[i].push(t[i]);
            }
        }
        let lo = 0.5 * (1.0 - opts.level);
        let q = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            (
                mechml_engine::infer::stats::quantile_sorted(v, lo),
                mechml_engine::infer::stats::quantile_sorted(v, 1.0 - lo),
            )
        };
        first_ci = fs.iter_mut().map(q).collect();
        total_ci = ts.iter_mut().map(q).collect();
    }
    Ok(SobolIndices {
        first,
        total,
        first_ci,
        total_ci,
        variance,
    })
}

/// Jansen's estimators over the rows `rows` (a bootstrap resample or all).
fn estimate(y: &[f64], n: usize, d: usize, rows: &[usize]) -> (Vec<f64>, Vec<f64>, f64) {
    let fa = &y[..n];
    let fb = &y[n..2 * n];
    let m = rows.len() as f64;
    let (mut s, mut s2) = (0.0, 0.0);
    for &j in rows {
        s += fa[j] + fb[j];
        s2 += fa[j] * fa[j] + fb[j] * fb[j];
    }
    let mean = s / (2.0 * m);
    let v = (s2 / (2.0 * m) - mean * mean).max(f64::MIN_POSITIVE);
    let mut first = vec![0.0; d];
    let mut total = vec![0.0; d];
    for i in 0..d {
        let fab = &y[(2 + i) * n..(3 + i) * n];
        let (mut a, mut b) = (0.0, 0.0);
        for &j in rows {
            a += (fb[j] - fab[j]).powi(2);
            b += (fa[j] - fab[j]).powi(2);
        }
        first[i] = (v - a / (2.0 * m)) / v;
        total[i] = b / (2.0 * m) / v;
    }
    (first, total, v)
}

/// Sobol' indices of `f` on the unit cube by Saltelli sampling (`N (d + 2)` calls of
/// `f`, each on a unit-cube point) and Jansen's estimators, with bootstrap intervals.
///
/// ```
/// use mechml_models::emulator::sensitivity::{SensitivityOptions, ishigami, ishigami_indices, sobol_indices};
/// use std::f64::consts::PI;
/// let f = |u: &[f64]| ishigami(&[PI * (2.0 * u[0] - 1.0), PI * (2.0 * u[1] - 1.0), PI * (2.0 * u[2] - 1.0)], 7.0, 0.1);
/// let s = sobol_indices(f, 3, &SensitivityOptions { n: 8192, bootstrap: 50, ..Default::default() })?;
/// let (first, total) = ishigami_indices(7.0, 0.1);
/// for i in 0..3 {
///     assert!((s.first[i] - first[i]).abs() < 0.03 && (s.total[i] - total[i]).abs() < 0.03);
/// }
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn sobol_indices<F: Fn(&[f64]) -> f64>(
    f: F,
    d: usize,
    opts: &SobolOptions,
) -> Result<SobolIndices> {
    let x = saltelli_design(opts.n, d, opts.seed)?;
    let y: Vec<f64> = x.chunks_exact(d).map(&f).collect();
    sobol_from_outputs(&y, opts.n, d, opts)
}

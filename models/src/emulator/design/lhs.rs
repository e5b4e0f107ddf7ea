//! Latin hypercube samples (McKay, Beckman & Conover 1979): in every margin, each of the
//! `n` strata `[i/n, (i+1)/n)` holds exactly one point. [`maximin_lhs`] spreads the
//! points by exchanging entries within columns (which keeps the Latin property) to
//! minimise the Morris & Mitchell (1995, JSPI 43, eq. 2) criterion
//!
//! $$ φ_p = \Big(\sum_{i<j} d_{ij}^{-p}\Big)^{1/p}, $$
//!
//! whose minimisers, as `p → ∞`, maximise the smallest inter-point distance and then
//! minimise the number of pairs at it. A swap of column `k` between rows `a` and `b`
//! changes only the `2(n − 2)` distances from `a` and `b`, so each trial costs `O(n)`
//! (the element exchange of Jin, Chen & Sudjianto 2005, accepted greedily).

use mechml_engine::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::{Design, check_size};

/// A random Latin hypercube of `n` points in `[0, 1]^d`: for each margin a random
/// permutation of the strata, and a uniform position inside each stratum.
///
/// ```
/// use mechml_models::emulator::design::lhs;
/// let d = lhs(10, 3, 1)?;
/// for k in 0..3 {
///     let mut strata: Vec<usize> = (0..10).map(|i| (d.point(i)[k] * 10.0) as usize).collect();
///     strata.sort();
///     assert_eq!(strata, (0..10).collect::<Vec<_>>());
/// }
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn lhs(n: usize, d: usize, seed: u64) -> Result<Design> {
    check_size("lhs", n, d)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let perms = permutations(n, d, &mut rng);
    let mut data = vec![0.0; n * d];
    for i in 0..n {
        for k in 0..d {
            let u: f64 = rng.random();
            data[i * d + k] = ((perms[k][i] as f64 + u) / n as f64).min(1.0);
        }
    }
    Design::new(n, d, data)
}

/// Options of [`maximin_lhs`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaximinOptions {
    /// Exponent `p` of `φ_p` (Morris & Mitchell recommend large values; 50 is usual).
    pub p: f64,
    /// Exchange trials (each `O(n d)`).
    pub iterations: usize,
    /// Centre each point in its strata (the usual maximin design); otherwise a uniform
    /// position inside the strata is drawn after the optimisation.
    pub centred: bool,
    /// Seed.
    pub seed: u64,
}

impl Default for MaximinOptions {
    /// `p = 50`, 20,000 exchange trials, centred, seed 0.
    fn default() -> Self {
        Self {
            p: 50.0,
            iterations: 20_000,
            centred: true,
            seed: 0,
        }
    }
}

/// Largest number of exchange trials × points accepted by [`maximin_lhs`] (a bound on the
/// work before it starts: ≈ seconds).
pub const MAX_MAXIMIN_WORK: usize = 2_000_000_000;

/// A maximin Latin hypercube: a random LHS improved by greedy element exchanges on `φ_p`
/// (see the module docs).
///
/// ```
/// use mechml_models::emulator::design::{MaximinOptions, lhs, maximin_lhs, min_distance};
/// let opts = MaximinOptions { iterations: 5_000, ..MaximinOptions::default() };
/// let better = maximin_lhs(30, 2, &opts)?;
/// let plain = lhs(30, 2, 0)?;
/// assert!(min_distance(&better) > min_distance(&plain));
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn maximin_lhs(n: usize, d: usize, opts: &MaximinOptions) -> Result<Design> {
    check_size("maximin_lhs", n, d)?;
    if !(opts.p.is_finite() && opts.p >= 1.0) {
        return Err(Error::invalid_option(
            "MaximinOptions",
            "p",
            opts.p,
            "finite and ≥ 1",
        ));
    }
    if opts.iterations.saturating_mul(n.max(1) * d) > MAX_MAXIMIN_WORK {
        return Err(Error::invalid_option(
            "MaximinOptions",
            "iterations",
            opts.iterations,
            format!("iterations × n × d ≤ {MAX_MAXIMIN_WORK}"),
        ));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
    let perms = permutations(n, d, &mut rng);
    // Coordinates in units of strata (centred), point-major.
    let mut x = vec![0.0; n * d];
    for i in 0..n {
        for k in 0..d {
            x[i * d + k] = perms[k][i] as f64 + 0.5;
        }
    }
    if n >= 3 {
        exchange(&mut x, n, d, opts, &mut rng);
    }
    let mut data = vec![0.0; n * d];
    for (v, &s) in data.iter_mut().zip(&x) {
        let pos = if opts.centred {
            s
        } else {
            s - 0.5 + rng.random::<f64>()
        };
        *v = (pos / n as f64).clamp(0.0, 1.0);
    }
    Design::new(n, d, data)
}

/// Greedy element exchange on `Σ d_ij^{-p}` (distances in strata units, where every pair
/// of a centred LHS is at least `√d` apart, so the terms stay ≤ 1 and never overflow).
fn exchange(
    x: &mut [f64],
    n: usize,
    d: usize,
    opts: &MaximinOptions,
    rng: &mut Xoshiro256PlusPlus,
) {
    let p = opts.p;
    let mut d2 = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..i {
            let s: f64 = (0..d).map(|k| (x[i * d + k] - x[j * d + k]).powi(2)).sum();
            d2[i * n + j] = s;
            d2[j * n + i] = s;
        }
    }
    let term = |s: f64| s.powf(-0.5 * p);
    let mut new_a = vec![0.0; n];
    let mut new_b = vec![0.0; n];
    for _ in 0..opts.iterations {
        let k = rng.random_range(0..d);
        let a = rng.random_range(0..n);
        let mut b = rng.random_range(0..n - 1);
        if b >= a {
            b += 1;
        }
        let (xa, xb) = (x[a * d + k], x[b * d + k]);
        let mut delta = 0.0;
        for j in 0..n {
            if j == a || j == b {
                continue;
            }
            let xj = x[j * d + k];
            let sa = d2[a * n + j] - (xa - xj).powi(2) + (xb - xj).powi(2);
            let sb = d2[b * n + j] - (xb - xj).powi(2) + (xa - xj).powi(2);
            new_a[j] = sa;
            new_b[j] = sb;
            delta += term(sa) + term(sb) - term(d2[a * n + j]) - term(d2[b * n + j]);
        }
        if delta < 0.0 {
            x[a * d + k] = xb;
            x[b * d + k] = xa;
            for j in 0..n {
                if j == a || j == b {
                    continue;
                }
                d2[a * n + j] = new_a[j];
                d2[j * n + a] = new_a[j];
                d2[b * n + j] = new_b[j];
                d2[j * n + b] = new_b[j];
            }
        }
    }
}

/// One random permutation of `0..n` per dimension (Fisher–Yates).
fn permutations(n: usize, d: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<Vec<usize>> {
    (0..d)
        .map(|_| {
            let mut p: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = rng.random_range(0..=i);
                p.swap(i, j);
            }
            p
        })
        .collect()
}

/// The smallest Euclidean distance between two points of a design (`∞` for fewer than
/// two points).
pub fn min_distance(design: &Design) -> f64 {
    let mut m = f64::INFINITY;
    for i in 0..design.n() {
        for j in 0..i {
            let s: f64 = design
                .point(i)
                .iter()
                .zip(design.point(j))
                .map(|(a, b)| (a - b).powi(2))
                .sum();
            m = m.min(s.sqrt());
        }
    }
    m
}

/// The Morris–Mitchell criterion `φ_p` of a design (smaller is better), computed relative
/// to the smallest distance so that it does not overflow.
pub fn phi_p(design: &Design, p: f64) -> f64 {
    let dmin = min_distance(design);
    if !dmin.is_finite() || dmin == 0.0 {
        return f64::INFINITY;
    }
    let mut s = 0.0;
    for i in 0..design.n() {
        for j in 0..i {
            let dij: f64 = design
                .point(i)
                .iter()
                .zip(design.point(j))
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            s += (dmin / dij).powf(p);
        }
    }
    s.powf(1.0 / p) / dmin
}

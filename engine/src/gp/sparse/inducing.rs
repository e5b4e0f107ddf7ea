//! Choosing inducing inputs.
//!
//! * [`greedy_variance`]: Burt, Rasmussen & van der Wilk (2020, JMLR 21, "Convergence of
//!   sparse variational inference in Gaussian processes regression", §4.1): repeatedly add
//!   the training input with the largest conditional variance `k(x, x) − Q(x, x)` given the
//!   points chosen so far — a pivoted incomplete Cholesky factorisation of `K_ff`, `O(N M²)`.
//!   The residual `tr(K_ff − Q)` it returns is the quantity that controls the VFE gap.
//! * [`kmeans`]: k-means++ seeding (Arthur & Vassilvitskii 2007, SODA, §2.2: each new centre
//!   drawn with probability proportional to the squared distance to the nearest chosen
//!   one), optionally refined by Lloyd iterations.

use rand::RngExt;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::{Kernel, kernel_matrix};

/// What [`greedy_variance`] chose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GreedySelection {
    /// The chosen inputs (`M × d`).
    pub z: Inputs,
    /// Their indices into the training inputs, in the order chosen.
    pub indices: Vec<usize>,
    /// `tr(K_ff − Q_ff)` after each addition.
    pub residual_trace: Vec<f64>,
}

/// Greedy conditional-variance selection of at most `m` of the inputs `x` under the
/// kernel at `θ`, stopping early when every conditional variance is below `tol` (Burt et
/// al. 2020, Alg. 2).
pub fn greedy_variance<K: Kernel>(
    kernel: &K,
    theta: &[f64],
    x: &Inputs,
    m: usize,
    tol: f64,
) -> Result<GreedySelection> {
    let n = x.n();
    if m == 0 || m > n {
        return Err(Error::invalid_option(
            "greedy_variance",
            "m",
            m,
            format!("between 1 and N = {n}"),
        ));
    }
    let mut dres = crate::gp::kernels::kernel_diag(kernel, theta, x)?;
    // Rows of the incomplete Cholesky factor: l[k][i] = L_{i,k}.
    let mut l: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut indices = Vec::with_capacity(m);
    let mut residual_trace = Vec::with_capacity(m);
    for _ in 0..m {
        let (piv, &dmax) = dres
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .expect("n ≥ 1");
        if dmax <= tol || dmax <= 0.0 {
            break;
        }
        let xp = x.select(&[piv])?;
        let col = kernel_matrix(kernel, theta, x, Some(&xp))?;
        let sd = dmax.sqrt();
        let mut e: Vec<f64> = (0..n).map(|i| col[(i, 0)]).collect();
        for row in &l {
            let lp = row[piv];
            for i in 0..n {
                e[i] -= row[i] * lp;
            }
        }
        for i in 0..n {
            e[i] /= sd;
            dres[i] = (dres[i] - e[i] * e[i]).max(0.0);
        }
        dres[piv] = 0.0;
        l.push(e);
        indices.push(piv);
        residual_trace.push(dres.iter().sum());
    }
    Ok(GreedySelection {
        z: x.select(&indices)?,
        indices,
        residual_trace,
    })
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum()
}

/// k-means++ centres for `x` (seeded), refined by up to `lloyd_iterations` Lloyd steps
/// (stopping early when no assignment changes). With `lloyd_iterations = 0` the centres are
/// data points.
pub fn kmeans(x: &Inputs, m: usize, lloyd_iterations: usize, seed: u64) -> Result<Inputs> {
    let (n, d) = (x.n(), x.d());
    if m == 0 || m > n {
        return Err(Error::invalid_option(
            "kmeans",
            "m",
            m,
            format!("between 1 and N = {n}"),
        ));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut centres: Vec<usize> = vec![rng.random_range(0..n)];
    let mut dmin: Vec<f64> = (0..n)
        .map(|i| sq_dist(x.point(i), x.point(centres[0])))
        .collect();
    while centres.len() < m {
        let total: f64 = dmin.iter().sum();
        let next = if total <= 0.0 {
            // All remaining points coincide with centres: take the first unused index.
            match (0..n).find(|i| !centres.contains(i)) {
                Some(i) => i,
                None => break,
            }
        } else {
            let mut u = rng.random::<f64>() * total;
            let mut pick = n - 1;
            for (i, &di) in dmin.iter().enumerate() {
                if u < di {
                    pick = i;
                    break;
                }
                u -= di;
            }
            pick
        };
        centres.push(next);
        for i in 0..n {
            dmin[i] = dmin[i].min(sq_dist(x.point(i), x.point(next)));
        }
    }
    let mut c: Vec<f64> = centres.iter().flat_map(|&i| x.point(i).to_vec()).collect();
    let mut assign = vec![usize::MAX; n];
    for _ in 0..lloyd_iterations {
        let mut changed = false;
        for i in 0..n {
            let best = (0..m)
                .min_by(|&a, &b| {
                    sq_dist(x.point(i), &c[a * d..(a + 1) * d])
                        .total_cmp(&sq_dist(x.point(i), &c[b * d..(b + 1) * d]))
                })
                .expect("m ≥ 1");
            if assign[i] != best {
                assign[i] = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![0.0; m * d];
        let mut counts = vec![0usize; m];
        for i in 0..n {
            counts[assign[i]] += 1;
            for k in 0..d {
                sums[assign[i] * d + k] += x.point(i)[k];
            }
        }
        for a in 0..m {
            if counts[a] > 0 {
                for k in 0..d {
                    c[a * d + k] = sums[a * d + k] / counts[a] as f64;
                }
            }
        }
    }
    Inputs::new(m, d, c)
}

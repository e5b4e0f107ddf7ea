//! The Laplace approximation at the mode: `p(z | y) ≈ N(ẑ, Σ)` with `ẑ` the maximiser of
//! `ln p` (found by L-BFGS on `−ln p`) and `Σ = (−∇² ln p(ẑ))⁻¹` from the exact Hessian
//! of the tape (Tierney & Kadane 1986, JASA 81(393); Gelman et al. 2013, *Bayesian Data
//! Analysis*, 3rd ed., §4.1, eq. 4.2). It is exact for a Gaussian posterior. On the
//! unconstrained scale of a [`Model`](super::Model) the log density includes the
//! log-Jacobian, so the approximation is of the unconstrained posterior.

use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::density::LogDensity;
use crate::error::{Error, Result};
use crate::optim::{LbfgsOptions, Termination, lbfgs};

/// How the Hessian at the mode is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HessianMethod {
    /// [`LogDensity::hessian`] (exact, forward-over-reverse on the tape).
    Exact,
    /// Central differences of the exact gradient with relative step `step`:
    /// `H e_j ≈ (∇(ẑ + h e_j) − ∇(ẑ − h e_j)) / 2h`, `h = step (1 + |ẑ_j|)`.
    CentralDifferences {
        /// Relative step (e.g. 1e-5).
        step: f64,
    },
}

/// Options of [`laplace`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaplaceOptions {
    /// Optimiser options (tolerances on `−ln p`).
    pub lbfgs: LbfgsOptions,
    /// Hessian source.
    pub hessian: HessianMethod,
}

impl Default for LaplaceOptions {
    /// L-BFGS with `grad_tol = 1e-6` and `f_tol = 1e-14` (a relative decrease at the limit of rounding), the exact Hessian.
    fn default() -> Self {
        Self {
            lbfgs: LbfgsOptions {
                grad_tol: 1e-6,
                f_tol: 1e-14,
                record_params: false,
                ..LbfgsOptions::default()
            },
            hessian: HessianMethod::Exact,
        }
    }
}

/// The Gaussian approximation `N(mode, covariance)` on the density's scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Laplace {
    /// Names of the coordinates (those of [`LogDensity::param_names`] when they match the
    /// dimension, else `z[i]`).
    pub names: Vec<String>,
    /// The mode `ẑ`.
    pub mode: Vec<f64>,
    /// `ln p(ẑ)`.
    pub log_density: f64,
    /// `Σ = (−∇² ln p(ẑ))⁻¹`, row-major.
    pub covariance: Vec<f64>,
    /// `√Σ_ii`.
    pub std_errors: Vec<f64>,
    /// Why the optimiser stopped.
    pub termination: Termination,
    /// L-BFGS iterations.
    pub iterations: usize,
}

/// Symmetric (−H) → (Σ, smallest eigenvalue check); error names the smallest eigenvalue
/// and the coordinate its eigenvector loads on most.
pub(crate) fn invert_negative_hessian(
    op: &'static str,
    h: &Mat<f64>,
    names: &[String],
) -> Result<Mat<f64>> {
    let n = h.nrows();
    let neg = Mat::from_fn(n, n, |i, j| -h[(i, j)]);
    if let Some((i, j)) = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .find(|&(i, j)| !neg[(i, j)].is_finite())
    {
        return Err(Error::NonFinite {
            op,
            index: i * n + j,
            value: h[(i, j)],
            context: format!("Hessian entry ({i}, {j}) at the mode"),
        });
    }
    match neg.llt(Side::Lower) {
        Ok(llt) => Ok(llt.inverse()),
        Err(_) => {
            let eig = neg
                .self_adjoint_eigen(Side::Lower)
                .map_err(|_| Error::NoConvergence {
                    op,
                    iterations: 0,
                    detail: "eigen-decomposition of the negative Hessian failed".into(),
                })?;
            let lambda = eig.S().column_vector()[0];
            let u = eig.U().col(0);
            let k = (0..n)
                .max_by(|&a, &b| u[a].abs().total_cmp(&u[b].abs()))
                .unwrap_or(0);
            Err(Error::InvalidArgument {
                op,
                message: format!(
                    "the negative Hessian at the mode is not positive definite: its smallest \
                     eigenvalue is {lambda:e}, with eigenvector mostly along `{}`; the mode \
                     is on a ridge, a saddle or a boundary, so the approximation does not \
                     exist — use profile likelihood or NUTS",
                    names.get(k).map_or("?", |s| s.as_str())
                ),
            })
        }
    }
}

/// The Hessian by central differences of the gradient (symmetrised).
pub(crate) fn fd_hessian<D: LogDensity>(density: &mut D, x: &[f64], step: f64) -> Result<Mat<f64>> {
    let n = x.len();
    let mut xp = x.to_vec();
    super::density::hessian_by_columns(n, |j| {
        let h = step * (1.0 + x[j].abs());
        xp[j] = x[j] + h;
        let (_, gp) = density.value_and_grad(&xp)?;
        xp[j] = x[j] - h;
        let (_, gm) = density.value_and_grad(&xp)?;
        xp[j] = x[j];
        Ok(gp
            .iter()
            .zip(&gm)
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect())
    })
}

/// Names of the coordinates: the density's when they match its dimension.
pub(crate) fn coordinate_names<D: LogDensity>(density: &D) -> Vec<String> {
    let names = density.param_names();
    if names.len() == density.dim() {
        names
    } else {
        (0..density.dim()).map(|i| format!("z[{i}]")).collect()
    }
}

/// The Hessian at `x` by the chosen method.
pub(crate) fn hessian_at<D: LogDensity>(
    density: &mut D,
    x: &[f64],
    method: HessianMethod,
) -> Result<Mat<f64>> {
    match method {
        HessianMethod::Exact => density.hessian(x),
        HessianMethod::CentralDifferences { step } => {
            if !(step.is_finite() && step > 0.0) {
                return Err(Error::invalid_option(
                    "LaplaceOptions",
                    "hessian.step",
                    step,
                    "finite and > 0",
                ));
            }
            fd_hessian(density, x, step)
        }
    }
}

/// The Laplace approximation of `density` from the starting point `x0`.
///
/// # Errors
/// The optimiser's errors, a non-converged optimisation ([`Error::NoConvergence`]), a
/// density without the requested Hessian, or a negative Hessian that is not positive
/// definite (naming its smallest eigenvalue).
///
/// ```
/// use mechml_engine::ad::Real;
/// use mechml_engine::infer::{LaplaceOptions, RealLogDensity, TapeDensity, laplace};
/// # use mechml_engine::Result;
/// #[derive(Clone)]
/// struct G; // N((1, 2), diag(4, 0.25))
/// impl RealLogDensity for G {
///     fn dim(&self) -> usize { 2 }
///     fn log_density<R: Real>(&self, x: &[R]) -> Result<R> {
///         Ok(-((x[0] - 1.0).square() / 8.0) - (x[1] - 2.0).square() * 2.0)
///     }
/// }
/// let lap = laplace(&mut TapeDensity::new(G), &[0.0, 0.0], &LaplaceOptions::default())?;
/// assert!((lap.mode[0] - 1.0).abs() < 1e-7 && (lap.covariance[0] - 4.0).abs() < 1e-10);
/// assert!((lap.std_errors[1] - 0.5).abs() < 1e-10);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn laplace<D: LogDensity>(
    density: &mut D,
    x0: &[f64],
    opts: &LaplaceOptions,
) -> Result<Laplace> {
    crate::error::check_len("laplace", "x0", x0.len(), density.dim())?;
    let res = lbfgs(
        |x: &[f64]| {
            let (v, g) = density.value_and_grad(x)?;
            Ok((-v, g.into_iter().map(|gi| -gi).collect()))
        },
        x0,
        &opts.lbfgs,
    )?;
    let iterations = res.iterations;
    let res = res.into_converged()?;
    let names = coordinate_names(density);
    let h = hessian_at(density, &res.x, opts.hessian)?;
    let cov = invert_negative_hessian("laplace", &h, &names)?;
    let n = res.x.len();
    let covariance: Vec<f64> = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| cov[(i, j)])
        .collect();
    let std_errors = (0..n).map(|i| cov[(i, i)].sqrt()).collect();
    Ok(Laplace {
        names,
        mode: res.x,
        log_density: -res.value,
        covariance,
        std_errors,
        termination: res.termination,
        iterations,
    })
}

impl Laplace {
    /// `n` draws from `N(mode, Σ)` (xoshiro256++ from `seed`), each a vector on the
    /// density's scale (map them with [`LogDensity::constrain`] to the natural scale).
    pub fn sample(&self, n: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
        let d = self.mode.len();
        let cov = Mat::from_fn(d, d, |i, j| self.covariance[i * d + j]);
        let llt = cov
            .llt(Side::Lower)
            .map_err(|_| Error::NotPositiveDefinite {
                op: "Laplace::sample",
                pivot: 0,
                value: f64::NAN,
            })?;
        let l = llt.L();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        Ok((0..n)
            .map(|_| {
                let z: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
                (0..d)
                    .map(|i| self.mode[i] + (0..=i).map(|k| l[(i, k)] * z[k]).sum::<f64>())
                    .collect()
            })
            .collect())
    }
}

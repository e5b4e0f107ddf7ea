//! The maximum-likelihood driver shared by the GP models: L-BFGS over the free
//! parameters on the unconstrained scale ([`crate::param`]), with the parameters of
//! [`FitOptions::fixed`] held at their values (by name or group), several seeded starts,
//! and optionally the observed information at the optimum.
//!
//! The observed information is `H = −∇²_z ℓ(θ(z))` over the free unconstrained
//! parameters at the optimum, by central differences of the analytic gradient (step
//! `10⁻⁴` on the unconstrained scale: truncation `O(h²)`, rounding `O(ε/h)` relative);
//! the standard errors are `√diag(H⁻¹)` (Laplace approximation, MacKay 2003, ch. 27)
//! when `H` is positive definite.

use faer::Par;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::error::Result;
use crate::gp::exact::DenseMatrix;
use crate::linalg::Llt;
use crate::optim::{FitOptions, OptimResult, lbfgs};
use crate::param::ParamLayout;

/// Step of the central differences of the gradient.
const HESSIAN_STEP: f64 = 1e-4;

/// What [`maximise`] found.
pub(crate) struct Fitted {
    /// The best start's optimiser result (over the free unconstrained parameters).
    pub optim: OptimResult,
    /// The full `θ` (natural scale) at the optimum.
    pub theta: Vec<f64>,
    /// Names of the free parameters (the entries of `optim.x`).
    pub free_names: Vec<String>,
    /// The observed information over `optim.x`, if asked for.
    pub hessian: Option<DenseMatrix>,
    /// `√diag(H⁻¹)` when `H` is positive definite.
    pub std_errors: Option<Vec<f64>>,
}

/// Maximises `objective(θ) = (value, ∂value/∂θ)` (natural scale, full `θ`) over the free
/// parameters of `layout` after fixing `opts.fixed`, from `opts.n_starts` starts (the
/// layout's values, then seeded perturbations of them on the unconstrained scale); keeps
/// the best. An error of the first start is returned when every start fails.
pub(crate) fn maximise<F>(layout: &ParamLayout, opts: &FitOptions, objective: F) -> Result<Fitted>
where
    F: Fn(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    opts.validate()?;
    let mut layout = layout.clone();
    layout.fix_all(&opts.fixed)?;
    let z0 = layout.free_unconstrained()?;
    let neg = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
        let theta = layout.natural(z)?;
        let (v, g) = objective(&theta)?;
        let gz = layout.chain_gradient(z, &g)?;
        Ok((-v, gz.iter().map(|g| -g).collect()))
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
    let mut best: Option<OptimResult> = None;
    let mut first_err = None;
    for start in 0..opts.n_starts {
        let zs: Vec<f64> = if start == 0 {
            z0.clone()
        } else {
            z0.iter()
                .map(|z| {
                    let e: f64 = StandardNormal.sample(&mut rng);
                    z + opts.start_spread * e
                })
                .collect()
        };
        match lbfgs(&neg, &zs, &opts.lbfgs) {
            Ok(r) => {
                if best.as_ref().is_none_or(|b| r.value < b.value) {
                    best = Some(r);
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let optim = match (best, first_err) {
        (Some(b), _) => b,
        (None, Some(e)) => return Err(e),
        (None, None) => unreachable!("n_starts ≥ 1 was validated"),
    };
    let theta = layout.natural(&optim.x)?;
    let (hessian, std_errors) = if opts.hessian {
        let h = observed_information(&neg, &optim.x)?;
        let se = standard_errors(&h);
        (Some(h), se)
    } else {
        (None, None)
    };
    Ok(Fitted {
        theta,
        free_names: layout.free_names().iter().map(|s| s.to_string()).collect(),
        optim,
        hessian,
        std_errors,
    })
}

/// `H = ∇² f(z)` of the minimised `f` (i.e. `−∇² ℓ`), symmetrised, by central differences
/// of its gradient.
fn observed_information<F>(neg: &F, z: &[f64]) -> Result<DenseMatrix>
where
    F: Fn(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    let n = z.len();
    let mut h = vec![0.0; n * n];
    let mut zp = z.to_vec();
    for j in 0..n {
        zp[j] = z[j] + HESSIAN_STEP;
        let (_, gp) = neg(&zp)?;
        zp[j] = z[j] - HESSIAN_STEP;
        let (_, gm) = neg(&zp)?;
        zp[j] = z[j];
        for i in 0..n {
            h[i + j * n] = (gp[i] - gm[i]) / (2.0 * HESSIAN_STEP);
        }
    }
    let values = (0..n * n)
        .map(|t| {
            let (i, j) = (t % n, t / n);
            0.5 * (h[i + j * n] + h[j + i * n])
        })
        .collect();
    Ok(DenseMatrix {
        rows: n,
        cols: n,
        values,
    })
}

/// `√diag(H⁻¹)` when `H` is positive definite.
fn standard_errors(h: &DenseMatrix) -> Option<Vec<f64>> {
    let m = h.to_faer();
    let llt = Llt::factor(m.as_ref(), Par::Seq).ok()?;
    let inv = llt.inverse(Par::Seq);
    Some((0..h.rows).map(|i| inv[(i, i)].max(0.0).sqrt()).collect())
}

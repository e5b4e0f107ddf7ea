//! The multi-start maximum-likelihood driver [`fit_mle`] and the standard errors from
//! the observed information.

use mechml_engine::optim::{FitOptions, OptimResult, lbfgs};
use mechml_engine::param::ParamLayout;
use mechml_engine::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::likelihood::{loglik_at, neg_loglik_grad, observed_information};
use super::problem::{ParametricSsm, check_layout};
use super::result::{FitProgress, MleFit, StartReport, TraceRow, Z95};

const OP: &str = "fit_mle";

/// Runs L-BFGS from one start.
fn run_start<M: ParametricSsm>(
    model: &M,
    layout: &ParamLayout,
    z0: &[f64],
    opts: &FitOptions,
    n_obs: usize,
) -> Result<OptimResult> {
    let mut tape = mechml_engine::ad::Tape::with_capacity(1 << 12);
    let scale = 1.0 / n_obs.max(1) as f64;
    let objective = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
        match neg_loglik_grad(model, layout, &mut tape, z) {
            Ok((v, g)) if v.is_finite() && g.iter().all(|x| x.is_finite()) => {
                Ok((v * scale, g.iter().map(|x| x * scale).collect()))
            }
            // Outside the model's domain (e.g. a non-positive-definite innovation at an
            // extreme trial point): a large value sends the line search back.
            _ => Ok((1e30, vec![0.0; z.len()])),
        }
    };
    let res = lbfgs(objective, z0, &opts.lbfgs)?;
    if res.value >= 1e29 {
        let start = layout
            .natural(z0)
            .map_or_else(|e| e.to_string(), |t| format!("{t:?}"));
        return Err(Error::invalid_option(
            OP,
            "start",
            start,
            "a point where the log-likelihood can be evaluated (inside the model's domain)",
        ));
    }
    Ok(res)
}

/// Fits by maximum likelihood (see the [module docs](super)): `params` lists the family's
/// parameters in order with their transforms and starting (or held) values; `opts` adds
/// the parameters held by name ([`FitOptions::fixed`]), the starts and the optimiser's
/// settings ([`default_fit_options`](super::default_fit_options) gives the state-space
/// defaults). `progress` is called as starts finish (from worker threads).
pub fn fit_mle<M: ParametricSsm>(
    model: &M,
    params: &ParamLayout,
    opts: &FitOptions,
    progress: &(dyn Fn(FitProgress) + Sync),
) -> Result<MleFit> {
    let names = model.param_names();
    check_layout(OP, &names, params)?;
    opts.validate()?;
    let mut layout = params.clone();
    layout.fix_all(&opts.fixed)?;
    let n_obs = model.observations().n_observed();
    if n_obs == 0 {
        return Err(Error::invalid_option(
            OP,
            "observations",
            "every value missing",
            "at least one observed value",
        ));
    }
    let z0 = layout.free_unconstrained()?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
    let starts: Vec<Vec<f64>> = (0..opts.n_starts)
        .map(|s| {
            if s == 0 {
                z0.clone()
            } else {
                z0.iter()
                    .map(|&z| z + opts.start_spread * rng.sample::<f64, _>(StandardNormal))
                    .collect()
            }
        })
        .collect();
    let results: Vec<Result<OptimResult>> = starts
        .par_iter()
        .enumerate()
        .map(|(i, z)| {
            let r = run_start(model, &layout, z, opts, n_obs);
            progress(FitProgress::StartDone {
                index: i,
                loglik: r.as_ref().ok().map(|r| -r.value * n_obs as f64),
            });
            r
        })
        .collect();
    let mut reports = Vec::with_capacity(results.len());
    let mut best: Option<(usize, f64)> = None;
    for (i, (z, r)) in starts.iter().zip(&results).enumerate() {
        let start = layout.natural(z)?;
        match r {
            Ok(res) => {
                let ll = -res.value * n_obs as f64;
                reports.push(StartReport {
                    index: i,
                    start,
                    loglik: Some(ll),
                    iterations: res.iterations,
                    evaluations: res.evaluations,
                    converged: res.converged(),
                    termination: format!("{:?}", res.termination),
                });
                if best.is_none_or(|(_, b)| ll > b) {
                    best = Some((i, ll));
                }
            }
            Err(e) => reports.push(StartReport {
                index: i,
                start,
                loglik: None,
                iterations: 0,
                evaluations: 0,
                converged: false,
                termination: e.to_string(),
            }),
        }
    }
    let Some((bi, _)) = best else {
        let first = reports
            .first()
            .map(|r| r.termination.clone())
            .unwrap_or_default();
        return Err(Error::NoConvergence {
            op: OP,
            iterations: 0,
            detail: format!("every start failed; the first: {first}"),
        });
    };
    let res = results[bi].as_ref().map_err(Clone::clone)?;
    let z_hat = res.x.clone();
    let estimate = layout.natural(&z_hat)?;
    // Re-evaluate the log-likelihood exactly at the optimum.
    let loglik = loglik_at(model, &estimate)?;
    let k = layout.n_free();
    let trace = res
        .trace
        .iter()
        .map(|e| {
            Ok(TraceRow {
                iteration: e.iteration,
                evaluations: e.evaluations,
                loglik: -e.value * n_obs as f64,
                grad_norm: e.grad_norm,
                params: if e.params.is_empty() {
                    Vec::new()
                } else {
                    layout.natural(&e.params)?
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let n = layout.len();
    let mut fit = MleFit {
        names,
        estimate,
        free: layout.params().iter().map(|p| !p.fixed).collect(),
        layout,
        loglik,
        n_obs,
        n_free: k,
        aic: 2.0 * k as f64 - 2.0 * loglik,
        bic: k as f64 * (n_obs as f64).ln() - 2.0 * loglik,
        se: vec![None; n],
        ci_low: vec![None; n],
        ci_high: vec![None; n],
        z_hat,
        cov_z: None,
        information_eigen_range: None,
        converged: res.converged(),
        starts: reports,
        best_start: bi,
        trace,
    };
    if opts.hessian && k > 0 {
        progress(FitProgress::Hessian);
        let info = observed_information(model, &fit.layout, &fit.z_hat, model.kalman_gradient())?;
        attach_covariance(&mut fit, &info);
    }
    Ok(fit)
}

/// Inverts the observed information (if positive definite) and fills the standard errors
/// and intervals: se(θᵢ) = |T'(ẑᵢ)| sd(zᵢ) and the interval T(ẑᵢ ± 1.96 sd(zᵢ)).
fn attach_covariance(fit: &mut MleFit, info: &[f64]) {
    let k = fit.n_free;
    let m = faer::Mat::<f64>::from_fn(k, k, |i, j| info[i + j * k]);
    if let Ok(ev) = m.self_adjoint_eigenvalues(faer::Side::Lower) {
        let lo = ev.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = ev.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        fit.information_eigen_range = Some((lo, hi));
        if lo.is_nan() || lo <= 1e-12 * hi.abs().max(1e-300) {
            return;
        }
    } else {
        return;
    }
    let mut l = info.to_vec();
    if crate::ssm::dense::cholesky_in_place(&mut l, k, "observed information").is_err() {
        return;
    }
    let mut cov = vec![0.0; k * k];
    crate::ssm::dense::chol_inverse_into(&l, k, &mut cov);
    for (a, &i) in fit.layout.free_indices().iter().enumerate() {
        let sz = cov[a + a * k].sqrt();
        let z = fit.z_hat[a];
        let t = fit.layout.params()[i].transform;
        let (lo, hi) = (t.to_natural(z - Z95 * sz), t.to_natural(z + Z95 * sz));
        fit.se[i] = Some(t.derivative(z).abs() * sz);
        fit.ci_low[i] = Some(lo.min(hi));
        fit.ci_high[i] = Some(lo.max(hi));
    }
    fit.cov_z = Some(cov);
}

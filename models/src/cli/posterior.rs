//! The Bayesian stage of the pipeline: NUTS over the Kalman likelihood of a fitted
//! model with the configured priors (`[bayes]`), ECS and TCR from every draw, and the
//! draws used for projections.

use std::time::Instant;

use mechml_engine::infer::diagnostics::SummaryRow;
use mechml_engine::infer::{NutsOptions, Prior};

use super::config::Resolved;
use super::error::{CliError, CliResult};
use super::results::BayesResult;
use crate::ssm::ebm::bayes::{EbmDensity, PriorSet, default_prior, sample_posterior};
use crate::ssm::ebm::{EbmFamily, sensitivity};
use crate::ssm::fit::MleFit;

/// A sampled posterior: the report's summary and every draw as a full natural-scale
/// parameter vector (chains one after the other).
pub struct PosteriorFit {
    /// What the report shows.
    pub result: BayesResult,
    /// Every draw (full parameter vectors).
    pub thetas: Vec<Vec<f64>>,
}

fn quantiles(v: &[f64]) -> [f64; 3] {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| crate::ssm::ebm::quantiles::percentile(&s, p);
    [q(0.025), q(0.5), q(0.975)]
}

/// Samples the posterior of `family` with the priors of `set` (the configured
/// `bayes.priors` replace the defaults of the central set), starting every chain at the
/// fit's optimum (coordinates at a bound at their starting values).
pub fn sample(
    res: &Resolved,
    family: &EbmFamily,
    fit: &MleFit,
    set: PriorSet,
    seed: u64,
) -> CliResult<PosteriorFit> {
    let b = &res.config.bayes;
    let ebm = family.ebm;
    let free = fit.layout.free_indices();
    let mut priors = Vec::with_capacity(free.len());
    let mut named = Vec::with_capacity(free.len());
    for &i in &free {
        let name = &fit.layout.params()[i].name;
        let p: Prior = match (set, b.priors.get(name)) {
            (PriorSet::Cmip5, Some(p)) => *p,
            _ => default_prior(&ebm, name, set)?,
        };
        priors.push(p);
        named.push((name.clone(), p));
    }
    let density = EbmDensity::posterior(family.clone(), fit.layout.clone(), priors)?;
    let starts = fit.layout.free_unconstrained()?;
    let init: Vec<f64> = fit
        .z_hat
        .iter()
        .zip(&starts)
        .map(|(&z, &s)| if (z - s).abs() > 5.0 { s } else { z })
        .collect();
    let opts = NutsOptions {
        n_chains: b.chains,
        n_warmup: b.warmup,
        n_draws: b.draws,
        seed,
        parallel: true,
        ..NutsOptions::default()
    };
    let t0 = Instant::now();
    let post = sample_posterior(&density, &init, &opts)?;
    let time_s = t0.elapsed().as_secs_f64();
    let f2x = res.config.model.f2x;
    let mut thetas = Vec::with_capacity(post.n_draws() * post.chains.len());
    let mut ecs_chains = Vec::with_capacity(post.chains.len());
    let mut tcr_chains = Vec::with_capacity(post.chains.len());
    let n = post.n_params().max(1);
    for c in &post.chains {
        let mut ecs = Vec::with_capacity(c.draws.len() / n);
        let mut tcr = Vec::with_capacity(c.draws.len() / n);
        for row in c.draws.chunks(n) {
            let theta = density.theta_from_free(row)?;
            let p = ebm.params_from_slice(&theta)?;
            ecs.push(sensitivity::ecs(&p, f2x));
            tcr.push(sensitivity::tcr(&ebm, &p, f2x)?);
            thetas.push(theta);
        }
        ecs_chains.push(ecs);
        tcr_chains.push(tcr);
    }
    let slices = |v: &[Vec<f64>]| -> Vec<Vec<f64>> { v.to_vec() };
    let mut summary = post.summary.rows.clone();
    for (name, ch) in [("ECS", slices(&ecs_chains)), ("TCR", slices(&tcr_chains))] {
        let refs: Vec<&[f64]> = ch.iter().map(Vec::as_slice).collect();
        summary.push(SummaryRow::new(name, &refs)?);
    }
    let all = |v: &[Vec<f64>]| v.iter().flatten().copied().collect::<Vec<f64>>();
    let ecs = quantiles(&all(&ecs_chains));
    let tcr = quantiles(&all(&tcr_chains));
    if !(ecs.iter().chain(&tcr).all(|v| v.is_finite())) {
        return Err(CliError::Runtime(
            "the posterior draws gave a non-finite ECS or TCR".into(),
        ));
    }
    let max_rhat = summary.iter().filter_map(|r| r.rhat).reduce(f64::max);
    let min_ess_bulk = summary.iter().filter_map(|r| r.ess_bulk).reduce(f64::min);
    Ok(PosteriorFit {
        result: BayesResult {
            prior_set: match set {
                PriorSet::Cmip5 => "cmip5".into(),
                PriorSet::Wide => "wide".into(),
            },
            priors: named,
            chains: b.chains,
            warmup: b.warmup,
            draws: b.draws,
            summary,
            ecs,
            tcr,
            divergences: post.diagnostics.divergences,
            max_rhat,
            min_ess_bulk,
            warnings: post.diagnostics.warnings.clone(),
            gradient_evaluations: post.chains.iter().map(|c| c.n_grad_evals).sum(),
            time_s,
        },
        thetas,
    })
}

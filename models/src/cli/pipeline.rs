//! The flagship pipeline: fit k-box EBMs to a temperature record driven by forcing,
//! compare them, derive ECS and TCR, project under scenarios, and check the method on a
//! synthetic case with known truth.

use std::time::Instant;

use super::config::Resolved;
use super::error::{CliError, CliResult};
use super::honest;
use super::posterior::{self, PosteriorFit};
use super::progress::Progress;
use super::results::*;
use crate::ssm::ebm::bayes::{EbmDensity, PriorSet, profile_intervals};
use crate::ssm::ebm::projection::{
    ProjectionSettings, TemperatureBand, parameter_draws, project_ensemble, top_box_band,
};
use crate::ssm::ebm::recovery::{RecoveryStudy, recovery_study_with_progress};
use crate::ssm::ebm::{EbmData, EbmFamily, Ecs, KBoxEbm, Tcr, sensitivity};
use crate::ssm::fit::{
    FitOptions, FitProgress, MleFit, ParamLayout, ParametricSsm, default_fit_options, delta_method,
    fit_mle,
};
use crate::ssm::kalman::{kalman_filter, predictive_moments};
use crate::ssm::smoother::rts_smoother;

/// Settings from the command line.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// Seed.
    pub seed: u64,
    /// The command line, for the report.
    pub command: String,
}

/// A fitted model with what the later stages need.
struct Fitted {
    ebm: KBoxEbm,
    family: EbmFamily,
    params: ParamLayout,
    fit: MleFit,
    result: ModelResult,
    warnings: Vec<RunWarning>,
    posterior: Option<PosteriorFit>,
}

impl From<TemperatureBand> for Band {
    fn from(b: TemperatureBand) -> Self {
        Band {
            years: b.years,
            mean: b.mean,
            lo: b.lo,
            hi: b.hi,
        }
    }
}

fn fit_model(
    res: &Resolved,
    data: &EbmData,
    boxes: usize,
    seed: u64,
    progress: &Progress,
) -> CliResult<Fitted> {
    let m = &res.config.model;
    let ebm = KBoxEbm::new(boxes, m.stochastic_forcing, false)?;
    let family = EbmFamily {
        ebm,
        data: data.clone(),
        prior: res.prior(),
    };
    let params = res.params(&ebm)?;
    let opts = res.fit_options(seed.wrapping_add(boxes as u64));
    let bar = progress.bar(
        opts.n_starts as u64 + 1,
        &format!("fitting {boxes}-box model"),
    );
    let t0 = Instant::now();
    let hessian_start = std::sync::Mutex::new(None::<Instant>);
    let fit = fit_mle(&family, &params, &opts, &|p| {
        bar.inc(1);
        if p == FitProgress::Hessian
            && let Ok(mut h) = hessian_start.lock()
        {
            *h = Some(Instant::now());
        }
    })?;
    bar.finish_and_clear();
    let total = t0.elapsed().as_secs_f64();
    let hess = hessian_start
        .lock()
        .ok()
        .and_then(|h| *h)
        .map_or(0.0, |h| h.elapsed().as_secs_f64());
    let f2x = Some(m.f2x);
    let ecs = delta_method(&fit, &Ecs { ebm, f2x })?;
    let tcr = delta_method(&fit, &Tcr { ebm, f2x })?;
    let p = ebm.params_from_slice(&fit.estimate)?;
    let timescales = sensitivity::timescales(&ebm, &p)?;
    // Filter and smoother at the estimate, over the observed span.
    let model = family.build(&fit.estimate)?;
    let filt = kalman_filter(&model, &data.obs)?;
    let sm = rts_smoother(&model, &filt)?;
    let offset = p.offset;
    let years: Vec<f64> = (0..data.obs.n_steps)
        .map(|t| res.start + t as f64)
        .collect();
    let first_obs = data.obs.y.iter().position(|v| !v.is_nan()).unwrap_or(0);
    let filtered = top_box_band(&ebm, &years, &filt.filt_mean, &filt.filt_cov, offset)
        .from_step(first_obs)
        .into();
    let smoothed = top_box_band(&ebm, &years, &sm.mean, &sm.cov, offset)
        .from_step(first_obs)
        .into();
    let (pm, pv) = predictive_moments(&model, &filt);
    let z: Vec<f64> = (0..data.obs.n_steps)
        .filter(|&t| !data.obs.y[t].is_nan())
        .map(|t| (data.obs.y[t] - pm[t]) / pv[t].sqrt())
        .collect();
    let zm = z.iter().sum::<f64>() / z.len().max(1) as f64;
    let zsd =
        (z.iter().map(|v| (v - zm) * (v - zm)).sum::<f64>() / (z.len().max(2) - 1) as f64).sqrt();
    let name = format!("{boxes}-box");
    let identifiability = honest::identifiability(&family, &fit);
    let mut warnings = honest::information_warnings(&name, &fit, &identifiability);
    let profile = if res.config.fit.profile && fit.n_free > 0 {
        let bar = progress.bar(1, &format!("profile likelihood, {boxes}-box model"));
        let density = EbmDensity::likelihood(family.clone(), fit.layout.clone());
        let p = profile_intervals(&density, &fit.z_hat, 20.0);
        bar.finish_and_clear();
        match p {
            Ok(p) => Some(p),
            Err(e) => {
                warnings.push(honest::warn(
                    "profile_failed",
                    &name,
                    format!("the profile likelihood could not be computed ({e}); Wald intervals are shown where they exist"),
                ));
                None
            }
        }
    } else {
        None
    };
    let mut param_results = Vec::with_capacity(fit.names.len());
    for (i, pname) in fit.names.iter().enumerate() {
        let wald = match (fit.ci_low[i], fit.ci_high[i]) {
            (Some(a), Some(b)) => Some([a, b]),
            _ => None,
        };
        let prof = if fit.free[i] {
            profile
                .as_ref()
                .and_then(|p| honest::profile_interval(p, pname))
        } else {
            None
        };
        if let Some(pi) = &prof
            && let Some(w) =
                honest::compare_with_profile(&name, pname, wald.map(|c| (c[0], c[1])), pi)
        {
            warnings.push(w);
        }
        let interval = prof
            .clone()
            .or_else(|| wald.and_then(|c| Interval::closed("wald", c[0], c[1])));
        param_results.push(ParamResult {
            name: pname.clone(),
            estimate: fit.estimate[i],
            free: fit.free[i],
            se: fit.se[i],
            ci: wald,
            profile: prof,
            interval,
        });
    }
    let ecs_profile = profile
        .as_ref()
        .and_then(|p| honest::ecs_from_kappa1(p, m.f2x));
    if let Some(pi) = &ecs_profile
        && let Some(w) = honest::compare_with_profile(&name, "ECS", ecs.ci, pi)
    {
        // The κ₁ warning already says it when the sides are open.
        if w.code == "wald_unreliable" {
            warnings.push(w);
        }
    }
    let ecs_interval =
        ecs_profile.or_else(|| ecs.ci.and_then(|c| Interval::closed("wald", c.0, c.1)));
    let trusted_wald = !warnings.iter().any(|w| {
        matches!(
            w.code.as_str(),
            "singular_information" | "near_singular_information" | "estimate_at_bound"
        )
    });
    let tcr_interval = tcr
        .ci
        .filter(|_| trusted_wald)
        .and_then(|c| Interval::closed("wald", c.0, c.1));
    let result = ModelResult {
        name,
        boxes,
        params: param_results,
        loglik: fit.loglik,
        n_free: fit.n_free,
        aic: fit.aic,
        bic: fit.bic,
        ecs,
        tcr,
        ecs_interval,
        tcr_interval,
        identifiability,
        bayes: None,
        timescales,
        solver: SolverStats {
            starts: fit.starts.clone(),
            best_start: fit.best_start,
            converged: fit.converged,
            fit_time_s: total - hess,
            hessian_time_s: hess,
            information_eigen_range: fit.information_eigen_range,
        },
        trace: fit.trace.clone(),
        filtered,
        smoothed,
        innovation_mean_sd: [zm, zsd],
    };
    Ok(Fitted {
        ebm,
        family,
        params,
        fit,
        result,
        warnings,
        posterior: None,
    })
}

/// Stores a posterior in a fitted model: the report's summary, the TCR interval from the
/// posterior, and the sampler's warnings.
fn attach_posterior(f: &mut Fitted, p: PosteriorFit) {
    let b = &p.result;
    let name = f.result.name.clone();
    if b.divergences > 0 || b.max_rhat.is_none_or(|r| r > 1.01) || !b.warnings.is_empty() {
        let mut what = b.warnings.clone();
        if b.max_rhat.is_some_and(|r| r > 1.01) && what.is_empty() {
            what.push(format!(
                "R-hat {:.3} > 1.01",
                b.max_rhat.unwrap_or(f64::NAN)
            ));
        }
        f.warnings.push(honest::warn(
            "sampler",
            &name,
            format!(
                "NUTS: {} divergences, max R-hat {}, min bulk ESS {}{}{}: treat the posterior with care (more warm-up or draws in [bayes])",
                b.divergences,
                b.max_rhat.map_or("n/a".into(), |r| format!("{r:.3}")),
                b.min_ess_bulk.map_or("n/a".into(), |r| format!("{r:.0}")),
                if what.is_empty() { "" } else { "; " },
                what.join("; ")
            ),
        ));
    }
    f.result.tcr_interval = Interval::closed("posterior", b.tcr[0], b.tcr[2]);
    f.result.bayes = Some(p.result.clone());
    f.posterior = Some(p);
}

/// Projections under every scenario from the model preferred by AIC: the estimate and
/// `ensemble − 1` draws from the fit's asymptotic law, combined as a mixture
/// ([`project_ensemble`]).
fn project(
    res: &Resolved,
    best: &Fitted,
    seed: u64,
    progress: &Progress,
) -> CliResult<Vec<ScenarioProjection>> {
    let pc = &res.config.projection;
    let scenarios = res.projection_scenarios();
    let last_obs = res.last_observed_year();
    let mut out = Vec::new();
    let trusted = !best.warnings.iter().any(|w| {
        matches!(
            w.code.as_str(),
            "singular_information" | "near_singular_information" | "estimate_at_bound"
        )
    });
    let (draws, draws_from) = match &best.posterior {
        Some(p) if !p.thetas.is_empty() => {
            let n = pc.ensemble.min(p.thetas.len()).max(1);
            let d: Vec<Vec<f64>> = (0..n)
                .map(|i| p.thetas[i * p.thetas.len() / n].clone())
                .collect();
            (d, "posterior")
        }
        _ if best.fit.cov_z.is_some() && trusted => (
            parameter_draws(&best.fit, pc.ensemble, seed ^ 0x5eed)?,
            "asymptotic",
        ),
        _ => (vec![best.fit.estimate.clone()], "estimate"),
    };
    let bar = progress.bar(
        (scenarios.len() * draws.len()) as u64,
        "projecting scenarios",
    );
    for sc in scenarios {
        let series = &res.forcing[&sc];
        let end_default = series.years.last().copied().unwrap_or(last_obs).min(2100.0);
        let end = pc.end.unwrap_or(end_default).max(last_obs);
        if series.value_at(end).is_none() {
            return Err(CliError::usage(format!(
                "scenario {sc} has no forcing for {end} (projection.end)"
            )));
        }
        let data = res.ebm_data(&sc, end)?;
        let first_obs = data.obs.y.iter().position(|v| !v.is_nan()).unwrap_or(0);
        let family = EbmFamily {
            ebm: best.ebm,
            data,
            prior: res.prior(),
        };
        let settings = ProjectionSettings {
            start_year: res.start,
            band_from: res.start + first_obs as f64,
            baseline: pc.baseline,
            period: pc.period,
        };
        let p = project_ensemble(&family, &draws, &settings, &|| bar.inc(1))?;
        out.push(ScenarioProjection {
            scenario: sc.clone(),
            model: best.result.name.clone(),
            band: p.band.into(),
            warming: p.warming,
            draws_from: draws_from.into(),
            interval_valid: draws_from != "estimate"
                && Interval::closed("", p.warming[1], p.warming[2]).is_some(),
            baseline: pc.baseline,
            period: pc.period,
        });
    }
    bar.finish_and_clear();
    Ok(out)
}

/// The synthetic case with known truth: a recovery study on the record itself (its
/// forcing, missing years and known variance) with the fitted model as the truth.
fn synthetic(
    res: &Resolved,
    data: &EbmData,
    truth_fit: &Fitted,
    seed: u64,
    progress: &Progress,
) -> CliResult<SyntheticResult> {
    let reps = res.config.synthetic.replicates.max(1);
    let study = RecoveryStudy {
        ebm: truth_fit.ebm,
        data: data.clone(),
        truth: truth_fit.fit.estimate.clone(),
        params: truth_fit.params.clone(),
        prior: res.prior(),
        fit: FitOptions {
            n_starts: 2,
            seed,
            ..default_fit_options()
        },
        f2x: res.config.model.f2x,
    };
    let bar = progress.bar(reps as u64, "synthetic replicates");
    let report =
        recovery_study_with_progress(&study, reps, seed.wrapping_add(1000), &|| bar.inc(1))?;
    bar.finish_and_clear();
    let first = report
        .fits
        .first()
        .ok_or_else(|| CliError::Runtime("no synthetic replicate was fitted".into()))?;
    let params = report
        .params
        .iter()
        .map(|c| {
            let i = first.names.iter().position(|n| *n == c.name).unwrap_or(0);
            let replicates = report
                .fits
                .iter()
                .map(|f| {
                    let j = f.names.iter().position(|n| *n == c.name).unwrap_or(0);
                    let ci = match (f.ci_low[j], f.ci_high[j]) {
                        (Some(a), Some(b)) => Some([a, b]),
                        _ => None,
                    };
                    (f.estimate[j], ci)
                })
                .collect();
            SyntheticParam {
                name: c.name.clone(),
                truth: c.truth,
                replicates,
                estimate: first.estimate[i],
                ci: match (first.ci_low[i], first.ci_high[i]) {
                    (Some(a), Some(b)) => Some([a, b]),
                    _ => None,
                },
                coverage: c.coverage,
            }
        })
        .collect();
    Ok(SyntheticResult {
        model: truth_fit.result.name.clone(),
        params,
        replicates: reps,
        replicates_with_covariance: report.with_covariance,
        tcr_truth: report.tcr.truth,
        tcr_coverage: report.tcr.coverage,
    })
}

fn cmip5_summary(text: &str) -> Option<Cmip5Summary> {
    let t = super::csv::parse("cmip5_tcr_ecs.csv", text).ok()?;
    let tcr = t.numeric(t.column("tcr_K").ok()?, false).ok()?;
    let ecs = t.numeric(t.column("ecs_K").ok()?, false).ok()?;
    let stats = |v: &[f64]| {
        [
            v.iter().sum::<f64>() / v.len() as f64,
            v.iter().cloned().fold(f64::INFINITY, f64::min),
            v.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        ]
    };
    Some(Cmip5Summary {
        n: tcr.len(),
        tcr: stats(&tcr),
        ecs: stats(&ecs),
        pairs: tcr.iter().copied().zip(ecs.iter().copied()).collect(),
    })
}

/// Runs everything.
pub fn run(res: &Resolved, settings: &RunSettings, progress: &Progress) -> CliResult<Results> {
    let t0 = Instant::now();
    let last_obs = res.last_observed_year();
    let data = res.ebm_data(&res.historical, last_obs)?;
    let mut fitted: Vec<Fitted> = Vec::new();
    for &k in &res.config.model.boxes {
        fitted.push(fit_model(res, &data, k, settings.seed, progress)?);
    }
    let mut prior_sensitivity = Vec::new();
    if res.config.bayes.enabled {
        for f in fitted.iter_mut() {
            let bar = progress.bar(
                1,
                &format!("sampling the {} posterior (NUTS)", f.result.name),
            );
            let seed = settings.seed.wrapping_add(7 * f.ebm.boxes as u64);
            let p = posterior::sample(res, &f.family, &f.fit, PriorSet::Cmip5, seed)?;
            bar.finish_and_clear();
            attach_posterior(f, p);
        }
        if res.config.bayes.prior_sensitivity
            && let Some(f) = fitted.iter_mut().max_by_key(|f| f.ebm.boxes)
        {
            let bar = progress.bar(1, &format!("prior sensitivity, {}", f.result.name));
            let seed = settings.seed.wrapping_add(1 + 7 * f.ebm.boxes as u64);
            let wide = posterior::sample(res, &f.family, &f.fit, PriorSet::Wide, seed)?;
            bar.finish_and_clear();
            if wide.result.divergences > 0 || wide.result.max_rhat.is_none_or(|r| r > 1.01) {
                f.warnings.push(honest::warn(
                    "sampler",
                    &format!("{} (wide priors)", f.result.name),
                    format!(
                        "NUTS under the wide priors: {} divergences, max R-hat {}: the prior-sensitivity row is approximate",
                        wide.result.divergences,
                        wide.result.max_rhat.map_or("n/a".into(), |r| format!("{r:.3}"))
                    ),
                ));
            }
            for b in f.result.bayes.iter().chain(std::iter::once(&wide.result)) {
                prior_sensitivity.push(PriorSensitivityRow {
                    model: f.result.name.clone(),
                    prior_set: b.prior_set.clone(),
                    ecs: b.ecs,
                    tcr: b.tcr,
                    max_rhat: b.max_rhat,
                    divergences: b.divergences,
                });
            }
        }
    }
    let best_aic = fitted
        .iter()
        .min_by(|a, b| a.fit.aic.total_cmp(&b.fit.aic))
        .map(|f| f.result.name.clone())
        .unwrap_or_default();
    let best_bic = fitted
        .iter()
        .min_by(|a, b| a.fit.bic.total_cmp(&b.fit.bic))
        .map(|f| f.result.name.clone())
        .unwrap_or_default();
    let min_aic = fitted
        .iter()
        .map(|f| f.fit.aic)
        .fold(f64::INFINITY, f64::min);
    let lr = match (
        fitted.iter().min_by_key(|f| f.fit.n_free),
        fitted.iter().max_by_key(|f| f.fit.n_free),
    ) {
        (Some(small), Some(big)) if fitted.len() >= 2 => {
            Some(2.0 * (big.fit.loglik - small.fit.loglik))
        }
        _ => None,
    };
    let comparison = Comparison {
        best_by_aic: best_aic.clone(),
        best_by_bic: best_bic,
        delta_aic: fitted
            .iter()
            .map(|f| (f.result.name.clone(), f.fit.aic - min_aic))
            .collect(),
        lr_statistic: lr,
    };
    let best = fitted
        .iter()
        .find(|f| f.result.name == best_aic)
        .ok_or_else(|| CliError::Runtime("no model was fitted".into()))?;
    let projections = project(res, best, settings.seed, progress)?;
    let mut warnings: Vec<RunWarning> = fitted.iter().flat_map(|f| f.warnings.clone()).collect();
    for p in projections.iter().filter(|p| !p.interval_valid) {
        warnings.push(honest::warn(
            "no_valid_interval",
            &p.model,
            format!(
                "the {} warming has no valid interval: the fit has no usable covariance and no posterior was sampled (enable [bayes])",
                p.scenario
            ),
        ));
    }
    let synthetic = if res.config.synthetic.enabled {
        let truth = fitted
            .iter()
            .find(|f| f.ebm.boxes == 2)
            .unwrap_or(&fitted[0]);
        Some(synthetic(res, &data, truth, settings.seed, progress)?)
    } else {
        None
    };
    let rec = &res.temperature;
    let obs_years: Vec<f64> = rec
        .years
        .iter()
        .zip(&rec.values)
        .filter(|(_, v)| !v.is_nan())
        .map(|(y, _)| *y)
        .collect();
    Ok(Results {
        title: res.config.title.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: settings.command.clone(),
        seed: settings.seed,
        threads: rayon::current_num_threads(),
        wall_time_s: t0.elapsed().as_secs_f64(),
        data: DataSummary {
            temperature_source: res.temperature_source.clone(),
            forcing_source: res.forcing_source.clone(),
            historical_scenario: res.historical.clone(),
            start_year: res.start,
            observed_years: [
                obs_years.first().copied().unwrap_or(f64::NAN),
                obs_years.last().copied().unwrap_or(f64::NAN),
            ],
            n_observed: obs_years.len(),
            known_variance: rec.known_var.iter().any(|&v| v > 0.0),
        },
        models: fitted.into_iter().map(|f| f.result).collect(),
        warnings,
        prior_sensitivity,
        comparison,
        cmip5: cmip5_summary(super::demo::CMIP5_CSV),
        projections,
        synthetic,
        config: res.config.clone(),
    })
}

//! The checks of the settings that do not depend on the data; every error points at
//! the setting (file, line and column).

use super::schema::ConfigFile;
use super::source::ConfigSource;
use crate::cli::error::CliResult;

/// Largest `fit.starts`: each start is a full L-BFGS fit (about 0.05 s for the 2-box
/// model on HadCRUT5), so 1000 starts already take about a minute per model.
pub const MAX_FIT_STARTS: usize = 1000;
/// Largest `projection.ensemble`: each draw is one Kalman smoother run per scenario
/// (about 0.5 ms), and the bands hold one mean and variance per draw and year.
pub const MAX_ENSEMBLE: usize = 100_000;
/// Largest `synthetic.replicates`: each replicate is a full fit (about 0.1 s).
pub const MAX_REPLICATES: usize = 1000;
/// Largest `bayes.chains`.
pub const MAX_CHAINS: usize = 64;
/// Largest `bayes.warmup` and `bayes.draws` (iterations per chain; each is up to
/// 2¹⁰ likelihood gradients).
pub const MAX_NUTS_ITERATIONS: usize = 100_000;

/// Largest `fit.max_iters` (L-BFGS iterations per start).
pub const MAX_ITERS: usize = 100_000;

/// Checks the settings that do not depend on the data; errors point at the setting.
pub(super) fn check_settings(config: &ConfigFile, src: &ConfigSource) -> CliResult<()> {
    let m = &config.model;
    if m.boxes.is_empty() {
        return Err(src.error(&["model", "boxes"], "is empty; give 2, 3 or both"));
    }
    for (i, &b) in m.boxes.iter().enumerate() {
        if !(2..=3).contains(&b) {
            let idx = i.to_string();
            return Err(src.error(
                &["model", "boxes", &idx],
                format!("{b} boxes are not supported (2 or 3)"),
            ));
        }
    }
    if !["stationary", "at_rest"].contains(&m.prior.as_str()) {
        return Err(src.error(
            &["model", "prior"],
            format!("must be \"stationary\" or \"at_rest\", got \"{}\"", m.prior),
        ));
    }
    if !(m.f2x > 0.0 && m.f2x.is_finite()) {
        return Err(src.error(
            &["model", "f2x"],
            format!(
                "the forcing of doubled CO₂ must be positive (W m⁻²), got {}",
                m.f2x
            ),
        ));
    }
    if !(m.sigma_obs >= 0.0 && m.sigma_obs.is_finite()) {
        return Err(src.error(
            &["model", "sigma_obs"],
            format!("must be non-negative (K), got {}", m.sigma_obs),
        ));
    }
    if !(m.fixed_efficacy > 0.0 && m.fixed_efficacy.is_finite()) {
        return Err(src.error(
            &["model", "fixed_efficacy"],
            format!("the efficacy must be positive, got {}", m.fixed_efficacy),
        ));
    }
    let f = &config.fit;
    if f.starts == 0 {
        return Err(src.error(&["fit", "starts"], "must be at least 1"));
    }
    if f.starts > MAX_FIT_STARTS {
        return Err(src.error(
            &["fit", "starts"],
            format!(
                "must be at most {MAX_FIT_STARTS} (each start is a full fit, about 0.05 s per start and model), got {}",
                f.starts
            ),
        ));
    }
    if f.max_iters == 0 {
        return Err(src.error(&["fit", "max_iters"], "must be at least 1"));
    }
    if f.max_iters > MAX_ITERS {
        return Err(src.error(
            &["fit", "max_iters"],
            format!("must be at most {MAX_ITERS}, got {}", f.max_iters),
        ));
    }
    if !(f.spread >= 0.0 && f.spread.is_finite()) {
        return Err(src.error(
            &["fit", "spread"],
            format!("must be non-negative, got {}", f.spread),
        ));
    }
    let p = &config.projection;
    if p.ensemble == 0 {
        return Err(src.error(&["projection", "ensemble"], "must be at least 1"));
    }
    if p.ensemble > MAX_ENSEMBLE {
        return Err(src.error(
            &["projection", "ensemble"],
            format!(
                "must be at most {MAX_ENSEMBLE} (each draw is one smoother run per scenario), got {}",
                p.ensemble
            ),
        ));
    }
    let s = &config.synthetic;
    if s.replicates > MAX_REPLICATES {
        return Err(src.error(
            &["synthetic", "replicates"],
            format!(
                "must be at most {MAX_REPLICATES} (each replicate is a full fit), got {}",
                s.replicates
            ),
        ));
    }
    for (key, r) in [("baseline", p.baseline), ("period", p.period)] {
        if !(r[0].is_finite() && r[1].is_finite() && r[0] <= r[1]) {
            return Err(src.error(
                &["projection", key],
                format!("must be [first year, last year], got [{}, {}]", r[0], r[1]),
            ));
        }
    }
    if let Some(end) = p.end
        && !end.is_finite()
    {
        return Err(src.error(&["projection", "end"], format!("is {end}")));
    }
    let b = &config.bayes;
    if !(1..=MAX_CHAINS).contains(&b.chains) {
        return Err(src.error(
            &["bayes", "chains"],
            format!("must be between 1 and {MAX_CHAINS}, got {}", b.chains),
        ));
    }
    for (key, v, min) in [("warmup", b.warmup, 0), ("draws", b.draws, 1)] {
        if v < min || v > MAX_NUTS_ITERATIONS {
            return Err(src.error(
                &["bayes", key],
                format!(
                    "must be between {min} and {MAX_NUTS_ITERATIONS} iterations per chain, got {v}"
                ),
            ));
        }
    }
    for (name, prior) in &b.priors {
        let known = (2..=3).any(|k| {
            crate::ssm::ebm::KBoxEbm::new(k, m.stochastic_forcing, false)
                .is_ok_and(|e| e.param_names().iter().any(|n| n == name))
        });
        if !known {
            return Err(src.error(
                &["bayes", "priors", name],
                format!("'{name}' is not a parameter of the models (C1, C2, C3, kappa1, kappa2, kappa3, epsilon, sigma_xi, sigma_T, T0, …)"),
            ));
        }
        if let Err(e) = prior.validate(name) {
            return Err(src.error(&["bayes", "priors", name], e.to_string()));
        }
    }
    let d = &config.data;
    match (&d.lower_column, &d.upper_column) {
        (Some(_), None) => {
            return Err(src.error(
                &["data", "lower_column"],
                "give upper_column too (both ends of the interval), or neither",
            ));
        }
        (None, Some(_)) => {
            return Err(src.error(
                &["data", "upper_column"],
                "give lower_column too (both ends of the interval), or neither",
            ));
        }
        _ => {}
    }
    if let Some(st) = d.start
        && st.fract() != 0.0
    {
        return Err(src.error(
            &["data", "start"],
            format!("must be a whole year, got {st}"),
        ));
    }
    Ok(())
}

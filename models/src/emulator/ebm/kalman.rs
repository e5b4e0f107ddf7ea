//! The direct Kalman-filter posterior of the study's two-box EBM, for comparison with the
//! emulator-calibrated one (`[compare] kalman = true` in the study's configuration).
//!
//! The direct fit is the `mechml run` path: the two-box model of
//! [`KBoxEbm`](crate::ssm::ebm::KBoxEbm) as a linear-Gaussian state-space model with
//! internal variability (temperature noise `σ_ξ`, Cummins, Stephenson & Stott 2020,
//! J. Climate 33, eqs. (1)–(3)), the first state at its stationary distribution, the
//! forcing scale held at 1 and the observation variance of the record known; the
//! likelihood by the Kalman filter ([`EbmDensity`]), started at its maximum
//! ([`fit_mle`]) and sampled by NUTS. The priors of the parameters the two share
//! (`C1, C2, lambda = κ₁, kappa2, epsilon`, same physical units) are the emulator's:
//! uniform over the study's box, on the log scale where the box is (so log-uniform in
//! `C1, C2` as shipped); `σ_ξ` and the offset `T₀` take `mechml run`'s default priors
//! ([`default_prior`]).
//!
//! What differs is the likelihood: the emulator calibration compares block means of the
//! deterministic simulator (plus emulator variance) with the observed block means under
//! a smooth GP discrepancy (Kennedy & O'Hagan 2001), so unexplained decadal wiggles go to
//! the discrepancy; the Kalman filter explains year-to-year departures as internal
//! variability of the model itself, which ties the heat capacities to the
//! autocorrelation of the record.

use mechml_engine::infer::{Init, LogDensity, NutsOptions, Prior, sample};
use mechml_engine::param::{Param, ParamLayout};
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::study::{CalibrationSummary, ParamSummary};
use crate::emulator::design::{ParamRange, ParameterSpace, Scale};
use crate::ssm::Observations;
use crate::ssm::ebm::bayes::{EbmDensity, PriorSet, default_prior};
use crate::ssm::ebm::family::EbmFamily;
use crate::ssm::ebm::{EbmData, EbmPrior, KBoxEbm};
use crate::ssm::fit::{default_fit_options, fit_mle};

/// `[compare]`: whether (and how long) to sample the direct Kalman-filter posterior.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareConfig {
    /// Sample the direct Kalman-filter posterior of the same EBM (module docs).
    #[serde(default)]
    pub kalman: bool,
    /// Chains.
    #[serde(default = "default_chains")]
    pub chains: usize,
    /// Warm-up iterations per chain.
    #[serde(default = "default_iterations")]
    pub warmup: usize,
    /// Draws per chain.
    #[serde(default = "default_iterations")]
    pub draws: usize,
}

fn default_chains() -> usize {
    4
}
fn default_iterations() -> usize {
    400
}

impl Default for CompareConfig {
    fn default() -> Self {
        Self {
            kalman: false,
            chains: default_chains(),
            warmup: default_iterations(),
            draws: default_iterations(),
        }
    }
}

/// Most NUTS gradient evaluations the comparison may ask for (chains × iterations × 2¹⁰).
pub const MAX_COMPARE_WORK: usize = 50_000_000;

impl CompareConfig {
    /// Checks the sampler's sizes.
    pub fn validate(&self) -> Result<()> {
        let work = self
            .chains
            .saturating_mul(self.warmup.saturating_add(self.draws))
            .saturating_mul(1024);
        if self.kalman && (self.chains == 0 || self.draws == 0 || work > MAX_COMPARE_WORK) {
            return Err(Error::invalid_option(
                "StudyConfig",
                "compare",
                format!(
                    "{} chains × {} iterations",
                    self.chains,
                    self.warmup + self.draws
                ),
                format!(
                    "≥ 1 chain and draw, chains × iterations ≤ {}",
                    MAX_COMPARE_WORK / 1024
                ),
            ));
        }
        Ok(())
    }
}

/// One shared quantity under both posteriors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// Name (`C1`, …, `epsilon`, `ECS`).
    pub name: String,
    /// Under the emulator calibration (Kennedy–O'Hagan).
    pub emulator: ParamSummary,
    /// Under the direct Kalman-filter posterior.
    pub kalman: ParamSummary,
    /// `|median_emulator − median_kalman| / √(sd_emulator² + sd_kalman²)`.
    pub standardised_difference: f64,
    /// Where a posterior's 90 % interval ends within 5 % of the study's box (on its
    /// scale) of a bound: that end is set by the prior box, not by the data alone.
    #[serde(default)]
    pub at_bound: Vec<String>,
}

/// The direct Kalman-filter posterior beside the emulator's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KalmanComparison {
    /// How the direct posterior was computed.
    pub method: String,
    /// Every free parameter of the direct fit (`C1, C2, lambda, kappa2, epsilon,
    /// sigma_xi, T0`).
    pub parameters: Vec<ParamSummary>,
    /// The shared parameters and ECS under both posteriors.
    pub rows: Vec<ComparisonRow>,
    /// Draws of the shared parameters (physical units), thinned to at most 1,000.
    pub draws: Vec<Vec<f64>>,
    /// Divergent transitions after warm-up.
    pub divergences: usize,
    /// Sampler warnings.
    pub warnings: Vec<String>,
    /// Maximum log-likelihood of the direct fit (the NUTS start).
    pub max_loglik: f64,
    /// Wall time of fit and sampling, seconds.
    pub time_s: f64,
}

/// The data, structure and parameter layout of the direct fit.
pub(super) struct DirectProblem<'a> {
    /// Forcing from `first_year` (W m⁻²), as the simulator's.
    pub forcing: &'a [f64],
    /// First forcing year (the model starts there).
    pub first_year: i32,
    /// Observation years, anomalies and their variances.
    pub years: &'a [i32],
    /// Observed anomalies.
    pub obs: &'a [f64],
    /// Their variances.
    pub obs_var: &'a [f64],
    /// The study's box (C1, C2, lambda, kappa2, epsilon).
    pub space: &'a ParameterSpace,
}

/// `EbmDensity` with `−ln θ` added for the parameters whose box is on the log scale, so
/// that the bounded (uniform) parameters become log-uniform, as the emulator's prior.
#[derive(Clone)]
struct BoxPosterior {
    inner: EbmDensity,
    /// `(free index, lo, hi)` of the log-scale parameters.
    log_scale: Vec<(usize, f64, f64)>,
}

impl LogDensity for BoxPosterior {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn log_density_grad(&mut self, z: &[f64], grad: &mut [f64]) -> Result<f64> {
        let mut lp = self.inner.log_density_grad(z, grad)?;
        if !lp.is_finite() {
            return Ok(lp);
        }
        // θ = lo + (hi − lo) s, s = σ(z): −ln θ, and d/dz = −(hi − lo) s (1 − s) / θ.
        for &(k, lo, hi) in &self.log_scale {
            let s = 1.0 / (1.0 + (-z[k]).exp());
            let th = lo + (hi - lo) * s;
            lp -= th.ln();
            grad[k] -= (hi - lo) * s * (1.0 - s) / th;
        }
        Ok(lp)
    }
    fn param_names(&self) -> Vec<String> {
        self.inner.param_names()
    }
    fn constrain(&self, z: &[f64]) -> Result<Vec<f64>> {
        self.inner.constrain(z)
    }
}

/// Names of the shared parameters in the direct model (`lambda` is `kappa1`).
const SHARED: [(&str, &str); 5] = [
    ("C1", "C1"),
    ("C2", "C2"),
    ("lambda", "kappa1"),
    ("kappa2", "kappa2"),
    ("epsilon", "epsilon"),
];

/// Summary of draws `v` (unsorted) under `name`, with R-hat and ESS where given.
pub(super) fn summarise(
    name: &str,
    v: &[f64],
    rhat: Option<f64>,
    ess_bulk: Option<f64>,
) -> ParamSummary {
    let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let sd =
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0).max(1.0)).sqrt();
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p| mechml_engine::infer::stats::quantile_sorted(&s, p);
    ParamSummary {
        name: name.into(),
        mean: m,
        sd,
        q5: q(0.05),
        q50: q(0.5),
        q95: q(0.95),
        rhat,
        ess_bulk,
    }
}

/// Samples the direct posterior and sets it beside the emulator's `calibration` (whose
/// first five parameters are the shared ones; `emulator_draws` are its physical draws).
pub(super) fn compare_with_kalman(
    problem: &DirectProblem<'_>,
    calibration: &CalibrationSummary,
    emulator_draws: &[Vec<f64>],
    config: &CompareConfig,
    seed: u64,
) -> Result<KalmanComparison> {
    let t0 = std::time::Instant::now();
    let op = "compare_with_kalman";
    let ranges = problem.space.params();
    if ranges.len() != SHARED.len() {
        return Err(Error::invalid_option(
            op,
            "parameters",
            ranges.len(),
            "5 (C1, C2, lambda, kappa2, epsilon)",
        ));
    }
    // Data: the model runs from the first forcing year, observed where the record is.
    let last = *problem.years.last().ok_or_else(|| Error::InvalidArgument {
        op,
        message: "no observation years".into(),
    })?;
    let n = (last - problem.first_year + 1) as usize;
    if problem.years[0] < problem.first_year || n > problem.forcing.len() {
        return Err(Error::InvalidArgument {
            op,
            message: format!(
                "observations {}–{last} outside the forcing years from {}",
                problem.years[0], problem.first_year
            ),
        });
    }
    let mut y = vec![f64::NAN; n];
    let mut kv = vec![0.0; n];
    for ((&yr, &o), &v) in problem.years.iter().zip(problem.obs).zip(problem.obs_var) {
        let t = (yr - problem.first_year) as usize;
        y[t] = o;
        kv[t] = v;
    }
    let obs = Observations::new(n, 1, y, 1, problem.forcing[..n].to_vec())?;
    let ebm = KBoxEbm::new(2, false, false)?;
    let family = EbmFamily {
        ebm,
        data: EbmData::new(obs, kv, 1.0)?,
        prior: EbmPrior::Stationary,
    };
    // Layout in KBoxEbm order: C1, C2, kappa1, kappa2, epsilon, sigma_xi, F, sigma_T, T0.
    let mut params: Vec<Param> = SHARED
        .iter()
        .zip(ranges)
        .map(|(&(_, name), r)| Param::bounded(name, r.lo, r.hi, r.to_physical(0.5)))
        .collect();
    params.push(Param::positive("sigma_xi", 0.5));
    params.push(Param::real("F", 1.0).held());
    params.push(Param::real("sigma_T", 0.0).held());
    params.push(Param::real("T0", 0.0));
    let layout = ParamLayout::new(params)?;
    let fit = fit_mle(&family, &layout, &default_fit_options(), &|_| {})?;
    let mut priors = vec![Prior::Flat; SHARED.len()];
    priors.push(default_prior(&ebm, "sigma_xi", PriorSet::Cmip5)?);
    priors.push(default_prior(&ebm, "T0", PriorSet::Cmip5)?);
    let log_scale = ranges
        .iter()
        .enumerate()
        .filter(|(_, r)| r.scale == Scale::Log)
        .map(|(k, r)| (k, r.lo, r.hi))
        .collect();
    let density = BoxPosterior {
        inner: EbmDensity::posterior(family, fit.layout.clone(), priors)?,
        log_scale,
    };
    // Start at the optimum; coordinates that ran off towards a bound start at the centre.
    let init: Vec<f64> = fit
        .z_hat
        .iter()
        .map(|&z| if z.abs() > 5.0 { 0.0 } else { z })
        .collect();
    let nuts = NutsOptions {
        n_chains: config.chains,
        n_warmup: config.warmup,
        n_draws: config.draws,
        seed,
        init: Init::Point(init),
        ..NutsOptions::default()
    };
    let post = sample(&density, &nuts)?;
    let names = density.param_names();
    let rows: Vec<Vec<f64>> = post.rows().map(<[f64]>::to_vec).collect();
    let parameters: Vec<ParamSummary> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let v: Vec<f64> = rows.iter().map(|r| r[j]).collect();
            let row = post.summary.row(name);
            let shown = SHARED
                .iter()
                .find(|s| s.1 == name)
                .map_or(name.as_str(), |s| s.0);
            summarise(
                shown,
                &v,
                row.and_then(|r| r.rhat),
                row.and_then(|r| r.ess_bulk),
            )
        })
        .collect();
    let f2x = 3.71;
    let ecs_k: Vec<f64> = rows.iter().map(|r| f2x / r[2]).collect();
    let ecs_e: Vec<f64> = emulator_draws.iter().map(|r| f2x / r[2]).collect();
    let mut table: Vec<ComparisonRow> = (0..SHARED.len())
        .map(|j| (calibration.parameters[j].clone(), parameters[j].clone()))
        .collect::<Vec<_>>()
        .into_iter()
        .zip(ranges)
        .map(|((e, k), r)| {
            let mut row = row(e, k);
            row.at_bound = [("emulator", &row.emulator), ("Kalman filter", &row.kalman)]
                .into_iter()
                .flat_map(|(who, s)| box_edges(who, s, r))
                .collect();
            row
        })
        .collect();
    table.push(row(
        summarise("ECS", &ecs_e, None, None),
        summarise("ECS", &ecs_k, None, None),
    ));
    let stride = (rows.len() / 1000).max(1);
    Ok(KalmanComparison {
        method: format!(
            "NUTS over the Kalman-filter likelihood of the stochastic two-box EBM ({} chains × {} draws after {} warm-up), started at the maximum likelihood",
            config.chains, config.draws, config.warmup
        ),
        parameters,
        rows: table,
        draws: rows
            .iter()
            .step_by(stride)
            .map(|r| r[..SHARED.len()].to_vec())
            .collect(),
        divergences: post.diagnostics.divergences,
        warnings: post.diagnostics.warnings.clone(),
        max_loglik: fit.loglik,
        time_s: t0.elapsed().as_secs_f64(),
    })
}

/// The ends of `s`'s 90 % interval that lie within 5 % of the box `r` (in its unit
/// coordinate) of a bound, as sentences.
fn box_edges(who: &str, s: &ParamSummary, r: &ParamRange) -> Vec<String> {
    let mut out = Vec::new();
    if r.to_unit(s.q5) < 0.05 {
        out.push(format!(
            "{who}: the 5 % quantile {:.4} lies at the lower bound {} of the box",
            s.q5, r.lo
        ));
    }
    if r.to_unit(s.q95) > 0.95 {
        out.push(format!(
            "{who}: the 95 % quantile {:.4} lies at the upper bound {} of the box",
            s.q95, r.hi
        ));
    }
    out
}

fn row(emulator: ParamSummary, kalman: ParamSummary) -> ComparisonRow {
    let spread = (emulator.sd.powi(2) + kalman.sd.powi(2)).sqrt();
    ComparisonRow {
        name: emulator.name.clone(),
        standardised_difference: (emulator.q50 - kalman.q50).abs() / spread.max(f64::MIN_POSITIVE),
        at_bound: Vec::new(),
        emulator,
        kalman,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantiles(q5: f64, q95: f64) -> ParamSummary {
        ParamSummary {
            name: "x".into(),
            mean: 0.5 * (q5 + q95),
            sd: 1.0,
            q5,
            q50: 0.5 * (q5 + q95),
            q95,
            rhat: None,
            ess_bulk: None,
        }
    }

    #[test]
    fn interval_ends_at_the_box_are_flagged_on_the_box_scale() {
        let lin = ParamRange::linear("kappa2", 0.3, 1.5);
        // Inside the box: 0.36 and 1.44 are exactly 5 % in; just inside is not flagged.
        assert!(box_edges("KF", &quantiles(0.37, 1.43), &lin).is_empty());
        let e = box_edges("KF", &quantiles(0.35, 1.49), &lin);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("lower") && e[1].contains("upper"));
        // Log scale: 5 % of log(300/20) above 20 is 20·15^0.05 ≈ 22.9.
        let log = ParamRange::log("C2", 20.0, 300.0);
        assert_eq!(box_edges("KF", &quantiles(22.0, 100.0), &log).len(), 1);
        assert!(box_edges("KF", &quantiles(24.0, 100.0), &log).is_empty());
    }
}

//! What the pipeline produces: serialised to `results.json` and drawn in the report.

use serde::{Deserialize, Serialize};

use crate::ssm::fit::{DerivedEstimate, StartReport, TraceRow};

/// Everything in `results.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    /// Report title.
    pub title: String,
    /// Program version.
    pub version: String,
    /// The command that produced the report.
    pub command: String,
    /// Seed used.
    pub seed: u64,
    /// Worker threads used.
    pub threads: usize,
    /// Wall time of the whole run, seconds.
    pub wall_time_s: f64,
    /// The data.
    pub data: DataSummary,
    /// One entry per fitted model.
    pub models: Vec<ModelResult>,
    /// Model comparison.
    pub comparison: Comparison,
    /// CMIP5 values for comparison with the fitted ECS and TCR.
    pub cmip5: Option<Cmip5Summary>,
    /// Projections per scenario (from the model preferred by AIC).
    pub projections: Vec<ScenarioProjection>,
    /// The synthetic case with known truth.
    pub synthetic: Option<SyntheticResult>,
    /// Named warnings: what the numbers above should not be trusted for, and why
    /// (also in the terminal summary and in index.html).
    pub warnings: Vec<RunWarning>,
    /// Prior sensitivity of the Bayesian ECS and TCR (one row per model and prior set).
    pub prior_sensitivity: Vec<PriorSensitivityRow>,
    /// The configuration used (TOML-equivalent).
    pub config: super::config::ConfigFile,
}

/// A named warning (the code is stable; the message says what and what to do).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunWarning {
    /// Stable name: `singular_information`, `near_singular_information`,
    /// `estimate_at_bound`, `open_interval`, `wald_unreliable`, `no_valid_interval`,
    /// `profile_failed`, `sampler`.
    pub code: String,
    /// The model concerned, if any.
    pub model: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// A 95 % interval and how it was obtained; an open side (the profile likelihood does
/// not drop below its threshold there) is `None`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Interval {
    /// `wald` (observed information), `profile` (profile likelihood) or `posterior`
    /// (2.5 % and 97.5 % posterior quantiles).
    pub method: String,
    /// Lower end (`None`: open).
    pub lo: Option<f64>,
    /// Upper end (`None`: open).
    pub hi: Option<f64>,
}

impl Interval {
    /// A closed interval, or `None` if it is empty or has zero width (never shown as an
    /// interval).
    pub fn closed(method: &str, lo: f64, hi: f64) -> Option<Self> {
        (lo.is_finite() && hi.is_finite() && hi > lo && hi - lo > 1e-12 * lo.abs().max(hi.abs()))
            .then(|| Interval {
                method: method.into(),
                lo: Some(lo),
                hi: Some(hi),
            })
    }

    /// `[a, b]`, `[a, open)`, `(open, b]` with `prec` decimals.
    pub fn show(&self, prec: usize) -> String {
        let lo = self.lo.map_or("(open".into(), |v| format!("[{v:.prec$}"));
        let hi = self.hi.map_or("open)".into(), |v| format!("{v:.prec$}]"));
        format!("{lo}, {hi}")
    }
}

/// How well the likelihood determines the parameters at the estimate.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct Identifiability {
    /// Eigenvalues of the observed information on the unconstrained scale, smallest first.
    pub information_eigenvalues: Vec<f64>,
    /// Smallest over largest eigenvalue.
    pub reciprocal_condition: Option<f64>,
    /// The eigenvector of the smallest eigenvalue (the least determined combination),
    /// as (parameter, component), largest components first.
    pub weakest_direction: Vec<(String, f64)>,
    /// Parameters whose estimate sits at a bound of its range.
    pub at_bound: Vec<String>,
}

/// The Bayesian fit of one model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BayesResult {
    /// Prior set (`cmip5`, `wide`).
    pub prior_set: String,
    /// The prior of each free parameter.
    pub priors: Vec<(String, mechml_engine::infer::Prior)>,
    /// Chains, warm-up and draws per chain.
    pub chains: usize,
    /// Warm-up iterations per chain.
    pub warmup: usize,
    /// Draws per chain.
    pub draws: usize,
    /// Posterior summary of the free parameters, ECS and TCR (mean, sd, quantiles,
    /// MCSE, bulk/tail ESS, R-hat).
    pub summary: Vec<mechml_engine::infer::diagnostics::SummaryRow>,
    /// ECS: 2.5 %, 50 %, 97.5 % posterior quantiles (K).
    pub ecs: [f64; 3],
    /// TCR: 2.5 %, 50 %, 97.5 % posterior quantiles (K).
    pub tcr: [f64; 3],
    /// Divergent transitions after warm-up.
    pub divergences: usize,
    /// Largest R-hat.
    pub max_rhat: Option<f64>,
    /// Smallest bulk ESS.
    pub min_ess_bulk: Option<f64>,
    /// The sampler's warnings.
    pub warnings: Vec<String>,
    /// Gradient evaluations (all chains).
    pub gradient_evaluations: u64,
    /// Seconds.
    pub time_s: f64,
}

/// One row of the prior-sensitivity table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PriorSensitivityRow {
    /// Model.
    pub model: String,
    /// Prior set.
    pub prior_set: String,
    /// ECS 2.5 %, 50 %, 97.5 % (K).
    pub ecs: [f64; 3],
    /// TCR 2.5 %, 50 %, 97.5 % (K).
    pub tcr: [f64; 3],
    /// Largest R-hat.
    pub max_rhat: Option<f64>,
    /// Divergences.
    pub divergences: usize,
}

/// The data that was fitted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataSummary {
    /// Temperature source.
    pub temperature_source: String,
    /// Forcing source.
    pub forcing_source: String,
    /// Scenario driving the fit.
    pub historical_scenario: String,
    /// First model year.
    pub start_year: f64,
    /// First and last observed year.
    pub observed_years: [f64; 2],
    /// Number of observed years.
    pub n_observed: usize,
    /// Whether a known observation variance was used.
    pub known_variance: bool,
}

/// One parameter's estimate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParamResult {
    /// Name.
    pub name: String,
    /// Estimate (or fixed value).
    pub estimate: f64,
    /// Whether it was estimated.
    pub free: bool,
    /// Standard error (delta method), if available.
    pub se: Option<f64>,
    /// 95 % Wald interval (observed information), if the information is invertible.
    pub ci: Option<[f64; 2]>,
    /// 95 % profile-likelihood interval (open sides `None`), if computed.
    pub profile: Option<Interval>,
    /// The interval reported: the profile's when computed, else Wald's; `None` when no
    /// valid interval exists (shown as such).
    pub interval: Option<Interval>,
}

/// Solver statistics of one fit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SolverStats {
    /// Every start.
    pub starts: Vec<StartReport>,
    /// The best start.
    pub best_start: usize,
    /// Whether the best start converged.
    pub converged: bool,
    /// Seconds for the starts.
    pub fit_time_s: f64,
    /// Seconds for the observed information (Hessian–vector products).
    pub hessian_time_s: f64,
    /// Smallest and largest eigenvalue of the observed information.
    pub information_eigen_range: Option<(f64, f64)>,
}

/// A smoothed or filtered series with its standard deviation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Band {
    /// Years.
    pub years: Vec<f64>,
    /// Mean.
    pub mean: Vec<f64>,
    /// Lower 95 % limit.
    pub lo: Vec<f64>,
    /// Upper 95 % limit.
    pub hi: Vec<f64>,
}

/// One fitted model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelResult {
    /// "2-box" or "3-box".
    pub name: String,
    /// Number of boxes.
    pub boxes: usize,
    /// Parameters.
    pub params: Vec<ParamResult>,
    /// Maximised log-likelihood.
    pub loglik: f64,
    /// Free parameters.
    pub n_free: usize,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// ECS (K).
    pub ecs: DerivedEstimate,
    /// TCR (K).
    pub tcr: DerivedEstimate,
    /// The ECS interval reported: the profile likelihood of κ₁ (ECS = F₂ₓ/κ₁ is
    /// monotone in it), else Wald's; `None`: no valid interval.
    pub ecs_interval: Option<Interval>,
    /// The TCR interval reported: the posterior's, else Wald's when the information is
    /// well conditioned; `None`: no valid interval.
    pub tcr_interval: Option<Interval>,
    /// How well the data determine the parameters.
    pub identifiability: Identifiability,
    /// The Bayesian fit (NUTS), if enabled.
    pub bayes: Option<BayesResult>,
    /// e-folding timescales (years).
    pub timescales: Vec<f64>,
    /// Solver statistics.
    pub solver: SolverStats,
    /// Optimisation trace of the best start.
    pub trace: Vec<TraceRow>,
    /// Filtered top-box temperature (observation scale: T₁ + T₀), 95 % bands.
    pub filtered: Band,
    /// Smoothed top-box temperature, 95 % bands.
    pub smoothed: Band,
    /// Standardised one-step-ahead innovations: mean and standard deviation (≈ 0 and 1
    /// for a well-specified model).
    pub innovation_mean_sd: [f64; 2],
}

/// Model comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    /// Model with the smallest AIC.
    pub best_by_aic: String,
    /// Model with the smallest BIC.
    pub best_by_bic: String,
    /// AIC of each model minus the smallest.
    pub delta_aic: Vec<(String, f64)>,
    /// Likelihood-ratio statistic of the largest model against the smallest.
    pub lr_statistic: Option<f64>,
}

/// Summary of the CMIP5 values.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cmip5Summary {
    /// Number of models.
    pub n: usize,
    /// TCR: mean, min, max.
    pub tcr: [f64; 3],
    /// ECS: mean, min, max.
    pub ecs: [f64; 3],
    /// The pairs (TCR, ECS).
    pub pairs: Vec<(f64, f64)>,
}

/// Projection under one scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioProjection {
    /// Scenario name.
    pub scenario: String,
    /// Model used.
    pub model: String,
    /// Temperature anomaly (observation scale) with 95 % bands from the mixture over
    /// parameter draws of the smoothed/predicted state distributions.
    pub band: Band,
    /// Mean warming over the period relative to the baseline (K): [median, 2.5 %, 97.5 %]
    /// across parameter draws.
    pub warming: [f64; 3],
    /// Where the parameter draws came from: `posterior` (NUTS), `asymptotic` (normal
    /// law of the estimate) or `estimate` (no uncertainty available: the range is not
    /// an interval and is not shown as one).
    pub draws_from: String,
    /// Whether `warming[1..]` is a valid interval.
    pub interval_valid: bool,
    /// Baseline and period used.
    pub baseline: [f64; 2],
    /// Period.
    pub period: [f64; 2],
}

/// The synthetic case.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyntheticResult {
    /// The model simulated from.
    pub model: String,
    /// True parameters and the fit of the first replicate.
    pub params: Vec<SyntheticParam>,
    /// Replicates fitted.
    pub replicates: usize,
    /// Replicates whose fit gave a covariance.
    pub replicates_with_covariance: usize,
    /// TCR: truth, coverage.
    pub tcr_truth: f64,
    /// Coverage of the TCR interval.
    pub tcr_coverage: f64,
}

/// One parameter in the synthetic case.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyntheticParam {
    /// Name.
    pub name: String,
    /// True value.
    pub truth: f64,
    /// Estimate in the first replicate.
    pub estimate: f64,
    /// Its 95 % interval.
    pub ci: Option<[f64; 2]>,
    /// Every replicate's estimate and 95 % Wald interval (`None`: no covariance).
    pub replicates: Vec<(f64, Option<[f64; 2]>)>,
    /// Fraction of replicates whose interval contains the truth.
    pub coverage: f64,
}

//! The configuration file's sections, keys and defaults.

use std::collections::BTreeMap;

use mechml_engine::infer::Prior;
use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// A title for the report.
    #[serde(default = "default_title")]
    pub title: String,
    /// Input files and columns.
    pub data: DataSection,
    /// Model settings.
    #[serde(default)]
    pub model: ModelSection,
    /// Optimiser settings.
    #[serde(default)]
    pub fit: FitSection,
    /// Projection settings.
    #[serde(default)]
    pub projection: ProjectionSection,
    /// The synthetic case with known truth.
    #[serde(default)]
    pub synthetic: SyntheticSection,
    /// The Bayesian fit (priors, NUTS).
    #[serde(default)]
    pub bayes: BayesSection,
}

fn default_title() -> String {
    "Energy-balance model fit".into()
}

/// `[data]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Temperature CSV (path relative to the configuration file).
    pub temperature: String,
    /// Time column of the temperature file (years).
    #[serde(default = "default_year")]
    pub time_column: String,
    /// Temperature anomaly column (K); empty fields are missing years.
    pub value_column: String,
    /// Optional lower end of a 95 % interval (gives a known observation variance).
    pub lower_column: Option<String>,
    /// Optional upper end of the 95 % interval.
    pub upper_column: Option<String>,
    /// Forcing CSV (W m⁻²).
    pub forcing: String,
    /// Time column of the forcing file.
    #[serde(default = "default_year")]
    pub forcing_time_column: String,
    /// Forcing column.
    pub forcing_value_column: String,
    /// Optional scenario column (long format with several scenarios).
    pub forcing_scenario_column: Option<String>,
    /// Scenario whose forcing drives the fit (required with a scenario column).
    pub historical_scenario: Option<String>,
    /// First year of the model run (default: the first forcing year).
    pub start: Option<f64>,
}

fn default_year() -> String {
    "year".into()
}

/// `[model]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Numbers of boxes to fit and compare (2 and/or 3).
    #[serde(default = "default_boxes")]
    pub boxes: Vec<usize>,
    /// Hold the deep-ocean efficacy ε at this value (default 1). From temperature alone ε
    /// is not identifiable: it trades off exactly with the deep-ocean heat capacity and
    /// exchange (the response T₁/F depends on them only through combinations that absorb
    /// ε). Set `estimate_efficacy = true` to estimate it anyway (e.g. with flux data).
    #[serde(default = "default_efficacy")]
    pub fixed_efficacy: f64,
    /// Estimate ε instead of holding it at `fixed_efficacy`.
    #[serde(default)]
    pub estimate_efficacy: bool,
    /// Model the forcing as a stochastic state relaxing to the given forcing (γ, σ_η).
    #[serde(default)]
    pub stochastic_forcing: bool,
    /// First state: "stationary" (internal variability at rest) or "at_rest".
    #[serde(default = "default_prior")]
    pub prior: String,
    /// Forcing of doubled CO₂ for ECS and TCR (W m⁻²).
    #[serde(default = "default_f2x")]
    pub f2x: f64,
    /// Extra observation-noise standard deviation (K), added to any known variance.
    #[serde(default)]
    pub sigma_obs: f64,
}

fn default_efficacy() -> f64 {
    1.0
}
fn default_boxes() -> Vec<usize> {
    vec![2, 3]
}
fn default_prior() -> String {
    "stationary".into()
}
fn default_f2x() -> f64 {
    mechml_models_f2x()
}
fn mechml_models_f2x() -> f64 {
    crate::ssm::ebm::sensitivity::F2X_DEFAULT
}

impl Default for ModelSection {
    fn default() -> Self {
        Self {
            boxes: default_boxes(),
            fixed_efficacy: default_efficacy(),
            estimate_efficacy: false,
            stochastic_forcing: false,
            prior: default_prior(),
            f2x: default_f2x(),
            sigma_obs: 0.0,
        }
    }
}

/// `[fit]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FitSection {
    /// Number of L-BFGS starts per model.
    #[serde(default = "default_starts")]
    pub starts: usize,
    /// Spread of the perturbed starts (unconstrained scale).
    #[serde(default = "default_spread")]
    pub spread: f64,
    /// L-BFGS iteration limit.
    #[serde(default = "default_iters")]
    pub max_iters: usize,
    /// Profile-likelihood intervals for every free parameter and ECS (each profile
    /// point re-optimises the other parameters).
    #[serde(default = "default_true")]
    pub profile: bool,
}

fn default_starts() -> usize {
    6
}
fn default_spread() -> f64 {
    0.5
}
fn default_iters() -> usize {
    500
}

impl Default for FitSection {
    fn default() -> Self {
        Self {
            starts: default_starts(),
            spread: default_spread(),
            max_iters: default_iters(),
            profile: true,
        }
    }
}

/// `[projection]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectionSection {
    /// Scenarios to project (default: every scenario of the forcing file).
    pub scenarios: Option<Vec<String>>,
    /// Last year of the projections (default: the last forcing year, at most 2100).
    pub end: Option<f64>,
    /// Number of parameter draws for the uncertainty bands.
    #[serde(default = "default_ensemble")]
    pub ensemble: usize,
    /// Baseline period for warming figures.
    #[serde(default = "default_baseline")]
    pub baseline: [f64; 2],
    /// Period whose mean warming is reported.
    #[serde(default = "default_period")]
    pub period: [f64; 2],
}

fn default_ensemble() -> usize {
    200
}
fn default_baseline() -> [f64; 2] {
    [1850.0, 1900.0]
}
fn default_period() -> [f64; 2] {
    [2081.0, 2100.0]
}

impl Default for ProjectionSection {
    fn default() -> Self {
        Self {
            scenarios: None,
            end: None,
            ensemble: default_ensemble(),
            baseline: default_baseline(),
            period: default_period(),
        }
    }
}

/// `[synthetic]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSection {
    /// Whether to run the synthetic case (data simulated from the fitted 2-box model).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Number of replicates for the coverage of the 95 % intervals.
    #[serde(default = "default_reps")]
    pub replicates: usize,
}

fn default_true() -> bool {
    true
}
fn default_reps() -> usize {
    20
}

impl Default for SyntheticSection {
    fn default() -> Self {
        Self {
            enabled: true,
            replicates: default_reps(),
        }
    }
}

/// `[bayes]`: NUTS over the Kalman likelihood with the documented default priors
/// ([`default_prior`](crate::ssm::ebm::bayes::default_prior); Geoffroy et al. 2013,
/// Cummins et al. 2020), which `priors` may replace per parameter, e.g.
/// `priors.kappa1 = { family = "log_normal", mu = 0.1, sigma = 0.5 }`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BayesSection {
    /// Whether to sample the posterior of every model.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Chains (run in parallel).
    #[serde(default = "default_chains")]
    pub chains: usize,
    /// Warm-up iterations per chain.
    #[serde(default = "default_warmup")]
    pub warmup: usize,
    /// Draws per chain.
    #[serde(default = "default_draws")]
    pub draws: usize,
    /// Also sample the 3-box model (else the smallest model) under the wide priors
    /// (every log-sd doubled) and report both ECS posteriors.
    #[serde(default = "default_true")]
    pub prior_sensitivity: bool,
    /// Priors replacing the defaults, by parameter name.
    #[serde(default)]
    pub priors: BTreeMap<String, Prior>,
}

fn default_chains() -> usize {
    4
}
fn default_warmup() -> usize {
    400
}
fn default_draws() -> usize {
    400
}

impl Default for BayesSection {
    fn default() -> Self {
        Self {
            enabled: true,
            chains: default_chains(),
            warmup: default_warmup(),
            draws: default_draws(),
            prior_sensitivity: true,
            priors: BTreeMap::new(),
        }
    }
}

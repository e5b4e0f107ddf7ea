//! What a twin experiment returns (serde, the content of `results.json`), and the
//! statistics it is made of.

use serde::{Deserialize, Serialize};

use super::config::MethodConfig;

/// Results of a twin experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwinResults {
    /// Name of the setting.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// Dimension of the assimilated state.
    pub n_state: usize,
    /// Number of cycles.
    pub cycles: usize,
    /// Cycles left out of the means.
    pub burn_in: usize,
    /// Model time between cycles.
    pub step_time: f64,
    /// Truth fields (cycles `1..=record_fields`), for Hovmöller diagrams.
    pub truth_fields: Option<Field>,
    /// One entry per method, in the order of the configuration.
    pub methods: Vec<MethodResult>,
}

/// A space–time field: `values[k * n_state + i]` is variable i at cycle k + 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Cycles stored.
    pub n_cycles: usize,
    /// Variables per cycle.
    pub n_state: usize,
    /// Row-major values.
    pub values: Vec<f64>,
}

/// RMSE and spread at every cycle `1..=cycles`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// `sqrt(mean_i (x̂_i − x_i)²)` of the estimate against the truth.
    pub rmse: Vec<f64>,
    /// `sqrt(mean_i σ_i²)` of the method's own uncertainty, where it has one.
    pub spread: Option<Vec<f64>>,
}

/// Time means over the cycles after the burn-in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Mean analysis RMSE.
    pub rmse_analysis: f64,
    /// Mean analysis spread.
    pub spread_analysis: Option<f64>,
    /// Mean forecast RMSE.
    pub rmse_forecast: f64,
    /// Mean forecast spread.
    pub spread_forecast: Option<f64>,
    /// Mean smoothed RMSE (EnKS).
    pub rmse_smoothed: Option<f64>,
}

/// Diagnostics of the method's internals, averaged over the cycles after the burn-in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// EnKF-N: mean estimated inflation.
    pub enkf_n_inflation: Option<f64>,
    /// LETKF: mean observations per local analysis.
    pub mean_local_obs: Option<f64>,
    /// Variational methods: mean minimiser iterations per cycle.
    pub mean_iterations: Option<f64>,
}

/// The results of one method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    /// Label.
    pub label: String,
    /// Its configuration.
    pub config: MethodConfig,
    /// Analysis statistics.
    pub analysis: Series,
    /// Forecast statistics.
    pub forecast: Series,
    /// Smoothed RMSE at cycles `1..=cycles − lag` (EnKS).
    pub smoothed_rmse: Option<Vec<f64>>,
    /// Time means after the burn-in.
    pub summary: Summary,
    /// Verification rank histogram of the forecast ensemble against the truth, pooled over
    /// variables and cycles after the burn-in (`N + 1` bins).
    pub rank_histogram: Option<Vec<u64>>,
    /// Analysis mean fields (cycles `1..=record_fields`).
    pub analysis_fields: Option<Field>,
    /// Internals.
    pub diagnostics: Diagnostics,
}

/// `sqrt(mean_i (a_i − b_i)²)`.
pub fn rmse(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    (a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / n as f64).sqrt()
}

/// Mean of `v[from..]` (NaN when empty).
pub fn mean_after(v: &[f64], from: usize) -> f64 {
    let tail = &v[from.min(v.len())..];
    tail.iter().sum::<f64>() / tail.len() as f64
}

/// The rank of `x` among `members` (number of members strictly below it; ties counted
/// half, rounded down, so that a tie does not bias the histogram to one side).
pub fn rank_of(x: f64, members: &[f64]) -> usize {
    let below = members.iter().filter(|&&m| m < x).count();
    let ties = members.iter().filter(|&&m| m == x).count();
    below + ties / 2
}

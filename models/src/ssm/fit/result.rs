//! What a fit reports: [`MleFit`] with every start ([`StartReport`]) and the trace of the
//! best ([`TraceRow`]), progress events ([`FitProgress`]), and derived estimates
//! ([`DerivedEstimate`]).

use mechml_engine::param::ParamLayout;
use serde::{Deserialize, Serialize};

/// 1.96: the 97.5 % point of the standard normal.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Progress of a fit, reported through the callback of
/// [`fit_mle`](super::fit_mle).
#[derive(Clone, Debug, PartialEq)]
pub enum FitProgress {
    /// A start finished (index, log-likelihood reached or the error).
    StartDone {
        /// Index of the start.
        index: usize,
        /// Final log-likelihood, if the start succeeded.
        loglik: Option<f64>,
    },
    /// The Hessian is being assembled.
    Hessian,
}

/// What one start did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartReport {
    /// Index (0 = the given start).
    pub index: usize,
    /// Starting values (natural scale, all parameters).
    pub start: Vec<f64>,
    /// Log-likelihood reached (None if the start failed).
    pub loglik: Option<f64>,
    /// L-BFGS iterations.
    pub iterations: usize,
    /// Objective evaluations.
    pub evaluations: usize,
    /// Whether a tolerance was met.
    pub converged: bool,
    /// Why the optimiser stopped, or the error.
    pub termination: String,
}

/// One row of the optimisation trace of the best start, on the natural scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceRow {
    /// Iteration.
    pub iteration: usize,
    /// Objective evaluations so far.
    pub evaluations: usize,
    /// Log-likelihood at the iterate.
    pub loglik: f64,
    /// Norm of the gradient of −ℓ/n (unconstrained coordinates).
    pub grad_norm: f64,
    /// All parameters (natural scale).
    pub params: Vec<f64>,
}

/// A maximum-likelihood fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MleFit {
    /// Parameter names.
    pub names: Vec<String>,
    /// Estimates (natural scale; fixed parameters at their values).
    pub estimate: Vec<f64>,
    /// Whether each parameter was free.
    pub free: Vec<bool>,
    /// The parameters as fitted: the given layout with
    /// [`FitOptions::fixed`](mechml_engine::optim::FitOptions::fixed) applied, values at
    /// the start (fixed parameters at their held values). Maps the unconstrained `z_hat`
    /// back to θ ([`ParamLayout::natural`]).
    pub layout: ParamLayout,
    /// Maximised log-likelihood.
    pub loglik: f64,
    /// Number of observed scalars n.
    pub n_obs: usize,
    /// Number of free parameters k.
    pub n_free: usize,
    /// AIC = 2k − 2ℓ.
    pub aic: f64,
    /// BIC = k ln n − 2ℓ.
    pub bic: f64,
    /// Standard errors (natural scale, delta method); None when fixed or not identifiable.
    pub se: Vec<Option<f64>>,
    /// Lower ends of 95 % intervals (on the transformed scale, mapped back).
    pub ci_low: Vec<Option<f64>>,
    /// Upper ends of 95 % intervals.
    pub ci_high: Vec<Option<f64>>,
    /// Free parameters at the optimum on the unconstrained scale.
    pub z_hat: Vec<f64>,
    /// Covariance of the free unconstrained parameters (column-major, k x k), if the
    /// observed information is positive definite.
    pub cov_z: Option<Vec<f64>>,
    /// Smallest and largest eigenvalue of the observed information (unconstrained scale).
    pub information_eigen_range: Option<(f64, f64)>,
    /// Whether the best start met a tolerance.
    pub converged: bool,
    /// Every start.
    pub starts: Vec<StartReport>,
    /// Index of the best start.
    pub best_start: usize,
    /// Trace of the best start.
    pub trace: Vec<TraceRow>,
}

/// A derived quantity's estimate with its delta-method standard error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DerivedEstimate {
    /// g(θ̂).
    pub value: f64,
    /// √(∇_z gᵀ Σ_z ∇_z g), if the covariance is available.
    pub se: Option<f64>,
    /// 95 % interval: on the log scale for positive quantities, else symmetric.
    pub ci: Option<(f64, f64)>,
}

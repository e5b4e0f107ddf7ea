//! What an optimiser returns: the minimiser, why it stopped, and the trace.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One row of the optimisation trace, recorded after each accepted iteration (and once for
/// the starting point, iteration 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// Iteration number (0 = starting point).
    pub iteration: usize,
    /// Objective evaluations used so far.
    pub evaluations: usize,
    /// Objective value at the iterate.
    pub value: f64,
    /// Euclidean norm of the gradient at the iterate.
    pub grad_norm: f64,
    /// Step length taken to reach this iterate (0 for iteration 0; the learning rate for Adam).
    pub step: f64,
    /// The iterate (empty if the options asked not to record parameters).
    pub params: Vec<f64>,
}

/// Why an optimiser stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Termination {
    /// `‖∇f‖∞ ≤ grad_tol`.
    GradientTolerance,
    /// The relative decrease `(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1)` fell below `f_tol`.
    ValueTolerance,
    /// The step `‖x_{k+1} − x_k‖∞` fell below `x_tol · (1 + ‖x_k‖∞)`.
    StepTolerance,
    /// The iteration limit was reached (not converged).
    MaxIterations,
    /// The evaluation limit was reached (not converged).
    MaxEvaluations,
    /// The line search found no step satisfying the strong Wolfe conditions, even along
    /// steepest descent (not converged); usually the gradient is inaccurate or the
    /// objective is at the limit of its floating-point resolution.
    LineSearchFailed {
        /// What the line search reported.
        reason: String,
    },
}

impl Termination {
    /// `true` for the tolerance-based stops.
    pub fn converged(&self) -> bool {
        matches!(
            self,
            Termination::GradientTolerance
                | Termination::ValueTolerance
                | Termination::StepTolerance
        )
    }
}

/// Result of a minimisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimResult {
    /// Best iterate found (the last accepted one).
    pub x: Vec<f64>,
    /// Objective value at `x`.
    pub value: f64,
    /// Gradient at `x`.
    pub gradient: Vec<f64>,
    /// Why the optimiser stopped.
    pub termination: Termination,
    /// Iterations taken.
    pub iterations: usize,
    /// Objective evaluations used.
    pub evaluations: usize,
    /// One entry per iteration, starting with the initial point.
    pub trace: Vec<TraceEntry>,
}

impl OptimResult {
    /// Whether a tolerance was met.
    pub fn converged(&self) -> bool {
        self.termination.converged()
    }

    /// `Ok(self)` if converged, else [`Error::NoConvergence`] naming the limit hit and the
    /// gradient norm reached.
    pub fn into_converged(self) -> Result<Self> {
        if self.converged() {
            return Ok(self);
        }
        let gnorm = super::norm2(&self.gradient);
        Err(Error::NoConvergence {
            op: "optim",
            iterations: self.iterations,
            detail: format!(
                "stopped by {:?} after {} evaluations with value {:e} and gradient norm {:e}; \
                 raise the limits, loosen the tolerances or rescale the parameters",
                self.termination, self.evaluations, self.value, gnorm
            ),
        })
    }
}

/// The trace being recorded by an optimiser: the rows so far, and whether they keep the
/// parameters (the options' `record_params`).
pub(crate) struct Trace {
    entries: Vec<TraceEntry>,
    keep_params: bool,
}

impl Trace {
    /// An empty trace.
    pub(crate) fn new(keep_params: bool) -> Self {
        Self {
            entries: Vec::new(),
            keep_params,
        }
    }

    /// Records the iterate `x` (value `value`, gradient `grad`) reached by a step of length
    /// `step` at iteration `iteration`, after `evaluations` objective evaluations.
    pub(crate) fn push(
        &mut self,
        iteration: usize,
        evaluations: usize,
        step: f64,
        x: &[f64],
        value: f64,
        grad: &[f64],
    ) {
        self.entries.push(TraceEntry {
            iteration,
            evaluations,
            value,
            grad_norm: super::norm2(grad),
            step,
            params: if self.keep_params {
                x.to_vec()
            } else {
                Vec::new()
            },
        });
    }

    /// The recorded rows.
    pub(crate) fn into_entries(self) -> Vec<TraceEntry> {
        self.entries
    }
}

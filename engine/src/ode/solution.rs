//! What a solve returns: the saved states, the dense output, and the statistics.

use serde::{Deserialize, Serialize};

use super::dense::DenseOutput;
use crate::error::{Error, Result};

/// Counts of a solve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdeStats {
    /// Accepted steps.
    pub n_accepted: usize,
    /// Rejected steps (error test or Newton failure).
    pub n_rejected: usize,
    /// Right-hand-side evaluations, excluding those made to form Jacobians (includes the
    /// evaluation of the starting-step heuristic).
    pub n_rhs: usize,
    /// Jacobian evaluations.
    pub n_jac: usize,
    /// LU factorisations.
    pub n_lu: usize,
    /// Newton iterations (implicit methods).
    pub n_newton_iters: usize,
    /// Newton failures (each one shrinks the step).
    pub n_newton_failures: usize,
}

impl OdeStats {
    /// Adds another solve's counts (e.g. a replay or a backward solve).
    pub fn add(&mut self, o: &OdeStats) {
        self.n_accepted += o.n_accepted;
        self.n_rejected += o.n_rejected;
        self.n_rhs += o.n_rhs;
        self.n_jac += o.n_jac;
        self.n_lu += o.n_lu;
        self.n_newton_iters += o.n_newton_iters;
        self.n_newton_failures += o.n_newton_failures;
    }

    /// Accepted plus rejected steps.
    pub fn n_steps(&self) -> usize {
        self.n_accepted + self.n_rejected
    }
}

/// The result of a solve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OdeSolution {
    /// The save times.
    pub ts: Vec<f64>,
    /// The states at the save times.
    pub ys: Vec<Vec<f64>>,
    /// Counts.
    pub stats: OdeStats,
    /// The dense output, if [`OdeOptions::dense`](super::OdeOptions::dense) was set.
    pub dense: Option<DenseOutput>,
}

impl OdeSolution {
    /// The last saved state (`y(t1)` unless other save times were asked for).
    pub fn y_final(&self) -> &[f64] {
        self.ys.last().map_or(&[], |v| v.as_slice())
    }

    /// `y(t)` from the dense output.
    ///
    /// # Errors
    /// [`Error::Unsupported`] without dense output; [`Error::InvalidOption`] outside the
    /// solved interval.
    pub fn evaluate(&self, t: f64) -> Result<Vec<f64>> {
        match &self.dense {
            Some(d) => d.eval(t),
            None => Err(Error::Unsupported {
                op: "OdeSolution::evaluate",
                reason: "the solve kept no dense output: set OdeOptions::dense = true".into(),
            }),
        }
    }
}

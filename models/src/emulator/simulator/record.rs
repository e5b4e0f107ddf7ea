//! What a run produced, and the set of runs of a design.

use serde::{Deserialize, Serialize};

/// The outcome of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunOutcome {
    /// The simulator returned outputs (and a Jacobian, row-major, if asked for).
    Ok {
        /// Outputs.
        outputs: Vec<f64>,
        /// `∂y_i/∂x_k`, row-major, when gradients were requested.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jacobian: Option<Vec<f64>>,
    },
    /// The simulator failed (an error, a panic, or outputs of the wrong length or not
    /// finite).
    Failed {
        /// Why.
        message: String,
    },
}

/// One run: which design point, its input, its outcome and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Index of the design point.
    pub index: usize,
    /// Physical input.
    pub input: Vec<f64>,
    /// Outcome.
    pub outcome: RunOutcome,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

impl RunRecord {
    /// Whether the run succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, RunOutcome::Ok { .. })
    }
}

/// Whether every point of the design has a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every point has a record (successful or failed).
    Complete,
    /// Stopped by the cancel flag: some points have no record yet.
    Interrupted,
}

/// Progress of a runner.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Runs finished (including those found in the log).
    pub done: usize,
    /// Of which failed.
    pub failed: usize,
    /// Runs in the design.
    pub total: usize,
    /// Seconds since this call started.
    pub elapsed: f64,
}

/// The runs of a design, by design index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSet {
    /// `records[i]`: the run of design point `i`, if it ran.
    pub records: Vec<Option<RunRecord>>,
    /// Complete or interrupted.
    pub status: RunStatus,
    /// Runs taken from the log instead of being run again.
    pub resumed: usize,
}

impl RunSet {
    /// Number of successful runs.
    pub fn n_ok(&self) -> usize {
        self.records.iter().flatten().filter(|r| r.is_ok()).count()
    }

    /// Inputs and outputs of the successful runs, in design order.
    pub fn successes(&self) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for r in self.records.iter().flatten() {
            if let RunOutcome::Ok { outputs, .. } = &r.outcome {
                xs.push(r.input.clone());
                ys.push(outputs.clone());
            }
        }
        (xs, ys)
    }

    /// The Jacobians of the successful runs (design order), where recorded.
    pub fn jacobians(&self) -> Vec<Option<Vec<f64>>> {
        self.records
            .iter()
            .flatten()
            .filter_map(|r| match &r.outcome {
                RunOutcome::Ok { jacobian, .. } => Some(jacobian.clone()),
                RunOutcome::Failed { .. } => None,
            })
            .collect()
    }

    /// Design indices and messages of the failed runs.
    pub fn failures(&self) -> Vec<(usize, String)> {
        self.records
            .iter()
            .flatten()
            .filter_map(|r| match &r.outcome {
                RunOutcome::Failed { message } => Some((r.index, message.clone())),
                RunOutcome::Ok { .. } => None,
            })
            .collect()
    }

    /// Design indices without a record (after an interruption).
    pub fn missing(&self) -> Vec<usize> {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_none())
            .map(|(i, _)| i)
            .collect()
    }
}

//! Simulators and the runs of a design.
//!
//! A [`Simulator`] maps physical inputs to a vector of outputs (a field is a vector: a
//! time series, a map), may fail, and may supply the Jacobian of its outputs. A [`Runner`]
//! evaluates a design: [`LocalRunner`] runs it on a rayon pool, records each run's outcome
//! (failures included) in an append-only JSON-lines [run log](RunLog) as it finishes, and
//! on a second call with the same log skips what is already done — so an interrupted
//! study resumes where it stopped, and a failing run never loses the finished ones. A
//! distributed runner (MPI ranks, a batch queue) implements the same trait.
//!
//! ```
//! use mechml_engine::Result;
//! use mechml_models::emulator::simulator::{LocalRunner, RunControl, Runner, Simulator};
//!
//! struct Square;
//! impl Simulator for Square {
//!     fn n_inputs(&self) -> usize { 1 }
//!     fn n_outputs(&self) -> usize { 1 }
//!     fn run(&self, x: &[f64]) -> Result<Vec<f64>> {
//!         if x[0] < 0.0 {
//!             return Err(mechml_engine::Error::invalid_option("Square", "x", x[0], "≥ 0"));
//!         }
//!         Ok(vec![x[0] * x[0]])
//!     }
//! }
//! let inputs = vec![vec![1.0], vec![-1.0], vec![3.0]];
//! let runs = LocalRunner::default().run(&Square, &inputs, &RunControl::default())?;
//! assert_eq!(runs.n_ok(), 2);
//! assert_eq!(runs.failures().len(), 1);            // recorded, not lost
//! let (x, y) = runs.successes();
//! assert_eq!((x[1][0], y[1][0]), (3.0, 9.0));
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod local;
mod log;
mod record;

pub use local::{LocalRunner, MAX_RUN_VALUES};
pub use log::{LOG_VERSION, LogHeader, RunLog};
pub use record::{Progress, RunOutcome, RunRecord, RunSet, RunStatus};

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use mechml_engine::{Error, Result};

/// A simulator: physical inputs → outputs, possibly failing, possibly with gradients.
///
/// Implementations must be `Sync`: a runner calls [`Simulator::run`] from several
/// threads at once.
pub trait Simulator: Sync {
    /// Number of inputs.
    fn n_inputs(&self) -> usize;
    /// Number of outputs (the length of every successful run's output vector).
    fn n_outputs(&self) -> usize;
    /// A name identifying the simulator and its settings in a run log (a log written by
    /// another simulator is refused on resume).
    fn name(&self) -> String {
        "simulator".into()
    }
    /// Runs at the physical input `x`.
    ///
    /// # Errors
    /// Any error: the runner records its message as the run's failure.
    fn run(&self, x: &[f64]) -> Result<Vec<f64>>;
    /// Whether [`Simulator::run_with_gradient`] is implemented.
    fn has_gradient(&self) -> bool {
        false
    }
    /// Outputs and their Jacobian `∂y_i/∂x_k`, row-major (`n_outputs × n_inputs`).
    fn run_with_gradient(&self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        let _ = x;
        Err(Error::Unsupported {
            op: "Simulator::run_with_gradient",
            reason: "this simulator supplies no derivatives".into(),
        })
    }
}

/// The progress callback of a runner: called after every finished run (in order of
/// completion, never concurrently).
pub type ProgressFn<'a> = &'a (dyn Fn(&Progress) + Sync);

/// How a design is run: where its log goes, who hears of progress, and how to stop it.
#[derive(Default)]
pub struct RunControl<'a> {
    /// The run log: records are appended as runs finish; runs already in it are not
    /// repeated (a log of another design or simulator is an error).
    pub log: Option<PathBuf>,
    /// Called after each finished run.
    pub progress: Option<ProgressFn<'a>>,
    /// When set (e.g. from a Ctrl-C handler or a progress callback), no new run starts;
    /// runs in flight finish and are logged, and the result says `Interrupted`.
    pub cancel: Option<&'a AtomicBool>,
    /// Ask the simulator for Jacobians (it must implement them).
    pub gradients: bool,
    /// Run again the runs that the log records as failed.
    pub retry_failed: bool,
}

/// Evaluates a design with a simulator.
pub trait Runner {
    /// Runs `sim` at every point of `inputs` (physical values), as [`RunControl`] says.
    ///
    /// # Errors
    /// Bad shapes, a size above the runner's bound, a log that belongs to another design
    /// or cannot be written. A failing simulator run is *not* an error: it is recorded.
    fn run(&self, sim: &dyn Simulator, inputs: &[Vec<f64>], ctl: &RunControl<'_>)
    -> Result<RunSet>;
}

//! Which forward states a reverse (adjoint) pass keeps: one vocabulary for ODE and SDE
//! gradients.

use serde::{Deserialize, Serialize};

/// Which forward states an adjoint keeps to replay the solve backwards.
///
/// With `N` steps, [`Checkpointing::Auto`] keeps about `√N` states and replays each
/// segment between them once (memory `O(√N)`, one extra forward pass; Griewank & Walther
/// 2008, "Evaluating Derivatives", §12.3).
///
/// ```
/// use mechml_engine::solver::Checkpointing;
/// assert_eq!(Checkpointing::Auto.interval(10_000), 100);
/// assert_eq!(Checkpointing::Every(7).interval(10_000), 7);
/// assert_eq!(Checkpointing::All.interval(10_000), 1);
/// assert_eq!(Checkpointing::Budget(10).interval(10_000), 1_000);
/// assert!(Checkpointing::Every(0).validate("ode").is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Checkpointing {
    /// About `√N` states: memory `O(√N)`, one extra forward pass.
    #[default]
    Auto,
    /// Every step's state (memory `O(N)` states, no replay of the primal).
    All,
    /// A state every this many steps (≥ 1).
    Every(usize),
    /// At most this many states.
    Budget(usize),
}

impl Checkpointing {
    /// Checks `Every(k)` and `Budget(b)` for `k, b ≥ 1`.
    pub fn validate(&self, op: &'static str) -> crate::error::Result<()> {
        match *self {
            Checkpointing::Every(0) => Err(crate::error::Error::invalid_option(
                op,
                "checkpointing",
                "Every(0)",
                "Every(k) with k ≥ 1",
            )),
            Checkpointing::Budget(0) => Err(crate::error::Error::invalid_option(
                op,
                "checkpointing",
                "Budget(0)",
                "Budget(b) with b ≥ 1",
            )),
            _ => Ok(()),
        }
    }

    /// Steps between checkpoints for a solve of `n_steps` steps (at least 1).
    pub fn interval(&self, n_steps: usize) -> usize {
        match *self {
            Checkpointing::Auto => (n_steps as f64).sqrt().ceil().max(1.0) as usize,
            Checkpointing::All => 1,
            Checkpointing::Every(k) => k.max(1),
            Checkpointing::Budget(b) => n_steps.div_ceil(b.max(1)).max(1),
        }
    }
}

//! What a solve is asked to do ([`SdeOptions`]) and what it returns ([`SdeSolution`]).

use crate::sde::controller::AdaptiveOptions;
use crate::solver::SaveAt;

/// How to choose the steps.
#[derive(Clone, Debug)]
pub enum Steps {
    /// `n_steps` equal steps of `h = (t1 − t0) / n_steps`.
    Fixed {
        /// Number of steps.
        n_steps: usize,
    },
    /// Error-controlled steps on the dyadic grid of the Brownian tree (methods with an
    /// embedded error estimate: [`Sra1`](crate::sde::Sra1)); see
    /// [`controller`](crate::sde::controller).
    Adaptive(AdaptiveOptions),
}

/// Options of [`solve`](crate::sde::solve()) and of the gradients of a solve.
#[derive(Clone, Debug)]
pub struct SdeOptions {
    /// Step selection.
    pub steps: Steps,
    /// Saved states ([`SaveAt::Final`]: the state at `t1`; [`SaveAt::Every`]`(k)`: `t0`,
    /// every `k`-th accepted step and `t1`; [`SaveAt::Times`]: these times, strictly
    /// increasing in `[t0, t1]`, on the step grid for fixed steps, where adaptive steps
    /// stop).
    pub save_at: SaveAt,
    /// Check every step's state for NaN/∞ and stop with an error naming time and component
    /// (default `true`).
    pub check_finite: bool,
}

impl Default for SdeOptions {
    /// 100 fixed steps, saving the final state, checking finiteness.
    fn default() -> Self {
        Self {
            steps: Steps::Fixed { n_steps: 100 },
            save_at: SaveAt::Final,
            check_finite: true,
        }
    }
}

impl SdeOptions {
    /// `n_steps` fixed steps, defaults elsewhere.
    pub fn fixed(n_steps: usize) -> Self {
        Self {
            steps: Steps::Fixed { n_steps },
            ..Self::default()
        }
    }

    /// Adaptive steps with these options, defaults elsewhere.
    pub fn adaptive(opts: AdaptiveOptions) -> Self {
        Self {
            steps: Steps::Adaptive(opts),
            ..Self::default()
        }
    }

    /// The same options, saving at `save_at`.
    pub fn saving(mut self, save_at: SaveAt) -> Self {
        self.save_at = save_at;
        self
    }

    /// The same options, with the per-step finiteness check on or off.
    pub fn checking_finite(mut self, check_finite: bool) -> Self {
        self.check_finite = check_finite;
        self
    }
}

/// What happened in a solve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SolveInfo {
    /// Accepted steps.
    pub n_steps: usize,
    /// Rejected steps (adaptive only).
    pub n_rejected: usize,
}

/// The saved states of one path.
#[derive(Clone, Debug, PartialEq)]
pub struct SdeSolution {
    /// Save times.
    pub t: Vec<f64>,
    /// States, `x[k * n_states + i]` = component `i` at `t[k]`.
    pub x: Vec<f64>,
    /// Number of states.
    pub n_states: usize,
    /// Step statistics.
    pub info: SolveInfo,
}

impl SdeSolution {
    /// Number of saved states.
    pub fn n_save(&self) -> usize {
        self.t.len()
    }
    /// The state at save time `k`.
    pub fn state(&self, k: usize) -> &[f64] {
        &self.x[k * self.n_states..(k + 1) * self.n_states]
    }
    /// The last saved state.
    pub fn final_state(&self) -> &[f64] {
        self.state(self.t.len() - 1)
    }
    /// Component `i` at every save time.
    pub fn component(&self, i: usize) -> Vec<f64> {
        self.x.chunks_exact(self.n_states).map(|x| x[i]).collect()
    }
}

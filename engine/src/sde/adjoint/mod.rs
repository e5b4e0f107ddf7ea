//! Pathwise gradients of SDE solutions with respect to the initial state and parameters.
//!
//! For a fixed Brownian path (common random numbers), the saved states of a solve are a
//! smooth function of `(x₀, p)`; [`solve_vjp`] computes vector–Jacobian products of that
//! map, and [`solve_on_tape`] records a whole solve as **one block** on a [`Tape`](crate::ad::Tape)
//! whose pullback is one of these methods ([`Sensitivity`]):
//!
//! * [`Sensitivity::DiscreteAdjoint`]: the exact derivative of the computed path. The
//!   pullback replays the forward pass from checkpoints (by
//!   [`Checkpointing`](crate::solver::Checkpointing): `Auto` keeps every `⌈√n⌉`-th state,
//!   memory `O(√n)` states) and takes each step's vector–Jacobian product on a small
//!   local tape, re-using the same Brownian increments.
//! * [`Sensitivity::Forward`]: the same derivative by forward pathwise sensitivities with
//!   dual numbers (8 input directions per pass over the path); the fastest choice when
//!   `d + P` is small.
//! * [`Sensitivity::Reversible`]: for [`ReversibleHeun`](super::ReversibleHeun), the
//!   exact adjoint of the computed path in O(1) memory: each earlier state is reconstructed
//!   from the later one in closed form (Kidger, Foster, Li & Lyons 2021, arXiv:2105.13493,
//!   §3 and Algorithm 2), then differentiated locally.
//! * [`Sensitivity::StochasticAdjoint`]: the continuous (optimise-then-discretise)
//!   stochastic adjoint of Li, Wong, Chen & Duvenaud (2020, arXiv:2001.01328, Theorem 3.3):
//!   the adjoint SDE of the Stratonovich form,
//!   ```text
//!   da = −aᵀ ∂f/∂x dt − Σⱼ aᵀ ∂gⱼ/∂x ∘ dWⱼ,     da_p = −aᵀ ∂f/∂p dt − Σⱼ aᵀ ∂gⱼ/∂p ∘ dWⱼ,
//!   ```
//!   solved backwards with stochastic Heun on the same Brownian increments. With
//!   `backsolve: true` the state is also solved backwards (O(1) memory, as in the paper;
//!   unstable for strongly contracting dynamics); with `false` it is replayed from
//!   checkpoints of the forward solve. It converges to the pathwise gradient as the step
//!   shrinks but is not the exact derivative of the computed path. Itô SDEs are converted
//!   with [`StratonovichForm`](super::StratonovichForm) (exact, differentiable).
//!
//! Adaptive solves are differentiated along their accepted steps, with the step sizes held
//! fixed (as diffrax and torchsde do).
//!
//! ```
//! use mechml_engine::ad::Tape;
//! use mechml_engine::solver::Checkpointing;
//! use mechml_engine::sde::{reference::Gbm, solve_on_tape, EulerMaruyama, SdeOptions,
//!     SdeProblem, Sensitivity, VirtualBrownianTree};
//! let n = 64;
//! let w = VirtualBrownianTree::builder(0.0, 1.0).seed(3).fixed_steps(n).build()?;
//! let tape = Tape::new();
//! let problem = SdeProblem::new(Gbm::ito(), 0.0, 1.0, tape.var_vec(&[1.0]),
//!     tape.var_vec(&[0.05, 0.2]))?;
//! let sens = Sensitivity::DiscreteAdjoint { checkpointing: Checkpointing::Auto };
//! let x = solve_on_tape(&tape, &problem, &EulerMaruyama, &w, &SdeOptions::fixed(n), sens)?;
//! let xt = x.get(0, 0).unwrap();
//! let g = tape.gradient(&xt)?;
//! // For GBM, ∂X(T)/∂X(0) = X(T)/X(0) on every path (the scheme is linear in x0).
//! assert!((g.wrt_vec(&problem.x0)[0] - xt.val()).abs() < 1e-12);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod block;
mod discrete;
mod ensemble;
mod forward;
mod noise;
mod plan;
mod reversible;
mod sensitivity;
mod stochastic;
mod vjp;

pub use block::{SdeSolveOp, solve_on_tape};
pub use ensemble::{EnsembleSolveOp, ensemble_on_tape, ensemble_vjp};
pub use plan::solve_vjp;
pub use sensitivity::{SdeGradients, Sensitivity};

pub(crate) use plan::{StepPlan, plan_and_solve, plan_vjp};

use crate::error::{Error, Result};

pub(crate) use noise::{NoiseReplay, StreamNoise, TreeNoise};

/// Checks the adjoints of a backward pass after its step back to `t` (step `k`, counted
/// from the start): the first non-finite entry is an error naming the pass, the time, and
/// the state component (`lam_x`, the method's state: `x` first) or parameter (`lam_p`).
pub(crate) fn check_adjoints(
    pass: &'static str,
    lam_x: &[f64],
    lam_p: &[f64],
    d: usize,
    t: f64,
    k: usize,
) -> Result<()> {
    let bad = |index: usize, value: f64, what: String| Error::NonFinite {
        op: "sde adjoint",
        index,
        value,
        context: format!(
            "{what} became non-finite at t = {t} (step {k}) in the backward pass of {pass}; \
             the drift or diffusion has a non-finite derivative there (e.g. √x at x = 0), \
             or the linearised dynamics overflow (shorten the interval or the step)"
        ),
    };
    if let Some(i) = lam_x.iter().position(|v| !v.is_finite()) {
        let what = if i < d {
            format!("the adjoint of state component {i}")
        } else {
            format!("the adjoint of entry {i} of the method's state (entries 0..{d} are x)")
        };
        return Err(bad(i, lam_x[i], what));
    }
    if let Some(j) = lam_p.iter().position(|v| !v.is_finite()) {
        return Err(bad(j, lam_p[j], format!("the adjoint of parameter {j}")));
    }
    Ok(())
}

/// Checks that a Brownian path type supports the random access a sensitivity needs.
pub(crate) fn require_random_access<N: NoiseReplay>(noise: &N, what: &str) -> Result<()> {
    if noise.random_access() {
        Ok(())
    } else {
        Err(Error::Unsupported {
            op: "sde adjoint",
            reason: format!(
                "{what} visits the Brownian increments backwards in time; use a Brownian tree \
                 (NoiseSource::Tree) rather than a forward-only normal stream"
            ),
        })
    }
}

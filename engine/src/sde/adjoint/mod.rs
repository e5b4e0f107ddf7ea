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
//! use mechml_engine::sde::{reference::Gbm, solve_on_tape, EulerMaruyama, Sensitivity,
//!     SolveOptions, Steps, VirtualBrownianTree};
//! let n = 64;
//! let w = VirtualBrownianTree::for_fixed_steps(0.0, 1.0, n, 1, 3, 0, false)?;
//! let opts = SolveOptions { steps: Steps::Fixed { n_steps: n }, ..Default::default() };
//! let tape = Tape::new();
//! let x0 = tape.var_vec(&[1.0]);
//! let p = tape.var_vec(&[0.05, 0.2]);
//! let sens = Sensitivity::DiscreteAdjoint { checkpointing: Checkpointing::Auto };
//! let x = solve_on_tape(&tape, &Gbm::ito(), &EulerMaruyama, 0.0, 1.0, &x0, &p, &w, &opts, sens)?;
//! let xt = x.get(0, 0).unwrap();
//! let g = tape.gradient(&xt)?;
//! // For GBM, ∂X(T)/∂X(0) = X(T)/X(0) on every path (the scheme is linear in x0).
//! assert!((g.wrt_vec(&x0)[0] - xt.val()).abs() < 1e-12);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod block;
mod discrete;
mod ensemble;
mod forward;
mod noise;
mod reversible;
mod stochastic;
mod vjp;

pub use block::{SdeSolveOp, solve_on_tape};
pub use ensemble::{EnsembleSolveOp, ensemble_on_tape, ensemble_vjp};

use super::brownian::VirtualBrownianTree;
use super::methods::SdeMethod;
use super::problem::{Sde, check_problem};
use super::solve::{FixedGrid, SolveOptions, Steps, adaptive_stops, check_brownian, run_adaptive};
use crate::error::{Error, Result};
use crate::solver::{Checkpointing, SaveAt};
use serde::{Deserialize, Serialize};

pub(crate) use noise::{NoiseReplay, StreamNoise, TreeNoise};

/// How a solve's pullback computes its vector–Jacobian product (see the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sensitivity {
    /// Exact discrete adjoint, replaying the steps from the states kept by `checkpointing`
    /// ([`Checkpointing::Auto`]: every `⌈√n⌉` steps).
    DiscreteAdjoint {
        /// Which forward states the backward pass keeps.
        checkpointing: Checkpointing,
    },
    /// Forward pathwise sensitivities (dual numbers).
    Forward,
    /// Reversible Heun's O(1)-memory exact adjoint.
    Reversible,
    /// The continuous stochastic adjoint of Li et al. (2020).
    StochasticAdjoint {
        /// Solve the state backwards too (O(1) memory) instead of replaying checkpoints.
        backsolve: bool,
    },
}

impl Default for Sensitivity {
    fn default() -> Self {
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::Auto,
        }
    }
}

impl Sensitivity {
    /// Checks the settings: `Checkpointing::Every(k)` and `Budget(b)` need `k, b ≥ 1`.
    pub fn validate(&self, op: &'static str) -> Result<()> {
        match self {
            Sensitivity::DiscreteAdjoint {
                checkpointing: c @ (Checkpointing::Every(0) | Checkpointing::Budget(0)),
            } => Err(Error::invalid_option(
                op,
                "checkpointing",
                format!("{c:?}"),
                "Every(k) or Budget(b) with k, b ≥ 1 (or Auto, All)",
            )),
            _ => Ok(()),
        }
    }

    /// Checks that `method` supports this sensitivity (the reversible adjoint needs an
    /// algebraically reversible method).
    pub(crate) fn check_method<M: SdeMethod>(&self, op: &'static str, method: &M) -> Result<()> {
        self.validate(op)?;
        if *self == Sensitivity::Reversible && !method.is_reversible() {
            return Err(Error::invalid_option(
                op,
                "sensitivity",
                format!("Reversible with {}", method.name()),
                "an algebraically reversible method (ReversibleHeun) for Sensitivity::Reversible",
            ));
        }
        Ok(())
    }
}

/// The step times of a solve and where it saved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StepPlan {
    /// `t_0 … t_n`.
    pub times: Vec<f64>,
    /// Save `s` is the state after step `save_idx[s]` (0 = the initial state).
    pub save_idx: Vec<usize>,
}

impl StepPlan {
    pub fn n_steps(&self) -> usize {
        self.times.len() - 1
    }

    /// For each step index, the save slot it feeds (if any).
    pub fn save_at(&self) -> Vec<Option<usize>> {
        let mut v = vec![None; self.times.len()];
        for (s, &k) in self.save_idx.iter().enumerate() {
            v[k] = Some(s);
        }
        v
    }

    /// The plan of a fixed-step solve.
    pub fn fixed(t0: f64, t1: f64, n_steps: usize, save: &SaveAt) -> Result<Self> {
        let grid = FixedGrid::new(t0, t1, n_steps)?;
        Ok(Self {
            times: (0..=grid.n).map(|k| grid.t(k)).collect(),
            save_idx: grid.save_indices(save)?,
        })
    }
}

/// The step plan and saved states of a solve (running an adaptive solve to find its
/// accepted steps).
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan_and_solve<S: Sde, M: SdeMethod>(
    sde: &S,
    method: &M,
    t0: f64,
    t1: f64,
    x0: &[f64],
    p: &[f64],
    bm: &VirtualBrownianTree,
    opts: &SolveOptions,
) -> Result<(StepPlan, Vec<f64>)> {
    check_problem(sde, x0, p)?;
    method.check(sde)?;
    check_brownian(sde, method, bm, t0, t1)?;
    let d = sde.n_states();
    match &opts.steps {
        Steps::Fixed { n_steps } => {
            let plan = StepPlan::fixed(t0, t1, *n_steps, &opts.save)?;
            let mut noise = TreeNoise::new(bm.fresh(), method.needs_levy_area());
            let mut saved = Vec::with_capacity(plan.save_idx.len() * d);
            let save_at = plan.save_at();
            forward::run_plan::<_, _, _, f64>(
                sde,
                method,
                &plan,
                x0,
                p,
                &mut noise,
                opts.check_finite,
                |k, y| {
                    if save_at[k].is_some() {
                        saved.extend_from_slice(&y[..d]);
                    }
                },
            )?;
            Ok((plan, saved))
        }
        Steps::Adaptive(aopts) => {
            let stops = adaptive_stops(t0, t1, &opts.save)?;
            let mut times = vec![t0];
            let mut save_idx = Vec::new();
            let mut saved = Vec::new();
            let every = match opts.save {
                SaveAt::Every(k) => k,
                _ => 0,
            };
            if every > 0 || matches!(&opts.save, SaveAt::Times(ts) if ts.first() == Some(&t0)) {
                save_idx.push(0);
                saved.extend_from_slice(x0);
            }
            let mut w = bm.fresh();
            run_adaptive(
                sde,
                method,
                t0,
                t1,
                x0,
                p,
                &mut w,
                aopts,
                &stops,
                opts.check_finite,
                |k, t, y, at_stop| {
                    times.push(t);
                    let keep = match &opts.save {
                        SaveAt::Final => t == t1,
                        SaveAt::Every(e) => k % e == 0 || t == t1,
                        SaveAt::Times(ts) => at_stop && ts.contains(&t),
                    };
                    if keep {
                        save_idx.push(k);
                        saved.extend_from_slice(&y[..d]);
                    }
                    Ok(())
                },
            )?;
            Ok((StepPlan { times, save_idx }, saved))
        }
    }
}

/// The gradients of a solve: adjoints of the initial state and of the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SdeGradients {
    /// `∂L/∂x₀`.
    pub x0: Vec<f64>,
    /// `∂L/∂p`.
    pub p: Vec<f64>,
}

/// The vector–Jacobian product of `(x₀, p) ↦ saved states` of [`solve`](super::solve())
/// on the Brownian tree `bm`, with `out_adj[k * d + i]` the adjoint of component `i` of
/// save `k`. Returns the saved states too.
#[allow(clippy::too_many_arguments)]
pub fn solve_vjp<S: Sde, M: SdeMethod>(
    sde: &S,
    method: &M,
    t0: f64,
    t1: f64,
    x0: &[f64],
    p: &[f64],
    bm: &VirtualBrownianTree,
    opts: &SolveOptions,
    sens: Sensitivity,
    out_adj: &[f64],
) -> Result<(Vec<f64>, SdeGradients)> {
    let (plan, saved) = plan_and_solve(sde, method, t0, t1, x0, p, bm, opts)?;
    crate::error::check_len("sde::solve_vjp", "out_adj", out_adj.len(), saved.len())?;
    let mut noise = TreeNoise::new(bm.fresh(), method.needs_levy_area());
    let g = plan_vjp(sde, method, &plan, x0, p, &mut noise, sens, out_adj)?;
    Ok((saved, g))
}

/// Dispatches a VJP over a known step plan.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan_vjp<S: Sde, M: SdeMethod, N: NoiseReplay>(
    sde: &S,
    method: &M,
    plan: &StepPlan,
    x0: &[f64],
    p: &[f64],
    noise: &mut N,
    sens: Sensitivity,
    out_adj: &[f64],
) -> Result<SdeGradients> {
    sens.check_method("sde::solve_vjp", method)?;
    match sens {
        Sensitivity::DiscreteAdjoint { checkpointing } => discrete::discrete_adjoint(
            sde,
            method,
            plan,
            x0,
            p,
            noise,
            out_adj,
            checkpointing.interval(plan.n_steps()),
        ),
        Sensitivity::Forward => forward::forward_vjp(sde, method, plan, x0, p, noise, out_adj),
        Sensitivity::Reversible => {
            reversible::reversible_adjoint(sde, method, plan, x0, p, noise, out_adj)
        }
        Sensitivity::StochasticAdjoint { backsolve } => {
            stochastic::stochastic_adjoint(sde, method, plan, x0, p, noise, out_adj, backsolve)
        }
    }
}

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

//! Step plans (the times of a solve's steps and where it saved), running a solve to find
//! one, and the VJP of a solve dispatched over a plan.

use super::sensitivity::{SdeGradients, Sensitivity};
use super::{NoiseReplay, TreeNoise, discrete, forward, reversible, stochastic};
use crate::error::Result;
use crate::sde::brownian::VirtualBrownianTree;
use crate::sde::methods::SdeMethod;
use crate::sde::problem::{Sde, SdeInputs, SdeProblem};
use crate::sde::solve::{
    AdaptiveRun, FixedGrid, PathInputs, SdeOptions, Steps, adaptive_stops, check_brownian,
    keep_adaptive, run_adaptive, saves_t0,
};
use crate::solver::SaveAt;

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

/// The step plan and saved states of a solve on the tree `bm` (running an adaptive solve
/// to find its accepted steps).
pub(crate) fn plan_and_solve<S: Sde, M: SdeMethod, V: SdeInputs>(
    problem: &SdeProblem<S, V>,
    method: &M,
    bm: &VirtualBrownianTree,
    opts: &SdeOptions,
) -> Result<(StepPlan, Vec<f64>)> {
    problem.validate()?;
    let (sde, t0, t1) = (&problem.sde, problem.t0, problem.t1);
    let (x0, p) = (problem.x0_values(), problem.p_values());
    method.check(sde)?;
    check_brownian(sde, method, bm, t0, t1)?;
    let d = sde.n_states();
    let path = PathInputs { sde, method, x0, p };
    match &opts.steps {
        Steps::Fixed { n_steps } => {
            let plan = StepPlan::fixed(t0, t1, *n_steps, &opts.save_at)?;
            let mut noise = TreeNoise::new(bm.fresh(), method.needs_levy_area());
            let mut saved = Vec::with_capacity(plan.save_idx.len() * d);
            let save_at = plan.save_at();
            forward::run_plan(path, &plan, &mut noise, opts.check_finite, |k, y| {
                if save_at[k].is_some() {
                    saved.extend_from_slice(&y[..d]);
                }
            })?;
            Ok((plan, saved))
        }
        Steps::Adaptive(aopts) => {
            let stops = adaptive_stops(t0, t1, &opts.save_at)?;
            let mut times = vec![t0];
            let mut save_idx = Vec::new();
            let mut saved = Vec::new();
            if saves_t0(&opts.save_at, t0) {
                save_idx.push(0);
                saved.extend_from_slice(x0);
            }
            let mut w = bm.fresh();
            let run = AdaptiveRun {
                opts: aopts,
                t0,
                t1,
                stops: &stops,
                check_finite: opts.check_finite,
            };
            run_adaptive(path, &run, &mut w, |k, t, y, at_stop| {
                times.push(t);
                if keep_adaptive(&opts.save_at, k, t, t1, at_stop) {
                    save_idx.push(k);
                    saved.extend_from_slice(&y[..d]);
                }
                Ok(())
            })?;
            Ok((StepPlan { times, save_idx }, saved))
        }
    }
}

/// The vector–Jacobian product of `(x₀, p) ↦ saved states` of [`solve`](crate::sde::solve())
/// on the Brownian tree `bm`, with `out_adj[k * d + i]` the adjoint of component `i` of
/// save `k`. Returns the saved states too.
pub fn solve_vjp<S: Sde, M: SdeMethod>(
    problem: &SdeProblem<S>,
    method: &M,
    bm: &VirtualBrownianTree,
    opts: &SdeOptions,
    sens: Sensitivity,
    out_adj: &[f64],
) -> Result<(Vec<f64>, SdeGradients)> {
    sens.check_method("sde::solve_vjp", method)?;
    let (plan, saved) = plan_and_solve(problem, method, bm, opts)?;
    crate::error::check_len("sde::solve_vjp", "out_adj", out_adj.len(), saved.len())?;
    let mut noise = TreeNoise::new(bm.fresh(), method.needs_levy_area());
    let path = PathInputs {
        sde: &problem.sde,
        method,
        x0: &problem.x0,
        p: &problem.p,
    };
    let g = plan_vjp(path, &plan, &mut noise, sens, out_adj)?;
    Ok((saved, g))
}

/// Dispatches a VJP over a known step plan.
pub(crate) fn plan_vjp<S: Sde, M: SdeMethod, N: NoiseReplay>(
    path: PathInputs<'_, S, M, f64>,
    plan: &StepPlan,
    noise: &mut N,
    sens: Sensitivity,
    out_adj: &[f64],
) -> Result<SdeGradients> {
    sens.check_method("sde::solve_vjp", path.method)?;
    match sens {
        Sensitivity::DiscreteAdjoint { checkpointing } => discrete::discrete_adjoint(
            path,
            plan,
            noise,
            out_adj,
            checkpointing.interval(plan.n_steps()),
        ),
        Sensitivity::Forward => forward::forward_vjp(path, plan, noise, out_adj),
        Sensitivity::Reversible => reversible::reversible_adjoint(path, plan, noise, out_adj),
        Sensitivity::StochasticAdjoint { backsolve } => {
            stochastic::stochastic_adjoint(path, plan, noise, out_adj, backsolve)
        }
    }
}

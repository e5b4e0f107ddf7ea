//! Gradients of losses of whole ensembles: the per-path vector–Jacobian products, replaying
//! each path's own noise, summed in path order (bitwise identical for any thread count).

use rayon::prelude::*;

use super::block::check_tape;
use super::{
    SdeGradients, Sensitivity, StepPlan, StreamNoise, TreeNoise, plan_and_solve, plan_vjp,
};
use crate::ad::{BlockArg, BlockOp, InputAdjoints, Tape, VarMat, VarVec};
use crate::error::Result;
use crate::linalg::Par;
use crate::sde::brownian::{BrownianTreeOptions, VirtualBrownianTree};
use crate::sde::ensemble::{
    EnsembleOptions, LANES, NoiseSource, adaptive_needs_tree, ensemble, path_seed, with_path,
};
use crate::sde::methods::SdeMethod;
use crate::sde::normal::Ziggurat;
use crate::sde::problem::{Sde, SdeProblem};
use crate::sde::solve::{FixedGrid, PathInputs, SdeOptions, Steps};

/// The vector–Jacobian product of `(x₀, p) ↦` the saved states of every path of
/// [`ensemble`] (with the same options), `out_adj[(path · n_save + k) · d + i]` being the
/// adjoint of component `i` of save `k` of `path` (the layout of
/// [`Ensemble::paths`](crate::sde::Ensemble::paths)).
///
/// Paths driven by normal streams ([`NoiseSource::Streams`]) are replayed forwards only,
/// so they support [`Sensitivity::Forward`] and [`Sensitivity::DiscreteAdjoint`] (whose
/// checkpoints keep the stream positions); trees support every sensitivity.
pub fn ensemble_vjp<S: Sde, M: SdeMethod>(
    problem: &SdeProblem<S>,
    method: &M,
    opts: &EnsembleOptions,
    sens: Sensitivity,
    out_adj: &[f64],
) -> Result<SdeGradients> {
    problem.validate()?;
    opts.validate()?;
    sens.check_method("sde::ensemble_vjp", method)?;
    let (sde, t0, t1) = (&problem.sde, problem.t0, problem.t1);
    let (x0, p) = (&problem.x0[..], &problem.p[..]);
    method.check(sde)?;
    let d = sde.n_states();
    let m = sde.n_noise();
    let area = method.needs_levy_area();
    let solve_opts = SdeOptions {
        steps: opts.steps.clone(),
        save_at: opts.save_at.clone(),
        check_finite: opts.check_finite,
    };
    let fixed = match &opts.steps {
        Steps::Fixed { n_steps } => Some(StepPlan::fixed(t0, t1, *n_steps, &opts.save_at)?),
        Steps::Adaptive(_) => None,
    };
    let per_path = match &fixed {
        Some(plan) => plan.save_idx.len() * d,
        None => match &opts.save_at {
            crate::solver::SaveAt::Times(ts) => ts.len() * d,
            _ => d,
        },
    };
    crate::error::check_len(
        "sde::ensemble_vjp",
        "out_adj",
        out_adj.len(),
        opts.n_paths * per_path,
    )?;
    let zig = Ziggurat::new();
    let inputs = PathInputs { sde, method, x0, p };
    let one_path = |path: usize, acc: &mut SdeGradients| -> Result<()> {
        let seed = path_seed(opts.seed, path as u64);
        let adj = &out_adj[path * per_path..(path + 1) * per_path];
        let g = match (opts.noise, &fixed) {
            (NoiseSource::Streams, Some(plan)) => {
                let h = FixedGrid::new(t0, t1, plan.n_steps())?.h();
                let mut noise = StreamNoise::new(seed, &zig, m, h, area);
                plan_vjp(inputs, plan, &mut noise, sens, adj)
            }
            (NoiseSource::Tree, Some(plan)) => {
                let tree = VirtualBrownianTree::builder(t0, t1)
                    .dim(m)
                    .seed(seed)
                    .levy_area(area)
                    .fixed_steps(plan.n_steps())
                    .build()?;
                let mut noise = TreeNoise::new(tree, area);
                plan_vjp(inputs, plan, &mut noise, sens, adj)
            }
            (NoiseSource::Tree, None) => {
                let tree_opts = BrownianTreeOptions {
                    depth: opts.tree_depth,
                    levy_area: area,
                };
                let tree = VirtualBrownianTree::new(t0, t1, m, seed, tree_opts)?;
                let (plan, _) = plan_and_solve(problem, method, &tree, &solve_opts)?;
                let mut noise = TreeNoise::new(tree, area);
                plan_vjp(inputs, &plan, &mut noise, sens, adj)
            }
            (NoiseSource::Streams, None) => Err(adaptive_needs_tree("sde::ensemble_vjp")),
        }
        .map_err(|e| with_path(e, path))?;
        for (a, b) in acc.x0.iter_mut().zip(&g.x0) {
            *a += b;
        }
        for (a, b) in acc.p.iter_mut().zip(&g.p) {
            *a += b;
        }
        Ok(())
    };
    let n_blocks = opts.n_paths.div_ceil(LANES);
    let block = |b: usize| -> Result<SdeGradients> {
        let mut acc = SdeGradients {
            x0: vec![0.0; d],
            p: vec![0.0; p.len()],
        };
        for path in b * LANES..((b + 1) * LANES).min(opts.n_paths) {
            one_path(path, &mut acc)?;
        }
        Ok(acc)
    };
    let parts: Vec<Result<SdeGradients>> = match opts.par {
        Par::Seq => (0..n_blocks).map(block).collect(),
        _ => (0..n_blocks).into_par_iter().map(block).collect(),
    };
    let mut total = SdeGradients {
        x0: vec![0.0; d],
        p: vec![0.0; p.len()],
    };
    for part in parts {
        let part = part?;
        for (a, b) in total.x0.iter_mut().zip(&part.x0) {
            *a += b;
        }
        for (a, b) in total.p.iter_mut().zip(&part.p) {
            *a += b;
        }
    }
    Ok(total)
}

/// The record of an ensemble on a tape: inputs `x₀`, `p`; outputs every path's saved
/// states. Its pullback is [`ensemble_vjp`].
pub struct EnsembleSolveOp<S, M> {
    problem: SdeProblem<S>,
    method: M,
    opts: EnsembleOptions,
    sens: Sensitivity,
}

impl<S: Sde, M: SdeMethod> BlockOp for EnsembleSolveOp<S, M> {
    fn name(&self) -> &'static str {
        "sde_ensemble"
    }
    fn pullback(&self, out_adj: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let g = ensemble_vjp(&self.problem, &self.method, &self.opts, self.sens, out_adj)?;
        if let Some(mut a) = inputs.arg(0) {
            for (a, g) in a.iter_mut().zip(&g.x0) {
                *a += g;
            }
        }
        if let Some(mut a) = inputs.arg(1) {
            for (a, g) in a.iter_mut().zip(&g.p) {
                *a += g;
            }
        }
        Ok(())
    }
}

/// Runs [`ensemble`] on `problem` (whose `x0` and `p` are variables on `tape`) and records
/// it as one block: returns every path's saved states as a `d × (n_paths · n_save)` matrix
/// (column `path · n_save + k`), so that a loss of the ensemble (e.g. the mean over paths
/// of a function of the final state) is differentiated with respect to `x0` and `p` by
/// [`ensemble_vjp`].
pub fn ensemble_on_tape<'t, S, M>(
    tape: &'t Tape,
    problem: &SdeProblem<S, VarVec<'t>>,
    method: &M,
    opts: &EnsembleOptions,
    sens: Sensitivity,
) -> Result<VarMat<'t>>
where
    S: Sde + Clone + 'static,
    M: SdeMethod,
{
    check_tape(tape, problem, "sde_ensemble")?;
    sens.check_method("sde::ensemble_on_tape", method)?;
    let run = EnsembleOptions {
        keep_paths: true,
        ..opts.clone()
    };
    let values_problem = SdeProblem {
        sde: problem.sde.clone(),
        t0: problem.t0,
        t1: problem.t1,
        x0: problem.x0_values().to_vec(),
        p: problem.p_values().to_vec(),
    };
    let ens = ensemble(&values_problem, method, &run)?;
    let values = ens.paths.unwrap_or_default();
    let d = problem.sde.n_states();
    let cols = values.len() / d;
    let op = EnsembleSolveOp {
        problem: values_problem,
        method: method.clone(),
        opts: run,
        sens,
    };
    let args: [BlockArg<'_>; 2] = [problem.x0.arg(), problem.p.arg()];
    let start = tape.push_block(op, &args, values.len())?;
    Ok(VarMat::from_block(tape, start, d, cols, values))
}

//! Gradients of losses of whole ensembles: the per-path vector–Jacobian products, replaying
//! each path's own noise, summed in path order (bitwise identical for any thread count).

use faer::Par;
use rayon::prelude::*;

use super::{
    SdeGradients, Sensitivity, StepPlan, StreamNoise, TreeNoise, plan_and_solve, plan_vjp,
};
use crate::ad::{BlockArg, BlockOp, InputAdjoints, Tape, VarMat, VarVec};
use crate::error::{Error, Result};
use crate::sde::brownian::{BrownianTreeOptions, VirtualBrownianTree};
use crate::sde::ensemble::{EnsembleOptions, LANES, NoiseSource, ensemble, path_seed, with_path};
use crate::sde::methods::SdeMethod;
use crate::sde::normal::Ziggurat;
use crate::sde::problem::{Sde, check_problem};
use crate::sde::solve::{FixedGrid, SolveOptions, Steps};

/// The vector–Jacobian product of `(x₀, p) ↦` the saved states of every path of
/// [`ensemble`] (with the same options), `out_adj[(path · n_save + k) · d + i]` being the
/// adjoint of component `i` of save `k` of `path` (the layout of
/// [`Ensemble::paths`](crate::sde::Ensemble::paths)).
///
/// Paths driven by normal streams ([`NoiseSource::Streams`]) are replayed forwards only,
/// so they support [`Sensitivity::Forward`] and [`Sensitivity::DiscreteAdjoint`] (whose
/// checkpoints keep the stream positions); trees support every sensitivity.
#[allow(clippy::too_many_arguments)]
pub fn ensemble_vjp<S: Sde, M: SdeMethod>(
    sde: &S,
    method: &M,
    t0: f64,
    t1: f64,
    x0: &[f64],
    p: &[f64],
    opts: &EnsembleOptions,
    sens: Sensitivity,
    out_adj: &[f64],
) -> Result<SdeGradients> {
    check_problem(sde, x0, p)?;
    method.check(sde)?;
    let d = sde.n_states();
    let m = sde.n_noise();
    let area = method.needs_levy_area();
    let solve_opts = SolveOptions {
        steps: opts.steps.clone(),
        save: opts.save.clone(),
        check_finite: opts.check_finite,
    };
    let fixed = match &opts.steps {
        Steps::Fixed { n_steps } => Some(StepPlan::fixed(t0, t1, *n_steps, &opts.save)?),
        Steps::Adaptive(_) => None,
    };
    let per_path = match &fixed {
        Some(plan) => plan.save_idx.len() * d,
        None => match &opts.save {
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
    let one_path = |path: usize, acc: &mut SdeGradients| -> Result<()> {
        let seed = path_seed(opts.seed, path as u64);
        let adj = &out_adj[path * per_path..(path + 1) * per_path];
        let g = match (opts.noise, &fixed) {
            (NoiseSource::Streams, Some(plan)) => {
                let h = FixedGrid::new(t0, t1, plan.n_steps())?.h();
                let mut noise = StreamNoise::new(seed, &zig, m, h, area);
                plan_vjp(sde, method, plan, x0, p, &mut noise, sens, adj)
            }
            (NoiseSource::Tree, Some(plan)) => {
                let tree =
                    VirtualBrownianTree::for_fixed_steps(t0, t1, plan.n_steps(), m, seed, 0, area)?;
                let mut noise = TreeNoise::new(tree, area);
                plan_vjp(sde, method, plan, x0, p, &mut noise, sens, adj)
            }
            (NoiseSource::Tree, None) => {
                let tree_opts = BrownianTreeOptions {
                    depth: opts.tree_depth,
                    levy_area: area,
                };
                let tree = VirtualBrownianTree::new(t0, t1, m, seed, tree_opts)?;
                let (plan, _) = plan_and_solve(sde, method, t0, t1, x0, p, &tree, &solve_opts)?;
                let mut noise = TreeNoise::new(tree, area);
                plan_vjp(sde, method, &plan, x0, p, &mut noise, sens, adj)
            }
            (NoiseSource::Streams, None) => Err(Error::InvalidArgument {
                op: "sde::ensemble_vjp",
                message: "adaptive steps need NoiseSource::Tree".into(),
            }),
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
    sde: S,
    method: M,
    t0: f64,
    t1: f64,
    x0: Vec<f64>,
    p: Vec<f64>,
    opts: EnsembleOptions,
    sens: Sensitivity,
}

impl<S: Sde, M: SdeMethod> BlockOp for EnsembleSolveOp<S, M> {
    fn name(&self) -> &'static str {
        "sde_ensemble"
    }
    fn pullback(&self, out_adj: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let g = ensemble_vjp(
            &self.sde,
            &self.method,
            self.t0,
            self.t1,
            &self.x0,
            &self.p,
            &self.opts,
            self.sens,
            out_adj,
        )?;
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

/// Runs [`ensemble`] and records it as one block: returns every path's saved states as a
/// `d × (n_paths · n_save)` matrix (column `path · n_save + k`), so that a loss of the
/// ensemble (e.g. the mean over paths of a function of the final state) is differentiated
/// with respect to `x0` and `p` by [`ensemble_vjp`].
#[allow(clippy::too_many_arguments)]
pub fn ensemble_on_tape<'t, S, M>(
    tape: &'t Tape,
    sde: &S,
    method: &M,
    t0: f64,
    t1: f64,
    x0: &VarVec<'t>,
    p: &VarVec<'t>,
    opts: &EnsembleOptions,
    sens: Sensitivity,
) -> Result<VarMat<'t>>
where
    S: Sde + Clone + 'static,
    M: SdeMethod,
{
    let run = EnsembleOptions {
        keep_paths: true,
        ..opts.clone()
    };
    let ens = ensemble(sde, method, t0, t1, x0.values(), p.values(), &run)?;
    let values = ens.paths.unwrap_or_default();
    let d = sde.n_states();
    let cols = values.len() / d;
    let op = EnsembleSolveOp {
        sde: sde.clone(),
        method: method.clone(),
        t0,
        t1,
        x0: x0.values().to_vec(),
        p: p.values().to_vec(),
        opts: run,
        sens,
    };
    let args: [BlockArg<'_>; 2] = [x0.arg(), p.arg()];
    let start = tape.push_block(op, &args, values.len())?;
    Ok(VarMat::from_block(tape, start, d, cols, values))
}

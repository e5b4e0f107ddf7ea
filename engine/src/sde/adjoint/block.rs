//! A whole SDE solve as one block on the tape.

use super::forward::forward_jvp;
use super::{Sensitivity, StepPlan, TreeNoise, plan_and_solve, plan_vjp};
use crate::ad::{BlockArg, BlockOp, InputAdjoints, InputTangents, Tape, VarMat, VarVec};
use crate::error::Result;
use crate::sde::brownian::VirtualBrownianTree;
use crate::sde::methods::SdeMethod;
use crate::sde::problem::{Sde, SdeProblem};
use crate::sde::solve::{PathInputs, SdeOptions};

/// The record of one solve on a tape: inputs `x₀` (argument 0) and `p` (argument 1),
/// outputs the saved states (`d × n_save`, column `k` = save `k`). Its pullback runs the
/// chosen [`Sensitivity`] on the same Brownian tree; its pushforward is a forward
/// sensitivity pass.
pub struct SdeSolveOp<S, M> {
    sde: S,
    method: M,
    tree: VirtualBrownianTree,
    plan: StepPlan,
    x0: Vec<f64>,
    p: Vec<f64>,
    sens: Sensitivity,
}

impl<S, M> SdeSolveOp<S, M> {
    fn path(&self) -> PathInputs<'_, S, M, f64> {
        PathInputs {
            sde: &self.sde,
            method: &self.method,
            x0: &self.x0,
            p: &self.p,
        }
    }
}

impl<S, M> BlockOp for SdeSolveOp<S, M>
where
    S: Sde,
    M: SdeMethod,
{
    fn name(&self) -> &'static str {
        "sde_solve"
    }

    fn pullback(&self, out_adj: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let mut noise = TreeNoise::new(self.tree.fresh(), self.method.needs_levy_area());
        let g = plan_vjp(self.path(), &self.plan, &mut noise, self.sens, out_adj)?;
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

    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out_tan: &mut [f64]) -> Result<()> {
        let zx = vec![0.0; self.x0.len()];
        let zp = vec![0.0; self.p.len()];
        let vx = inputs.arg(0);
        let vp = inputs.arg(1);
        let mut noise = TreeNoise::new(self.tree.fresh(), self.method.needs_levy_area());
        let jv = forward_jvp(
            self.path(),
            &self.plan,
            &mut noise,
            vx.as_deref().unwrap_or(&zx),
            vp.as_deref().unwrap_or(&zp),
        )?;
        out_tan.copy_from_slice(&jv);
        Ok(())
    }
}

/// Solves `problem` (whose `x0` and `p` are variables on `tape`) on the Brownian tree `bm`
/// and records the solve as one block on `tape`. Returns the saved states as a
/// `d × n_save` matrix (column `k` = save `k`); a loss built from them is differentiated
/// with respect to `x0` and `p` by the pullback chosen with `sens` (see the
/// [module docs](super)). Errors as for [`solve`](crate::sde::solve()), and
/// [`Error::MixedTapes`](crate::Error::MixedTapes) for inputs on another tape.
pub fn solve_on_tape<'t, S, M>(
    tape: &'t Tape,
    problem: &SdeProblem<S, VarVec<'t>>,
    method: &M,
    bm: &VirtualBrownianTree,
    opts: &SdeOptions,
    sens: Sensitivity,
) -> Result<VarMat<'t>>
where
    S: Sde + Clone + 'static,
    M: SdeMethod,
{
    check_tape(tape, problem, "sde_solve")?;
    sens.check_method("sde::solve_on_tape", method)?;
    let (plan, saved) = plan_and_solve(problem, method, bm, opts)?;
    let d = problem.sde.n_states();
    let n_save = plan.save_idx.len();
    let op = SdeSolveOp {
        sde: problem.sde.clone(),
        method: method.clone(),
        tree: bm.fresh(),
        plan,
        x0: problem.x0_values().to_vec(),
        p: problem.p_values().to_vec(),
        sens,
    };
    let args: [BlockArg<'_>; 2] = [problem.x0.arg(), problem.p.arg()];
    let start = tape.push_block(op, &args, saved.len())?;
    Ok(VarMat::from_block(tape, start, d, n_save, saved))
}

/// Checks that the variables of a tape problem live on `tape`.
pub(crate) fn check_tape<S>(
    tape: &Tape,
    problem: &SdeProblem<S, VarVec<'_>>,
    op: &'static str,
) -> Result<()> {
    for t in [problem.x0.tape(), problem.p.tape()].into_iter().flatten() {
        if !std::ptr::eq(t, tape) {
            return Err(crate::Error::MixedTapes { op });
        }
    }
    Ok(())
}

//! A whole SDE solve as one block on the tape.

use super::forward::forward_jvp;
use super::{Sensitivity, StepPlan, TreeNoise, plan_and_solve, plan_vjp};
use crate::ad::{BlockArg, BlockOp, InputAdjoints, InputTangents, Tape, VarMat, VarVec};
use crate::error::Result;
use crate::sde::brownian::VirtualBrownianTree;
use crate::sde::methods::SdeMethod;
use crate::sde::problem::Sde;
use crate::sde::solve::SolveOptions;

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
        let g = plan_vjp(
            &self.sde,
            &self.method,
            &self.plan,
            &self.x0,
            &self.p,
            &mut noise,
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

    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out_tan: &mut [f64]) -> Result<()> {
        let zx = vec![0.0; self.x0.len()];
        let zp = vec![0.0; self.p.len()];
        let vx = inputs.arg(0);
        let vp = inputs.arg(1);
        let mut noise = TreeNoise::new(self.tree.fresh(), self.method.needs_levy_area());
        let jv = forward_jvp(
            &self.sde,
            &self.method,
            &self.plan,
            &self.x0,
            &self.p,
            &mut noise,
            vx.as_deref().unwrap_or(&zx),
            vp.as_deref().unwrap_or(&zp),
        )?;
        out_tan.copy_from_slice(&jv);
        Ok(())
    }
}

/// Solves `sde` on the Brownian tree `bm` and records the solve as one block on `tape`.
/// Returns the saved states as a `d × n_save` matrix (column `k` = save `k`); a loss built
/// from them is differentiated with respect to `x0` and `p` by the pullback chosen with
/// `sens` (see the [module docs](super)). Errors as for [`solve`](crate::sde::solve()).
#[allow(clippy::too_many_arguments)]
pub fn solve_on_tape<'t, S, M>(
    tape: &'t Tape,
    sde: &S,
    method: &M,
    t0: f64,
    t1: f64,
    x0: &VarVec<'t>,
    p: &VarVec<'t>,
    bm: &VirtualBrownianTree,
    opts: &SolveOptions,
    sens: Sensitivity,
) -> Result<VarMat<'t>>
where
    S: Sde + Clone + 'static,
    M: SdeMethod,
{
    let (plan, saved) = plan_and_solve(sde, method, t0, t1, x0.values(), p.values(), bm, opts)?;
    sens.check_method("sde::solve_on_tape", method)?;
    let d = sde.n_states();
    let n_save = plan.save_idx.len();
    let op = SdeSolveOp {
        sde: sde.clone(),
        method: method.clone(),
        tree: bm.fresh(),
        plan,
        x0: x0.values().to_vec(),
        p: p.values().to_vec(),
        sens,
    };
    let args: [BlockArg<'_>; 2] = [x0.arg(), p.arg()];
    let start = tape.push_block(op, &args, saved.len())?;
    Ok(VarMat::from_block(tape, start, d, n_save, saved))
}

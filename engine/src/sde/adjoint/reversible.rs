//! The O(1)-memory exact adjoint of an algebraically reversible method (Kidger, Foster, Li &
//! Lyons 2021, arXiv:2105.13493, §3): run forward keeping only the final state, then walk
//! back step by step, reconstructing each earlier state from the later one with
//! [`SdeMethod::reverse`] and taking the step's vector–Jacobian product there. The result
//! is the derivative of the computed path up to the rounding of the reconstruction.

use super::vjp::LocalVjp;
use super::{NoiseReplay, SdeGradients, StepPlan, check_adjoints, require_random_access};
use crate::error::{Error, Result};
use crate::sde::methods::{SdeMethod, Workspace};
use crate::sde::problem::Sde;
use crate::sde::solve::{IncrementBuf, PathInputs};

const PASS: &str = "the reversible adjoint";

pub(crate) fn reversible_adjoint<S: Sde, M: SdeMethod, N: NoiseReplay>(
    path: PathInputs<'_, S, M, f64>,
    plan: &StepPlan,
    noise: &mut N,
    out_adj: &[f64],
) -> Result<SdeGradients> {
    let PathInputs { sde, method, x0, p } = path;
    require_random_access(noise, "the reversible adjoint")?;
    let d = sde.n_states();
    let n = plan.n_steps();
    let t = &plan.times;
    let save_at = plan.save_at();
    let mut y = super::forward::run_plan(path, plan, noise, true, |_, _| {}).map_err(|e| {
        e.with_context_prefix(
            "forward pass of the reversible adjoint (it reconstructs the path from the \
                     final state, which must be finite): ",
        )
    })?;
    let sl = y.len();
    let mut prev = vec![0.0; sl];
    let mut ws = Workspace::<f64>::new(sde);
    let mut inc = IncrementBuf::new(noise.dim(), noise.with_area());
    let mut vjp = LocalVjp::new(sde, method, p);
    let mut lam = vec![0.0; sl];
    let mut lam_prev = vec![0.0; sl];
    let mut lam_p = vec![0.0; p.len()];
    let add_out = |k: usize, lam: &mut [f64]| {
        if let Some(s) = save_at[k] {
            for i in 0..d {
                lam[i] += out_adj[s * d + i];
            }
        }
    };
    add_out(n, &mut lam);
    for k in (0..n).rev() {
        noise.at(t[k], t[k + 1], &mut inc)?;
        method.reverse(sde, &inc.get(), p, &y, &mut prev, &mut ws)?;
        if let Some(i) = prev.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                op: method.name(),
                index: i,
                value: prev[i],
                context: format!(
                    "the reverse reconstruction of the reversible adjoint gave a non-finite \
                     entry {i} of the method's state (entries 0..{d} are x) at t = {} (step \
                     {k}); reverse steps amplify rounding where the forward steps are \
                     unstable: use Sensitivity::DiscreteAdjoint there",
                    t[k]
                ),
            });
        }
        vjp.step(&inc.get(), &prev, &lam, &mut lam_prev, &mut lam_p)?;
        std::mem::swap(&mut lam, &mut lam_prev);
        std::mem::swap(&mut y, &mut prev);
        add_out(k, &mut lam);
        check_adjoints(PASS, &lam, &lam_p, d, t[k], k)?;
    }
    let gx0 = vjp.init(t[0], x0, &lam, &mut lam_p)?;
    check_adjoints(PASS, &gx0, &lam_p, d, t[0], 0)?;
    Ok(SdeGradients { x0: gx0, p: lam_p })
}

//! Replaying a step plan over any scalar type, and forward pathwise sensitivities.

use super::{NoiseReplay, SdeGradients, StepPlan};
use crate::ad::{DualN, Real};
use crate::error::Result;
use crate::sde::methods::{SdeMethod, Workspace};
use crate::sde::problem::Sde;
use crate::sde::solve::{IncrementBuf, non_finite_error};

/// Tangent directions per forward pass.
const LANES: usize = 8;

/// Runs the steps of `plan` from the noise's current position, calling `visit(k, state)`
/// for the initial state (`k = 0`) and after every step.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_plan<S, M, N, R>(
    sde: &S,
    method: &M,
    plan: &StepPlan,
    x0: &[R],
    p: &[R],
    noise: &mut N,
    check_finite: bool,
    mut visit: impl FnMut(usize, &[R]),
) -> Result<Vec<R>>
where
    S: Sde,
    M: SdeMethod,
    N: NoiseReplay,
    R: Real,
{
    let d = sde.n_states();
    let gl = sde.noise().diffusion_len(d, sde.n_noise());
    let sl = method.state_len(d, gl);
    let mut ws = Workspace::<R>::new(sde);
    let mut y = vec![R::zero(); sl];
    let mut next = vec![R::zero(); sl];
    let t = &plan.times;
    method.init(sde, t[0], x0, p, &mut y);
    visit(0, &y);
    let mut inc = IncrementBuf::new(noise.dim(), noise.with_area());
    for k in 0..plan.n_steps() {
        noise.next(t[k], t[k + 1], &mut inc)?;
        method.step(
            sde,
            t[k],
            t[k + 1] - t[k],
            &inc.get(),
            p,
            &y,
            &mut next,
            &mut ws,
        );
        std::mem::swap(&mut y, &mut next);
        if check_finite && let Some(e) = non_finite_error(method.name(), &y[..d], t[k + 1], k + 1) {
            return Err(e);
        }
        visit(k + 1, &y);
    }
    Ok(y)
}

/// `Jᵀ out_adj` by forward sensitivities: `⌈(d + P)/8⌉` passes over the path with
/// [`DualN<8>`] numbers seeded on 8 of the inputs `(x₀, p)` each.
pub(crate) fn forward_vjp<S: Sde, M: SdeMethod, N: NoiseReplay>(
    sde: &S,
    method: &M,
    plan: &StepPlan,
    x0: &[f64],
    p: &[f64],
    noise: &mut N,
    out_adj: &[f64],
) -> Result<SdeGradients> {
    let d = sde.n_states();
    let n_in = d + p.len();
    let mut grad = vec![0.0; n_in];
    let save_at = plan.save_at();
    let start = noise.position();
    for first in (0..n_in).step_by(LANES) {
        noise.seek(&start);
        let seed = |k: usize, v: f64| -> DualN<LANES> {
            let mut t = [0.0; LANES];
            if k >= first && k < first + LANES {
                t[k - first] = 1.0;
            }
            DualN::new(v, t)
        };
        let xd: Vec<DualN<LANES>> = x0.iter().enumerate().map(|(i, &v)| seed(i, v)).collect();
        let pd: Vec<DualN<LANES>> = p.iter().enumerate().map(|(j, &v)| seed(d + j, v)).collect();
        run_plan(sde, method, plan, &xd, &pd, noise, false, |k, y| {
            if let Some(s) = save_at[k] {
                for i in 0..d {
                    let a = out_adj[s * d + i];
                    if a != 0.0 {
                        for (j, g) in grad[first..(first + LANES).min(n_in)]
                            .iter_mut()
                            .enumerate()
                        {
                            *g += a * y[i].d[j];
                        }
                    }
                }
            }
        })?;
    }
    let p_grad = grad.split_off(d);
    Ok(SdeGradients {
        x0: grad,
        p: p_grad,
    })
}

/// `J v` for one input direction `v = (v_x0, v_p)`: the tangents of the saved states.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_jvp<S: Sde, M: SdeMethod, N: NoiseReplay>(
    sde: &S,
    method: &M,
    plan: &StepPlan,
    x0: &[f64],
    p: &[f64],
    noise: &mut N,
    v_x0: &[f64],
    v_p: &[f64],
) -> Result<Vec<f64>> {
    let d = sde.n_states();
    let xd: Vec<DualN<1>> = x0
        .iter()
        .zip(v_x0)
        .map(|(&v, &t)| DualN::new(v, [t]))
        .collect();
    let pd: Vec<DualN<1>> = p
        .iter()
        .zip(v_p)
        .map(|(&v, &t)| DualN::new(v, [t]))
        .collect();
    let save_at = plan.save_at();
    let mut out = vec![0.0; plan.save_idx.len() * d];
    run_plan(sde, method, plan, &xd, &pd, noise, false, |k, y| {
        if let Some(s) = save_at[k] {
            for i in 0..d {
                out[s * d + i] = y[i].d[0];
            }
        }
    })?;
    Ok(out)
}

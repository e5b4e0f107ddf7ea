//! Replaying a step plan over any scalar type, and forward pathwise sensitivities.

use super::{NoiseReplay, SdeGradients, StepPlan};
use crate::ad::{DualN, Real};
use crate::error::{Error, Result};
use crate::sde::methods::{SdeMethod, Workspace};
use crate::sde::problem::Sde;
use crate::sde::solve::{IncrementBuf, PathInputs, non_finite_error};

/// Tangent directions per forward pass.
const LANES: usize = 8;

/// Runs the steps of `plan` from the noise's current position, calling `visit(k, state)`
/// for the initial state (`k = 0`) and after every step.
pub(crate) fn run_plan<S, M, N, R>(
    path: PathInputs<'_, S, M, R>,
    plan: &StepPlan,
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
    let PathInputs { sde, method, x0, p } = path;
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
        method.step(sde, &inc.get(), p, &y, &mut next, &mut ws);
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
    path: PathInputs<'_, S, M, f64>,
    plan: &StepPlan,
    noise: &mut N,
    out_adj: &[f64],
) -> Result<SdeGradients> {
    let PathInputs { sde, method, x0, p } = path;
    let d = sde.n_states();
    let n_in = d + p.len();
    let mut grad = vec![0.0; n_in];
    let save_at = plan.save_at();
    let start = noise.position();
    let mut bad = None;
    for first in (0..n_in).step_by(LANES) {
        let used = LANES.min(n_in - first);
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
        let dual = PathInputs {
            sde,
            method,
            x0: &xd,
            p: &pd,
        };
        run_plan(dual, plan, noise, false, |k, y| {
            if bad.is_none() {
                bad = first_bad_tangent(y, d, k, used);
            }
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
        if let Some((k, i, j, v)) = bad {
            return Err(tangent_error(plan, k, i, first + j, d, v));
        }
    }
    let p_grad = grad.split_off(d);
    Ok(SdeGradients {
        x0: grad,
        p: p_grad,
    })
}

/// `J v` for one input direction `v = (v_x0, v_p)`: the tangents of the saved states.
pub(crate) fn forward_jvp<S: Sde, M: SdeMethod, N: NoiseReplay>(
    path: PathInputs<'_, S, M, f64>,
    plan: &StepPlan,
    noise: &mut N,
    v_x0: &[f64],
    v_p: &[f64],
) -> Result<Vec<f64>> {
    let PathInputs { sde, method, x0, p } = path;
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
    let mut bad = None;
    let dual = PathInputs {
        sde,
        method,
        x0: &xd,
        p: &pd,
    };
    run_plan(dual, plan, noise, false, |k, y| {
        if bad.is_none() {
            bad = first_bad_tangent(y, d, k, 1);
        }
        if let Some(s) = save_at[k] {
            for i in 0..d {
                out[s * d + i] = y[i].d[0];
            }
        }
    })?;
    if let Some((k, i, _, v)) = bad {
        return Err(Error::NonFinite {
            op: "sde tangent",
            index: i,
            value: v,
            context: format!(
                "the tangent of state component {i} became non-finite at t = {} (step {k}) \
                 in the forward sensitivity pass; the drift or diffusion has a non-finite \
                 derivative there",
                plan.times[k]
            ),
        });
    }
    Ok(out)
}

/// The first non-finite tangent among the first `used` directions of the first `d` entries
/// of a dual state after step `k`: `(k, component, direction, value)`.
fn first_bad_tangent<const L: usize>(
    y: &[DualN<L>],
    d: usize,
    k: usize,
    used: usize,
) -> Option<(usize, usize, usize, f64)> {
    y[..d].iter().enumerate().find_map(|(i, v)| {
        v.d[..used]
            .iter()
            .position(|t| !t.is_finite())
            .map(|j| (k, i, j, v.d[j]))
    })
}

/// The error for a non-finite tangent `∂x_i/∂z_input` after step `k` (input `< d`: `x₀`,
/// else a parameter).
fn tangent_error(plan: &StepPlan, k: usize, i: usize, input: usize, d: usize, v: f64) -> Error {
    let wrt = if input < d {
        format!("x₀[{input}]")
    } else {
        format!("parameter {}", input - d)
    };
    Error::NonFinite {
        op: "sde tangent",
        index: i,
        value: v,
        context: format!(
            "the derivative of state component {i} with respect to {wrt} became non-finite at \
             t = {} (step {k}) in the forward sensitivity pass; the drift or diffusion has a \
             non-finite derivative there (e.g. √x at x = 0), or the linearised dynamics \
             overflow",
            plan.times[k]
        ),
    }
}

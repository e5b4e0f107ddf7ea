//! The continuous stochastic adjoint (Li, Wong, Chen & Duvenaud 2020, "Scalable gradients
//! for stochastic differential equations", AISTATS, arXiv:2001.01328, §3).
//!
//! For the Stratonovich form `dx = f dt + g ∘ dW` the adjoint `a(t) = ∂L/∂x(t)` and the
//! parameter adjoint satisfy, backwards in time on the same Brownian path,
//! ```text
//! da = −aᵀ ∂f/∂x dt − Σⱼ aᵀ ∂gⱼ/∂x ∘ dWⱼ,   da_p = −aᵀ ∂f/∂p dt − Σⱼ aᵀ ∂gⱼ/∂p ∘ dWⱼ,
//! ```
//! with jumps `a += ∂L/∂x(t_s)` at save times. One backward stochastic Heun step over
//! `[t_k, t_{k+1}]` with `φ(t, x) = f(t, x) h + g(t, x)·ΔW`:
//! ```text
//! x̃ = x_{k+1} − φ(t_{k+1}, x_{k+1}),          ã = a + aᵀ ∂φ/∂x (t_{k+1}, x_{k+1})
//! a_k = a + ½ [aᵀ ∂φ/∂x (t_{k+1}, x_{k+1}) + ãᵀ ∂φ/∂x (t_k, x̃)]    (a_p likewise)
//! x_k = x_{k+1} − ½ [φ(t_{k+1}, x_{k+1}) + φ(t_k, x̃)]               (backsolve)
//! ```
//! Without backsolve, `x̃` and `x_k` are the forward solution's states, replayed from
//! checkpoints.

use super::vjp::{LocalVjp, PhiVjp};
use super::{NoiseReplay, SdeGradients, StepPlan, check_adjoints, require_random_access};
use crate::error::Result;
use crate::sde::convert::StratonovichForm;
use crate::sde::methods::{SdeMethod, Workspace};
use crate::sde::problem::Sde;
use crate::sde::solve::{IncrementBuf, PathInputs};

pub(crate) fn stochastic_adjoint<S: Sde, M: SdeMethod, N: NoiseReplay>(
    path: PathInputs<'_, S, M, f64>,
    plan: &StepPlan,
    noise: &mut N,
    out_adj: &[f64],
    backsolve: bool,
) -> Result<SdeGradients> {
    let PathInputs { sde, method, x0, p } = path;
    require_random_access(noise, "the stochastic adjoint")?;
    let strat = StratonovichForm::new(sde);
    let d = sde.n_states();
    let np = p.len();
    let gl = sde.noise().diffusion_len(d, sde.n_noise());
    let sl = method.state_len(d, gl);
    let n = plan.n_steps();
    let t = &plan.times;
    let save_at = plan.save_at();
    let mut ws = Workspace::<f64>::new(sde);
    let mut inc = IncrementBuf::new(noise.dim(), noise.with_area());

    // Forward: the final state, and checkpoints unless backsolving.
    let c = crate::solver::Checkpointing::Auto.interval(n);
    let mut checkpoints: Vec<(Vec<f64>, N::Pos)> = Vec::new();
    let mut y = vec![0.0; sl];
    let mut next = vec![0.0; sl];
    method.init(sde, t[0], x0, p, &mut y);
    for k in 0..n {
        if !backsolve && k % c == 0 {
            checkpoints.push((y.clone(), noise.position()));
        }
        noise.next(t[k], t[k + 1], &mut inc)?;
        method.step(sde, &inc.get(), p, &y, &mut next, &mut ws);
        std::mem::swap(&mut y, &mut next);
    }
    let mut x = y[..d].to_vec();

    let mut vjp = LocalVjp::new(&strat, method, p);
    let mut a = vec![0.0; d];
    let mut a_p = vec![0.0; np];
    let (mut s1, mut s2) = (PhiVjp::new(d, np), PhiVjp::new(d, np));
    let mut x_pred = vec![0.0; d];
    let mut a_pred = vec![0.0; d];
    let add_out = |k: usize, a: &mut [f64]| {
        if let Some(s) = save_at[k] {
            for i in 0..d {
                a[i] += out_adj[s * d + i];
            }
        }
    };
    add_out(n, &mut a);
    // Forward states of the current segment (non-backsolve), x of step k at (k − k0)·d.
    let mut seg_x = vec![0.0; (c + 1) * d];
    let mut seg_k0 = usize::MAX;
    for k in (0..n).rev() {
        if !backsolve && (seg_k0 == usize::MAX || k < seg_k0) {
            let s = k / c;
            let (y0, pos) = &checkpoints[s];
            seg_k0 = s * c;
            let k1 = (seg_k0 + c).min(n);
            noise.seek(pos);
            y.copy_from_slice(y0);
            seg_x[..d].copy_from_slice(&y[..d]);
            for j in seg_k0..k1 {
                noise.next(t[j], t[j + 1], &mut inc)?;
                method.step(sde, &inc.get(), p, &y, &mut next, &mut ws);
                std::mem::swap(&mut y, &mut next);
                let o = (j + 1 - seg_k0) * d;
                seg_x[o..o + d].copy_from_slice(&y[..d]);
            }
        }
        let h = t[k + 1] - t[k];
        noise.at(t[k], t[k + 1], &mut inc)?;
        if !backsolve {
            let o = (k + 1 - seg_k0) * d;
            x.copy_from_slice(&seg_x[o..o + d]);
        }
        vjp.phi(t[k + 1], h, &inc.dw, &x, &a, &mut s1)?;
        for i in 0..d {
            x_pred[i] = if backsolve {
                x[i] - s1.phi[i]
            } else {
                seg_x[(k - seg_k0) * d + i]
            };
            a_pred[i] = a[i] + s1.a_x[i];
        }
        vjp.phi(t[k], h, &inc.dw, &x_pred, &a_pred, &mut s2)?;
        for i in 0..d {
            if backsolve {
                x[i] -= 0.5 * (s1.phi[i] + s2.phi[i]);
            }
            a[i] += 0.5 * (s1.a_x[i] + s2.a_x[i]);
        }
        for j in 0..np {
            a_p[j] += 0.5 * (s1.a_p[j] + s2.a_p[j]);
        }
        add_out(k, &mut a);
        check_adjoints("the stochastic adjoint", &a, &a_p, d, t[k], k)?;
        if backsolve && let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(crate::Error::NonFinite {
                op: "sde adjoint",
                index: i,
                value: x[i],
                context: format!(
                    "state component {i} of the backward solve of the stochastic adjoint \
                     became non-finite at t = {} (step {k}); solving the state backwards is \
                     unstable for contracting dynamics: use backsolve: false",
                    t[k]
                ),
            });
        }
    }
    Ok(SdeGradients { x0: a, p: a_p })
}

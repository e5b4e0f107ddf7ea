//! The exact discrete adjoint with checkpointing.
//!
//! Forward: keep the method state and the noise position every `C` steps. Backward: for
//! each segment, last first, replay its `C` steps from the checkpoint (keeping states and
//! increments), then sweep them in reverse, `λ_k = (∂Φ_k/∂y)ᵀ λ_{k+1}` and
//! `λ_p += (∂Φ_k/∂p)ᵀ λ_{k+1}` for the step map `Φ_k`, adding the output adjoint at saved
//! steps. Memory: `n/C + C` states; cost: two forward passes plus one local-tape VJP per step.

use super::vjp::LocalVjp;
use super::{NoiseReplay, SdeGradients, StepPlan, check_adjoints};
use crate::error::Result;
use crate::sde::methods::{SdeMethod, Workspace};
use crate::sde::problem::Sde;
use crate::sde::solve::{IncrementBuf, PathInputs};

const PASS: &str = "the discrete adjoint";

pub(crate) fn discrete_adjoint<S: Sde, M: SdeMethod, N: NoiseReplay>(
    path: PathInputs<'_, S, M, f64>,
    plan: &StepPlan,
    noise: &mut N,
    out_adj: &[f64],
    interval: usize,
) -> Result<SdeGradients> {
    let PathInputs { sde, method, x0, p } = path;
    let d = sde.n_states();
    let gl = sde.noise().diffusion_len(d, sde.n_noise());
    let sl = method.state_len(d, gl);
    let n = plan.n_steps();
    let c = interval.max(1);
    let t = &plan.times;
    let save_at = plan.save_at();
    let mut ws = Workspace::<f64>::new(sde);
    let mut inc = IncrementBuf::new(noise.dim(), noise.with_area());

    // Forward pass: checkpoints (state, noise position) at k = 0, C, 2C, …
    let mut checkpoints: Vec<(Vec<f64>, N::Pos)> = Vec::with_capacity(n / c + 1);
    let mut y = vec![0.0; sl];
    let mut next = vec![0.0; sl];
    method.init(sde, t[0], x0, p, &mut y);
    for k in 0..n {
        if k % c == 0 {
            checkpoints.push((y.clone(), noise.position()));
        }
        noise.next(t[k], t[k + 1], &mut inc)?;
        method.step(sde, &inc.get(), p, &y, &mut next, &mut ws);
        std::mem::swap(&mut y, &mut next);
    }

    // Backward pass.
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
    let m = noise.dim();
    let area = noise.with_area();
    let mut states = vec![0.0; (c + 1) * sl];
    let mut dws = vec![0.0; c * m];
    let mut areas = vec![0.0; if area { c * m } else { 0 }];
    for (seg, (y0, pos)) in checkpoints.iter().enumerate().rev() {
        let k0 = seg * c;
        let k1 = (k0 + c).min(n);
        noise.seek(pos);
        states[..sl].copy_from_slice(y0);
        for k in k0..k1 {
            let j = k - k0;
            noise.next(t[k], t[k + 1], &mut inc)?;
            dws[j * m..(j + 1) * m].copy_from_slice(&inc.dw);
            if area {
                areas[j * m..(j + 1) * m].copy_from_slice(&inc.area);
            }
            let (cur, rest) = states[j * sl..].split_at_mut(sl);
            method.step(sde, &inc.get(), p, cur, &mut rest[..sl], &mut ws);
        }
        for k in (k0..k1).rev() {
            let j = k - k0;
            let step_inc = crate::sde::methods::Increment {
                t: t[k],
                h: t[k + 1] - t[k],
                dw: &dws[j * m..(j + 1) * m],
                area: area.then(|| &areas[j * m..(j + 1) * m]),
            };
            vjp.step(
                &step_inc,
                &states[j * sl..(j + 1) * sl],
                &lam,
                &mut lam_prev,
                &mut lam_p,
            )?;
            std::mem::swap(&mut lam, &mut lam_prev);
            add_out(k, &mut lam);
            check_adjoints(PASS, &lam, &lam_p, d, t[k], k)?;
        }
    }
    if n == 0 {
        add_out(0, &mut lam);
    }
    let gx0 = vjp.init(t[0], x0, &lam, &mut lam_p)?;
    check_adjoints(PASS, &gx0, &lam_p, d, t[0], 0)?;
    Ok(SdeGradients { x0: gx0, p: lam_p })
}

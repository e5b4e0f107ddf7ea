//! The discrete adjoint: the exact gradient of the computed solution, by reverse-mode
//! differentiation of the accepted steps (step sizes held fixed), replayed segment by
//! segment from the checkpoints of the forward pass.
//!
//! Explicit Runge–Kutta step `y_{n+1} = y_n + h Σᵢ bᵢ kᵢ`,
//! `kᵢ = f(t + cᵢh, Yᵢ)`, `Yᵢ = y_n + h Σ_{j<i} aᵢⱼ kⱼ` (Hager 2000, Numer. Math. 87,
//! eq. (2.4); Sandu 2006): with `λ` the adjoint of `y_{n+1}` and dense outputs
//! `y_n + h Σ bᵢ(θ) kᵢ` with cotangents `w`,
//!
//! $$\bar k_i = h\Big(b_i λ + \sum_w b_i(θ_w) w\Big) + h\sum_{l>i} a_{li} \bar Y_l,\quad
//!   \bar Y_i = J(Y_i)^T \bar k_i,\quad \bar p \mathrel{+}= f_p(Y_i)^T \bar k_i,\quad
//!   λ_n = λ + \sum_w w + \sum_i \bar Y_i,$$
//!
//! for `i` from the last (extra dense) stage down to the first; each `J(Yᵢ)ᵀ k̄ᵢ` is one
//! vector–Jacobian product of the right-hand side (dual numbers for small systems, a
//! reusable local tape otherwise), never a recording of the stages on the caller's tape.
//!
//! ESDIRK step (stages `kᵢ = f(zᵢ)`, `zᵢ = ψᵢ + hγkᵢ` solved exactly): by the implicit
//! function theorem, `(I − hγJᵢ)ᵀ vᵢ = k̄ᵢ`, `ψ̄ᵢ = Jᵢᵀ vᵢ`, `p̄ += f_{p,i}ᵀ vᵢ`, with the
//! exact Jacobian at each stage value; the derivative is that of the discrete scheme with
//! its stage equations solved exactly (the replayed Newton solution, to its tolerance).

use faer::Mat;

use super::checkpoint::Checkpoints;
use super::{AdjointInfo, OdeGradient, SaveLoc, locate_saves};
use crate::error::{Error, Result};
use crate::ode::explicit::ExplicitRk;
use crate::ode::linsolve::LuWork;
use crate::ode::method::{Family, Method};
use crate::ode::one_step::{Attempt, OneStep, StepAttempt};
use crate::ode::options::OdeOptions;
use crate::ode::problem::{OdeProblem, OdeRhs};
use crate::ode::sdirk::{Esdirk, EsdirkTableau};
use crate::ode::solution::{OdeSolution, OdeStats};
use crate::ode::solve::integrate_system;
use crate::ode::system::{RhsSystem, RhsVjp, jacobian_yp_by_duals};
use crate::ode::tableau::ButcherTableau;
use crate::solver::Checkpointing;

/// The forward solve, recording checkpoints.
pub(crate) fn forward_pass<F: OdeRhs>(
    problem: &OdeProblem<F>,
    method: Method,
    options: &OdeOptions,
    checkpointing: Checkpointing,
) -> Result<(OdeSolution, Checkpoints)> {
    let mut ck = Checkpoints::new(problem.y0.len(), checkpointing);
    let mut sys = RhsSystem::new(&problem.rhs, &problem.p);
    let mut controller = options.controller.clone();
    let out = integrate_system(
        &mut sys,
        method,
        &mut controller,
        problem.span(),
        options,
        &mut ck,
    )?;
    Ok((out.into_solution(), ck))
}

/// The save cotangents of each step: `(save index, θ)`, grouped by step.
fn saves_by_step(locs: &[SaveLoc], n_steps: usize) -> Vec<Vec<(usize, f64)>> {
    let mut by = vec![Vec::new(); n_steps];
    for (k, l) in locs.iter().enumerate() {
        if let Some(s) = l.step {
            by[s].push((k, l.theta));
        }
    }
    by
}

/// The vector–Jacobian product of the solve.
pub(crate) fn vjp<F: OdeRhs>(
    problem: &OdeProblem<F>,
    method: Method,
    options: &OdeOptions,
    sol: &OdeSolution,
    ck: &Checkpoints,
    w: &[Vec<f64>],
) -> Result<OdeGradient> {
    let n = problem.y0.len();
    let np = problem.p.len();
    let locs = locate_saves(&sol.ts, &ck.steps, problem.t0);
    let by_step = saves_by_step(&locs, ck.steps.len());
    let mut lambda = vec![0.0; n];
    let mut mu = vec![0.0; np];
    let mut backward = OdeStats::default();
    let seg_peak = match method.family()? {
        Family::Explicit { tab, .. } => match super::explicit_small::backward(
            problem,
            tab,
            ck,
            &by_step,
            w,
            &mut lambda,
            &mut mu,
            &mut backward,
        ) {
            Some(peak) => peak,
            None => explicit_backward(
                problem,
                tab,
                ck,
                &by_step,
                w,
                &mut lambda,
                &mut mu,
                &mut backward,
            )?,
        },
        Family::Esdirk(tab) => esdirk_backward(
            problem,
            tab,
            options,
            ck,
            &by_step,
            w,
            &mut lambda,
            &mut mu,
            &mut backward,
        )?,
        _ => {
            return Err(Error::Unsupported {
                op: "ode discrete adjoint",
                reason: format!("{method:?}"),
            });
        }
    };
    for (k, l) in locs.iter().enumerate() {
        if l.step.is_none() {
            for (a, b) in lambda.iter_mut().zip(&w[k]) {
                *a += b;
            }
        }
    }
    Ok(OdeGradient {
        y0: lambda,
        p: mu,
        t1: 0.0,
        info: AdjointInfo {
            peak_stored_f64: ck.peak_f64() + seg_peak,
            grid_f64: ck.grid_f64(),
            n_checkpoints: ck.len(),
            backward,
        },
    })
}

/// Row `i` of the extended tableau (the method's stages, then the extra dense ones).
#[inline]
fn stage_row(tab: &ButcherTableau, i: usize) -> &'static [f64] {
    let s = tab.stages();
    if i < s {
        tab.a[i]
    } else {
        tab.dense.as_ref().map_or(&[], |d| d.extra_a[i - s])
    }
}

/// `dst += a · src`.
#[inline]
fn axpy(dst: &mut [f64], a: f64, src: &[f64]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += a * s;
    }
}

/// The backward pass of an explicit method for systems with `n + n_p > 8`: one
/// vector–Jacobian product per stage on a reusable local tape (smaller systems take
/// [`explicit_small`](super::explicit_small)).
#[allow(clippy::too_many_arguments)]
fn explicit_backward<F: OdeRhs>(
    problem: &OdeProblem<F>,
    tab: &'static ButcherTableau,
    ck: &Checkpoints,
    by_step: &[Vec<(usize, f64)>],
    w: &[Vec<f64>],
    lambda: &mut [f64],
    mu: &mut [f64],
    stats: &mut OdeStats,
) -> Result<usize> {
    let n = problem.y0.len();
    let np = problem.p.len();
    let (s, total) = (tab.stages(), tab.total_stages());
    let mut rk = ExplicitRk::<f64>::new(tab, n);
    let mut sys = RhsSystem::new(&problem.rhs, &problem.p);
    let mut vjp = RhsVjp::new(n, np);
    let mut ys: Vec<f64> = Vec::new();
    let mut ks: Vec<f64> = Vec::new();
    let mut y = vec![0.0; n];
    let mut y_new = vec![0.0; n];
    let mut kbar = vec![0.0; total * n];
    let mut yi = vec![0.0; n];
    let mut ybar = vec![0.0; n];
    let mut wts = vec![0.0; total];
    let mut lam_n = vec![0.0; n];
    let mut peak = 0;
    for j in (0..ck.len()).rev() {
        let range = ck.segment(j);
        ys.clear();
        ks.clear();
        y.copy_from_slice(ck.state(j));
        rk.reset_first_stage();
        for step in range.clone() {
            let (t, h) = ck.steps[step];
            let extra = by_step[step].iter().any(|&(_, th)| th < 1.0);
            ys.extend_from_slice(&y);
            stats.n_rhs += rk.replay(&mut sys, t, h, &y, &mut y_new, extra);
            ks.extend_from_slice(rk.stages());
            rk.advance_replay();
            std::mem::swap(&mut y, &mut y_new);
            stats.n_accepted += 1;
        }
        peak = peak.max(ys.len() + ks.len());
        for (local, step) in range.clone().enumerate().rev() {
            let (t, h) = ck.steps[step];
            let y_n = &ys[local * n..(local + 1) * n];
            let k_n = &ks[local * total * n..(local + 1) * total * n];
            kbar.fill(0.0);
            let mut has_extra = false;
            // Outputs at the step's end are outputs of y_{n+1}.
            for &(k, th) in &by_step[step] {
                if th >= 1.0 {
                    axpy(lambda, 1.0, &w[k]);
                }
            }
            for (i, &b) in tab.b.iter().enumerate() {
                if b != 0.0 {
                    axpy(&mut kbar[i * n..(i + 1) * n], h * b, lambda);
                }
            }
            lam_n.copy_from_slice(lambda);
            for &(k, th) in &by_step[step] {
                if th < 1.0 {
                    has_extra = true;
                    tab.dense_weights(th, &mut wts);
                    for (i, &wi) in wts.iter().enumerate() {
                        if wi != 0.0 {
                            axpy(&mut kbar[i * n..(i + 1) * n], h * wi, &w[k]);
                        }
                    }
                    axpy(&mut lam_n, 1.0, &w[k]);
                }
            }
            let last = if has_extra { total } else { s };
            for i in (0..last).rev() {
                let (kb_lo, kb_hi) = kbar.split_at_mut(i * n);
                let kb = &kb_hi[..n];
                if kb.iter().all(|v| *v == 0.0) {
                    continue;
                }
                ybar.fill(0.0);
                yi.copy_from_slice(y_n);
                for (jj, &a) in stage_row(tab, i).iter().enumerate() {
                    if a != 0.0 {
                        axpy(&mut yi, h * a, &k_n[jj * n..(jj + 1) * n]);
                    }
                }
                vjp.vjp(
                    &problem.rhs,
                    t + tab.c_ext(i) * h,
                    &yi,
                    &problem.p,
                    kb,
                    &mut ybar,
                    mu,
                );
                axpy(&mut lam_n, 1.0, &ybar);
                for (jj, &a) in stage_row(tab, i).iter().enumerate() {
                    if a != 0.0 {
                        axpy(&mut kb_lo[jj * n..(jj + 1) * n], h * a, &ybar);
                    }
                }
            }
            lambda.copy_from_slice(&lam_n);
        }
    }
    Ok(peak)
}

#[allow(clippy::too_many_arguments)]
fn esdirk_backward<F: OdeRhs>(
    problem: &OdeProblem<F>,
    tab: &'static EsdirkTableau,
    options: &OdeOptions,
    ck: &Checkpoints,
    by_step: &[Vec<(usize, f64)>],
    w: &[Vec<f64>],
    lambda: &mut [f64],
    mu: &mut [f64],
    stats: &mut OdeStats,
) -> Result<usize> {
    let n = problem.y0.len();
    let np = problem.p.len();
    let s = tab.stages();
    let mut stepper = Esdirk::new(tab, n, options);
    let mut sys = RhsSystem::new(&problem.rhs, &problem.p);
    let mut vjp = RhsVjp::new(n, np);
    let mut lu = LuWork::new(n);
    let mut jyp = Mat::zeros(n, n + np);
    let mut ys: Vec<f64> = Vec::new();
    let mut zs: Vec<f64> = Vec::new();
    let mut kks: Vec<f64> = Vec::new();
    let mut y = vec![0.0; n];
    let mut y_new = vec![0.0; n];
    let mut err = vec![0.0; n];
    let mut kbar = vec![0.0; s * n];
    let mut lam_n = vec![0.0; n];
    let mut lam_1 = vec![0.0; n];
    let mut v = vec![0.0; n];
    let mut psibar = vec![0.0; n];
    let mut ybar = vec![0.0; n];
    let mut peak = 0;
    for j in (0..ck.len()).rev() {
        let range = ck.segment(j);
        ys.clear();
        zs.clear();
        kks.clear();
        y.copy_from_slice(ck.state(j));
        for step in range.clone() {
            let (t, h) = ck.steps[step];
            ys.extend_from_slice(&y);
            stepper.init(&mut sys, t, &y, stats);
            let attempt = StepAttempt {
                t,
                h,
                t_new: t + h,
                h_asked: h,
                last: false,
                y: &y,
                y_new: &mut y_new,
                err: &mut err,
            };
            match stepper.attempt(&mut sys, attempt, stats) {
                Attempt::Done => {}
                Attempt::Failed {
                    iterations,
                    component,
                    residual,
                } => {
                    return Err(Error::NewtonFailure {
                        t,
                        h,
                        iterations,
                        component,
                        residual,
                    });
                }
                Attempt::NonFinite { component, value } => {
                    return Err(Error::NonFiniteState {
                        t,
                        h,
                        component,
                        value,
                        quantity: "derivative (adjoint replay)",
                    });
                }
            }
            let (z, k) = stepper.stages();
            zs.extend_from_slice(z);
            kks.extend_from_slice(k);
            std::mem::swap(&mut y, &mut y_new);
            stats.n_accepted += 1;
        }
        peak = peak.max(ys.len() + zs.len() + kks.len());
        for (local, step) in range.clone().enumerate().rev() {
            let (t, h) = ck.steps[step];
            let y_n = &ys[local * n..(local + 1) * n];
            let z_n = &zs[local * s * n..(local + 1) * s * n];
            kbar.fill(0.0);
            lam_1.copy_from_slice(lambda);
            lam_n.fill(0.0);
            for &(k, th) in &by_step[step] {
                if th >= 1.0 {
                    axpy(&mut lam_1, 1.0, &w[k]);
                } else {
                    // Hermite: y(θ) = α y_n + β y_{n+1} + h (w₀ k₀ + w₁ k_last).
                    let [a, b, w0, w1] = crate::ode::dense::hermite_weights(th);
                    axpy(&mut lam_n, a, &w[k]);
                    axpy(&mut lam_1, b, &w[k]);
                    axpy(&mut kbar[..n], h * w0, &w[k]);
                    axpy(&mut kbar[(s - 1) * n..], h * w1, &w[k]);
                }
            }
            // y_{n+1} = y_n + h Σ bᵢ kᵢ.
            axpy(&mut lam_n, 1.0, &lam_1);
            for (i, &b) in tab.b.iter().enumerate() {
                if b != 0.0 {
                    axpy(&mut kbar[i * n..(i + 1) * n], h * b, &lam_1);
                }
            }
            let hg = h * tab.gamma;
            for i in (1..s).rev() {
                if kbar[i * n..(i + 1) * n].iter().all(|x| *x == 0.0) {
                    continue;
                }
                let zi = &z_n[i * n..(i + 1) * n];
                jacobian_yp_by_duals(&problem.rhs, t + tab.c[i] * h, zi, &problem.p, &mut jyp);
                stats.n_jac += 1;
                stats.n_lu += 1;
                if let Err(idx) = lu.factor_shifted(jyp.subcols(0, n), 1.0, -hg) {
                    return Err(Error::Singular {
                        op: "ode discrete adjoint (ESDIRK stage matrix)",
                        index: idx,
                    });
                }
                v.copy_from_slice(&kbar[i * n..(i + 1) * n]);
                lu.solve_transpose(&mut v);
                // ψ̄ = Jᵀ v, p̄ += J_pᵀ v.
                for (c, pb) in psibar.iter_mut().enumerate() {
                    let mut acc = 0.0;
                    for (r, vr) in v.iter().enumerate() {
                        acc += vr * jyp[(r, c)];
                    }
                    *pb = acc;
                }
                for (c, m) in mu.iter_mut().enumerate() {
                    let mut acc = 0.0;
                    for (r, vr) in v.iter().enumerate() {
                        acc += vr * jyp[(r, n + c)];
                    }
                    *m += acc;
                }
                axpy(&mut lam_n, 1.0, &psibar);
                for (jj, &a) in tab.a[i].iter().enumerate() {
                    if a != 0.0 {
                        axpy(&mut kbar[jj * n..(jj + 1) * n], h * a, &psibar);
                    }
                }
            }
            // Stage 0: k₀ = f(t, y_n), explicit.
            let k0bar = &kbar[..n];
            if k0bar.iter().any(|x| *x != 0.0) {
                ybar.fill(0.0);
                vjp.vjp(&problem.rhs, t, y_n, &problem.p, k0bar, &mut ybar, mu);
                axpy(&mut lam_n, 1.0, &ybar);
            }
            lambda.copy_from_slice(&lam_n);
        }
    }
    Ok(peak)
}

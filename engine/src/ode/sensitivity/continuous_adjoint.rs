//! The continuous adjoint: `λ' = −J(t, y(t))ᵀ λ` backwards from `λ(t₁) = 0`, with jumps
//! `λ(τₖ⁻) = λ(τₖ⁺) + wₖ` at the save times, and `∂L/∂p = ∫_{t₀}^{t₁} f_p(t, y(t))ᵀ λ dt`,
//! `∂L/∂y₀ = λ(t₀)` (Cao, Li, Petzold & Serban 2003, SIAM J. Sci. Comput. 24(3),
//! eqs. (2.2)–(2.4)).
//!
//! * Interpolating variant: the checkpoint segments of the forward pass are
//!   re-solved (last first) with dense output, so `y(t)` is available to the backward
//!   solve of each segment; the backward solve uses the same method (a stiff method for
//!   a stiff problem, with the adjoint Jacobian `J(t, y(t))ᵀ`), in reversed time
//!   `s = −t`; the parameter integral is accumulated by 4-point Gauss–Legendre quadrature
//!   on each backward step, from the dense outputs of `λ` and `y`.
//! * Backsolve variant: `(y, λ, μ)` integrated backwards together from
//!   `y(t₁)` (Chen, Rubanova, Bettencourt & Duvenaud 2018): no storage, but `y` is
//!   recomputed by a backward solve that is unstable for chaotic and stiff problems.

use faer::{Mat, MatMut};

use super::checkpoint::Checkpoints;
use super::{AdjointInfo, OdeGradient};
use crate::error::{Error, Result};
use crate::ode::dense::DenseOutput;
use crate::ode::driver::{NoObserver, Span};
use crate::ode::method::Method;
use crate::ode::options::OdeOptions;
use crate::ode::problem::{OdeProblem, OdeRhs};
use crate::ode::solution::{OdeSolution, OdeStats};
use crate::ode::solve::integrate_system;
use crate::ode::system::{OdeSystem, OdeSystemJacobian, RhsSystem, RhsVjp};
use crate::solver::{Checkpointing, SaveAt};

/// 4-point Gauss–Legendre nodes and weights on [0, 1] (exact for degree 7).
const GL4: [(f64, f64); 4] = [
    (0.069_431_844_202_973_71, 0.173_927_422_568_726_93),
    (0.330_009_478_207_571_87, 0.326_072_577_431_273_07),
    (0.669_990_521_792_428_1, 0.326_072_577_431_273_07),
    (0.930_568_155_797_026_3, 0.173_927_422_568_726_93),
];

/// The forward solve, recording checkpoints.
pub(crate) fn forward_pass<F: OdeRhs>(
    problem: &OdeProblem<F>,
    method: Method,
    options: &OdeOptions,
    checkpointing: Checkpointing,
) -> Result<(OdeSolution, Checkpoints)> {
    super::discrete_adjoint::forward_pass(problem, method, options, checkpointing)
}

/// `dλ/ds = J(t, y(t))ᵀ λ` in reversed time `s = −t`, with `y(t)` from a dense output.
struct AdjointSystem<'a, F> {
    rhs: &'a F,
    p: &'a [f64],
    y: &'a DenseOutput,
    ybuf: Vec<f64>,
    vjp: RhsVjp,
    jac: Mat<f64>,
}

impl<F: OdeRhs> AdjointSystem<'_, F> {
    fn y_at(&mut self, t: f64) {
        let k = self.y.segment_of(t).unwrap_or_else(|| {
            if t < self.y.span().map_or(t, |s| s.0) {
                0
            } else {
                self.y.n_segments() - 1
            }
        });
        self.y.eval_segment(k, t, &mut self.ybuf);
    }
}

impl<F: OdeRhs> OdeSystem<f64> for AdjointSystem<'_, F> {
    fn n_states(&self) -> usize {
        self.ybuf.len()
    }
    fn eval(&mut self, s: f64, lam: &[f64], out: &mut [f64]) {
        let t = -s;
        self.y_at(t);
        out.fill(0.0);
        let y = self.ybuf.clone();
        self.vjp.vjp(self.rhs, t, &y, self.p, lam, out, &mut []);
    }
}

impl<F: OdeRhs> OdeSystemJacobian for AdjointSystem<'_, F> {
    fn jacobian(&mut self, s: f64, _lam: &[f64], mut jac: MatMut<'_, f64>) {
        let t = -s;
        self.y_at(t);
        let n = self.ybuf.len();
        self.rhs.jacobian(t, &self.ybuf, self.p, self.jac.as_mut());
        for r in 0..n {
            for c in 0..n {
                jac[(r, c)] = self.jac[(c, r)];
            }
        }
    }
}

/// Options of a backward solve: the forward tolerances, dense output, final state only.
fn backward_options(options: &OdeOptions) -> OdeOptions {
    OdeOptions {
        save_at: SaveAt::Final,
        dense: true,
        h0: None,
        fixed_step: options.fixed_step,
        ..options.clone()
    }
}

/// Integrates `λ` backwards from `a` to `b < a` over the forward dense output `ydense`;
/// adds `∫_b^a f_pᵀ λ dt` into `mu`. Returns the number of `f64` in the backward dense
/// output.
#[allow(clippy::too_many_arguments)]
fn backward_segment<F: OdeRhs>(
    problem: &OdeProblem<F>,
    method: Method,
    options: &OdeOptions,
    ydense: &DenseOutput,
    a: f64,
    b: f64,
    lambda: &mut [f64],
    mu: &mut [f64],
    stats: &mut OdeStats,
) -> Result<usize> {
    let n = lambda.len();
    let np = mu.len();
    if a - b <= 16.0 * f64::EPSILON * a.abs().max(b.abs()).max(1.0) {
        return Ok(0);
    }
    let mut sys = AdjointSystem {
        rhs: &problem.rhs,
        p: &problem.p,
        y: ydense,
        ybuf: vec![0.0; n],
        vjp: RhsVjp::new(n, np),
        jac: Mat::zeros(n, n),
    };
    let opts = backward_options(options);
    let mut controller = options.controller.clone();
    let out = integrate_system(
        &mut sys,
        method,
        &mut controller,
        Span {
            t0: -a,
            t1: -b,
            y0: lambda,
        },
        &opts,
        &mut NoObserver,
    )
    .map_err(|e| backward_error(e, "adjoint"))?;
    stats.add(&out.stats);
    let ldense = out
        .dense
        .as_ref()
        .expect("backward solves keep dense output");
    // Quadrature of f_pᵀ λ on each backward step.
    let mut lq = vec![0.0; n];
    let mut gy = vec![0.0; n];
    let mut vjp = RhsVjp::new(n, np);
    for k in 0..ldense.n_segments() {
        let (s0, h, _) = ldense.segment(k);
        for &(x, wq) in &GL4 {
            let s = s0 + x * h;
            ldense.eval_segment(k, s, &mut lq);
            sys.y_at(-s);
            let mut gp = vec![0.0; np];
            vjp.vjp(
                &problem.rhs,
                -s,
                &sys.ybuf,
                &problem.p,
                &lq,
                &mut gy,
                &mut gp,
            );
            for (m, g) in mu.iter_mut().zip(&gp) {
                *m += wq * h * g;
            }
        }
    }
    lambda.copy_from_slice(&out.y_final);
    Ok(ldense.stored_f64())
}

/// Re-labels a failure of a backward solve.
fn backward_error(e: Error, what: &'static str) -> Error {
    match e {
        Error::StepSizeUnderflow {
            op,
            t,
            h,
            component,
            path,
        } => Error::StepSizeUnderflow {
            op,
            t: -t,
            h,
            component,
            path,
        },
        Error::NonFiniteState {
            t,
            h,
            component,
            value,
            quantity: _,
        } => Error::NonFiniteState {
            t: -t,
            h,
            component,
            value,
            quantity: what,
        },
        Error::TooManySteps {
            op,
            t,
            h,
            max_steps,
            path,
        } => Error::TooManySteps {
            op,
            t: -t,
            h,
            max_steps,
            path,
        },
        Error::NewtonFailure {
            t,
            h,
            iterations,
            component,
            residual,
        } => Error::NewtonFailure {
            t: -t,
            h,
            iterations,
            component,
            residual,
        },
        other => other,
    }
}

/// The interpolating continuous adjoint.
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
    let mut lambda = vec![0.0; n];
    let mut mu = vec![0.0; np];
    let mut stats = OdeStats::default();
    let mut peak = 0;
    let fwd_opts = OdeOptions {
        save_at: SaveAt::Final,
        dense: true,
        ..options.clone()
    };
    // Save times, last first.
    let mut events: Vec<(f64, usize)> = sol.ts.iter().copied().zip(0..).collect();
    events.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut ev = 0;
    for j in (0..ck.len()).rev() {
        let range = ck.segment(j);
        let ta = ck.steps[range.start].0;
        let tb = if range.end < ck.steps.len() {
            ck.steps[range.end].0
        } else {
            problem.t1
        };
        // Dense re-solve of the segment, starting with the step the forward pass took.
        let mut sys = RhsSystem::new(&problem.rhs, &problem.p);
        let mut controller = options.controller.clone();
        let opts = OdeOptions {
            h0: Some(ck.steps[range.start].1),
            ..fwd_opts.clone()
        };
        let out = integrate_system(
            &mut sys,
            method,
            &mut controller,
            Span {
                t0: ta,
                t1: tb,
                y0: ck.state(j),
            },
            &opts,
            &mut NoObserver,
        )?;
        stats.add(&out.stats);
        let ydense = out.dense.expect("dense output was asked for");
        let mut cur = tb;
        while ev < events.len() && events[ev].0 > ta {
            let (tau, k) = events[ev];
            let used = backward_segment(
                problem,
                method,
                options,
                &ydense,
                cur,
                tau,
                &mut lambda,
                &mut mu,
                &mut stats,
            )?;
            peak = peak.max(ck.peak_f64() + ydense.stored_f64() + used);
            for (l, wv) in lambda.iter_mut().zip(&w[k]) {
                *l += wv;
            }
            cur = tau;
            ev += 1;
        }
        let used = backward_segment(
            problem,
            method,
            options,
            &ydense,
            cur,
            ta,
            &mut lambda,
            &mut mu,
            &mut stats,
        )?;
        peak = peak.max(ck.peak_f64() + ydense.stored_f64() + used);
    }
    // Outputs at t0.
    while ev < events.len() {
        let k = events[ev].1;
        for (l, wv) in lambda.iter_mut().zip(&w[k]) {
            *l += wv;
        }
        ev += 1;
    }
    Ok(OdeGradient {
        y0: lambda,
        p: mu,
        t1: 0.0,
        info: AdjointInfo {
            peak_stored_f64: peak,
            grid_f64: ck.grid_f64(),
            n_checkpoints: ck.len(),
            backward: stats,
        },
    })
}

/// `(y, λ, μ)` backwards in reversed time: `dy/ds = −f`, `dλ/ds = Jᵀλ`, `dμ/ds = f_pᵀλ`.
struct BacksolveSystem<'a, F> {
    rhs: &'a F,
    p: &'a [f64],
    n: usize,
    vjp: RhsVjp,
    f: Vec<f64>,
}

impl<F: OdeRhs> OdeSystem<f64> for BacksolveSystem<'_, F> {
    fn n_states(&self) -> usize {
        2 * self.n + self.p.len()
    }
    fn eval(&mut self, s: f64, z: &[f64], out: &mut [f64]) {
        let n = self.n;
        let t = -s;
        let (y, rest) = z.split_at(n);
        let lam = &rest[..n];
        self.rhs.rhs(t, y, self.p, &mut self.f);
        let (dy, drest) = out.split_at_mut(n);
        for (d, f) in dy.iter_mut().zip(&self.f) {
            *d = -f;
        }
        let (dl, dm) = drest.split_at_mut(n);
        dl.fill(0.0);
        dm.fill(0.0);
        self.vjp.vjp(self.rhs, t, y, self.p, lam, dl, dm);
    }
}

impl<F: OdeRhs> OdeSystemJacobian for BacksolveSystem<'_, F> {
    /// Only explicit methods drive this system; a finite-difference Jacobian is given for
    /// completeness.
    fn jacobian(&mut self, s: f64, z: &[f64], mut jac: MatMut<'_, f64>) {
        let m = z.len();
        let mut f0 = vec![0.0; m];
        let mut f1 = vec![0.0; m];
        self.eval(s, z, &mut f0);
        let mut zz = z.to_vec();
        for c in 0..m {
            let d = f64::EPSILON.sqrt() * z[c].abs().max(1.0);
            zz[c] = z[c] + d;
            self.eval(s, &zz, &mut f1);
            zz[c] = z[c];
            for r in 0..m {
                jac[(r, c)] = (f1[r] - f0[r]) / d;
            }
        }
    }
}

/// The backsolve adjoint from the forward solution's final state `y1`.
pub(crate) fn backsolve_vjp<F: OdeRhs>(
    problem: &OdeProblem<F>,
    method: Method,
    options: &OdeOptions,
    sol: &OdeSolution,
    y1: &[f64],
    w: &[Vec<f64>],
) -> Result<OdeGradient> {
    let n = problem.y0.len();
    let np = problem.p.len();
    let mut z = vec![0.0; 2 * n + np];
    z[..n].copy_from_slice(y1);
    let mut sys = BacksolveSystem {
        rhs: &problem.rhs,
        p: &problem.p,
        n,
        vjp: RhsVjp::new(n, np),
        f: vec![0.0; n],
    };
    let opts = OdeOptions {
        save_at: SaveAt::Final,
        dense: false,
        h0: None,
        ..options.clone()
    };
    let mut stats = OdeStats::default();
    let mut events: Vec<(f64, usize)> = sol.ts.iter().copied().zip(0..).collect();
    events.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut cur = problem.t1;
    for (tau, k) in events {
        if tau > problem.t0 && tau < cur {
            let mut controller = options.controller.clone();
            let out = integrate_system(
                &mut sys,
                method,
                &mut controller,
                Span {
                    t0: -cur,
                    t1: -tau,
                    y0: &z,
                },
                &opts,
                &mut NoObserver,
            )
            .map_err(|e| backward_error(e, "backsolve state"))?;
            stats.add(&out.stats);
            z.copy_from_slice(&out.y_final);
            cur = tau;
        }
        if tau > problem.t0 {
            for (l, wv) in z[n..2 * n].iter_mut().zip(&w[k]) {
                *l += wv;
            }
        }
    }
    if cur > problem.t0 {
        let mut controller = options.controller.clone();
        let out = integrate_system(
            &mut sys,
            method,
            &mut controller,
            Span {
                t0: -cur,
                t1: -problem.t0,
                y0: &z,
            },
            &opts,
            &mut NoObserver,
        )
        .map_err(|e| backward_error(e, "backsolve state"))?;
        stats.add(&out.stats);
        z.copy_from_slice(&out.y_final);
    }
    let mut y0 = z[n..2 * n].to_vec();
    for (k, &tau) in sol.ts.iter().enumerate() {
        if tau <= problem.t0 {
            for (l, wv) in y0.iter_mut().zip(&w[k]) {
                *l += wv;
            }
        }
    }
    Ok(OdeGradient {
        y0,
        p: z[2 * n..].to_vec(),
        t1: 0.0,
        info: AdjointInfo {
            peak_stored_f64: 0,
            grid_f64: 0,
            n_checkpoints: 0,
            backward: stats,
        },
    })
}

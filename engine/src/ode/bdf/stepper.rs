//! The BDF (NDF) method as a [`OneStep`] under the shared time loop: it keeps the
//! modified divided differences scaled to its current step, solves the corrector by
//! simplified Newton, and chooses its own step sizes and orders ([`OneStep::decide`]).

use faer::Mat;

use super::coeffs::{
    MAX_FACTOR, MAX_ORDER, MIN_FACTOR, NEWTON_MAX_ITER, alpha, bdf_power_coeffs, change_d,
    error_const, gamma, interp_weights,
};
use crate::error::Result;
use crate::ode::driver::first_non_finite;
use crate::ode::linsolve::{LuWork, newton_tolerance};
use crate::ode::one_step::{Attempt, OneStep, Step, StepAttempt};
use crate::ode::options::OdeOptions;
use crate::ode::solution::OdeStats;
use crate::ode::system::OdeSystemJacobian;
use crate::solver::{StepDecision, Tolerance};

/// Hooks into the BDF steps (forward sensitivities carry their own difference arrays
/// through the same linear maps).
pub(crate) trait BdfHook {
    /// The solve starts at `(t0, y0)` with first step `h` (`D₁ = h f(t0, y0)`).
    fn init(&mut self, t0: f64, y0: &[f64], h: f64);
    /// `D` was rescaled for a step-size factor `r` at order `k`.
    fn change_d(&mut self, k: usize, r: f64);
    /// A step of order `k` to `(t_new, y_new)` with Newton constant `c = h/α_k` was
    /// accepted. Called before the difference update.
    fn on_accept(&mut self, k: usize, c: f64, t_new: f64, y_new: &[f64]) -> Result<()>;
    /// The difference update after acceptance (mirrors the update of `D`), then the
    /// save times inside `step`.
    fn update_d(&mut self, k: usize, step: Step<'_, f64>);
}

impl BdfHook for () {
    #[inline]
    fn init(&mut self, _: f64, _: &[f64], _: f64) {}
    #[inline]
    fn change_d(&mut self, _: usize, _: f64) {}
    #[inline]
    fn on_accept(&mut self, _: usize, _: f64, _: f64, _: &[f64]) -> Result<()> {
        Ok(())
    }
    #[inline]
    fn update_d(&mut self, _: usize, _: Step<'_, f64>) {}
}

/// Fixed order and step (convergence studies): the starting differences, the order and
/// the step; no error control, no order or step changes.
pub(crate) struct FixedOrder {
    pub order: usize,
    pub dt: f64,
    /// `D₀..D_order` (row-major, `n` columns).
    pub d0: Vec<f64>,
}

/// The work vectors of one attempt.
#[derive(Default)]
struct Work {
    /// The predictor `y⁰ = Σ_{j≤k} Dⱼ`.
    y_predict: Vec<f64>,
    /// `ψ = Σ_{j=1}^{k} γⱼ Dⱼ / α_k`.
    psi: Vec<f64>,
    /// Error scales: from the predictor during Newton, from the corrected state after.
    scale: Vec<f64>,
    /// The Newton iterate (the corrected state).
    y: Vec<f64>,
    /// `d = y − y⁰`.
    d: Vec<f64>,
    /// The Newton update.
    dy: Vec<f64>,
    /// `f(t_new, y)`.
    f: Vec<f64>,
}

/// The simplified Newton iteration of the corrector: the LU of `I − cJ` and the
/// convergence settings.
struct Newton {
    lu: LuWork,
    /// Convergence tolerance in units of the scaled norm.
    tol: f64,
    /// Most iterations per step.
    max_iter: usize,
}

impl Newton {
    /// Simplified Newton for `d = c f(t_new, y⁰ + d) − ψ` with the factorised matrix,
    /// from the predictor `y⁰` with error scales `scale`, leaving the corrected state in
    /// `y`; `Ok(iterations)` or `Err((iterations, component, size))`. The vectors are
    /// separate arguments (not a struct) so that the compiler knows they do not alias:
    /// the iteration stays as tight as it is written.
    #[allow(clippy::too_many_arguments)]
    fn solve<S: OdeSystemJacobian + ?Sized>(
        &mut self,
        sys: &mut S,
        t_new: f64,
        c: f64,
        (y_predict, psi, scale): (&[f64], &[f64], &[f64]),
        y: &mut [f64],
        d: &mut [f64],
        dy: &mut [f64],
        f: &mut [f64],
        stats: &mut OdeStats,
    ) -> std::result::Result<usize, (usize, usize, f64)> {
        let n = y.len();
        y.copy_from_slice(y_predict);
        d.fill(0.0);
        let mut norm_old: Option<f64> = None;
        let max_iter = self.max_iter;
        for k in 0..max_iter {
            sys.eval(t_new, y, f);
            stats.n_rhs += 1;
            stats.n_newton_iters += 1;
            if let Some((i, v)) = first_non_finite(f) {
                return Err((k + 1, i, v));
            }
            for i in 0..n {
                dy[i] = c * f[i] - psi[i] - d[i];
            }
            self.lu.solve(dy);
            let norm = Tolerance::rms_scaled(dy, scale, 1.0);
            let rate = norm_old.map(|o| norm / o);
            if let Some(r) = rate
                && (r >= 1.0 || r.powi((max_iter - k) as i32) / (1.0 - r) * norm > self.tol)
            {
                return Err((k + 1, Tolerance::worst_scaled(dy, scale, 1.0), norm));
            }
            for i in 0..n {
                y[i] += dy[i];
                d[i] += dy[i];
            }
            if norm == 0.0 || rate.is_some_and(|r| r / (1.0 - r) * norm < self.tol) {
                return Ok(k + 1);
            }
            norm_old = Some(norm);
        }
        let norm = Tolerance::rms_scaled(dy, scale, 1.0);
        Err((max_iter, Tolerance::worst_scaled(dy, scale, 1.0), norm))
    }
}

/// The predictor `y⁰ = Σ_{j≤k} Dⱼ` and `ψ = Σ_{j=1}^{k} γⱼ Dⱼ / α_k` from the differences
/// `d` (row `j` at `d[j·n..]`), component by component.
fn predict(d: &[f64], order: usize, y_predict: &mut [f64], psi: &mut [f64]) {
    let n = y_predict.len();
    let d = &d[..(order + 1) * n];
    let a = alpha(order);
    for (i, (y, p)) in y_predict.iter_mut().zip(psi.iter_mut()).enumerate() {
        let mut s = 0.0;
        for row in d.chunks_exact(n) {
            s += row[i];
        }
        *y = s;
        let mut q = 0.0;
        for (k, row) in d.chunks_exact(n).enumerate().skip(1) {
            q += gamma(k) * row[i];
        }
        *p = q / a;
    }
}

/// The difference update after an accepted step of order `k` with correction `dvec`:
/// `D[k+2] = d − D[k+1]`, `D[k+1] = d`, `D[i] += D[i+1]` for `i = k..0`, component by
/// component (the same sums as row by row; short loops over the orders that stay scalar,
/// where row loops of a few components would be vectorised behind overlap checks costing
/// more than the sums).
fn update_differences(d: &mut [f64], dvec: &[f64], order: usize) {
    let n = dvec.len();
    let (low, high) = d[..(order + 3) * n].split_at_mut((order + 1) * n);
    let (next, next2) = high.split_at_mut(n);
    for (i, &dv) in dvec.iter().enumerate() {
        next2[i] = dv - next[i];
        next[i] = dv;
        let mut acc = dv;
        for row in low.rchunks_exact_mut(n) {
            acc += row[i];
            row[i] = acc;
        }
    }
}

/// `D₀` after [`update_differences`], `D₀ + (D₁ + (… + (D_k + d)))` summed in the
/// update's order (so bit for bit the same), without changing `D`.
fn updated_state(d: &[f64], dvec: &[f64], order: usize, out: &mut [f64]) {
    let n = dvec.len();
    let d = &d[..(order + 1) * n];
    for (i, (o, &dv)) in out.iter_mut().zip(dvec).enumerate() {
        let mut acc = dv;
        for row in d.rchunks_exact(n) {
            acc += row[i];
        }
        *o = acc;
    }
}

/// The variable-order BDF (NDF) method and its state.
pub struct Bdf<H = ()> {
    n: usize,
    tol: Tolerance,
    newton: Newton,
    fixed: Option<FixedOrder>,
    /// `f(t0, y0)`.
    f0: Vec<f64>,
    /// Modified divided differences, row `k` at `d[k·n..]` (rows up to `MAX_ORDER + 2`).
    d: Vec<f64>,
    jac: Mat<f64>,
    started: bool,
    order: usize,
    /// Steps taken at the current step size and order.
    n_equal: usize,
    lu_valid: bool,
    jac_current: bool,
    /// The step size the differences are scaled to.
    h_cur: f64,
    work: Work,
    /// Newton constant `h/α_k` of the last attempt.
    c: f64,
    /// Newton iterations of the last attempt (`None` when it failed).
    n_iter: Option<usize>,
    /// The difference update of the last (successful) attempt is still to be applied.
    update_pending: bool,
    /// The order and step factor chosen after the last accepted step, applied on
    /// acceptance (after the step's dense output).
    pending_change: Option<(usize, f64)>,
    w: Vec<f64>,
    pub(crate) hook: H,
}

impl Bdf<()> {
    /// A solver for `n` states with the tolerances of `opts`.
    pub fn new(n: usize, opts: &OdeOptions) -> Self {
        Self::with_hook(n, opts, ())
    }
}

// The hook is crate-internal (forward sensitivities); these methods are too.
#[allow(private_bounds)]
impl<H: BdfHook> Bdf<H> {
    /// A solver with a hook.
    pub(crate) fn with_hook(n: usize, opts: &OdeOptions, hook: H) -> Self {
        Self {
            n,
            tol: opts.tol.clone(),
            newton: Newton {
                lu: LuWork::new(n),
                tol: newton_tolerance(&opts.tol),
                max_iter: NEWTON_MAX_ITER,
            },
            fixed: None,
            f0: vec![0.0; n],
            d: vec![0.0; (MAX_ORDER + 3) * n],
            jac: Mat::zeros(n, n),
            started: false,
            order: 1,
            n_equal: 0,
            lu_valid: false,
            jac_current: false,
            h_cur: f64::NAN,
            work: Work {
                y_predict: vec![0.0; n],
                psi: vec![0.0; n],
                scale: vec![0.0; n],
                y: vec![0.0; n],
                d: vec![0.0; n],
                dy: vec![0.0; n],
                f: vec![0.0; n],
            },
            c: 0.0,
            n_iter: None,
            update_pending: false,
            pending_change: None,
            w: vec![0.0; MAX_ORDER + 3],
            hook,
        }
    }

    /// Pins the order and the step ([`solve_fixed_order`](super::solve_fixed_order)),
    /// with at most `max_iter` Newton iterations per step.
    pub(crate) fn pin(&mut self, fixed: FixedOrder, max_iter: usize) {
        self.fixed = Some(fixed);
        self.newton.max_iter = max_iter;
    }

    /// `D ← (R(r) U)ᵀ D` at the current order (and the hook's arrays alike).
    fn rescale(&mut self, r: f64, reset_lu: bool) {
        change_d(&mut self.d, self.n, self.order, r);
        self.hook.change_d(self.order, r);
        self.n_equal = 0;
        if reset_lu {
            self.lu_valid = false;
        }
    }

    /// The first attempt: the starting differences (`D₀ = y₀`, `D₁ = h f₀`, order 1, or
    /// the fixed-order history) and the Jacobian at the start.
    fn start<S: OdeSystemJacobian + ?Sized>(
        &mut self,
        sys: &mut S,
        step: &StepAttempt<'_, f64>,
        stats: &mut OdeStats,
    ) {
        let n = self.n;
        self.d.fill(0.0);
        match &self.fixed {
            Some(fx) => {
                self.d[..fx.d0.len()].copy_from_slice(&fx.d0);
                self.order = fx.order;
                self.h_cur = fx.dt;
            }
            None => {
                self.h_cur = if step.last { step.h } else { step.h_asked };
                self.d[..n].copy_from_slice(step.y);
                for i in 0..n {
                    self.d[n + i] = self.f0[i] * self.h_cur;
                }
                self.order = 1;
            }
        }
        self.hook.init(step.t, step.y, self.h_cur);
        self.n_equal = 0;
        self.lu_valid = false;
        sys.jacobian(step.t, step.y, self.jac.as_mut());
        stats.n_jac += 1;
        self.jac_current = true;
        self.started = true;
    }

    /// The difference update of the last accepted step, if not yet applied.
    fn apply_update(&mut self) {
        if self.update_pending {
            update_differences(&mut self.d, &self.work.d, self.order);
            self.update_pending = false;
        }
    }
}

impl<S: OdeSystemJacobian + ?Sized, H: BdfHook> OneStep<f64, S> for Bdf<H> {
    /// 2: the starting-step heuristic's exponent (the order and the steps are the
    /// method's own choice, [`OneStep::decide`]).
    fn error_order(&self) -> f64 {
        2.0
    }

    fn init(&mut self, sys: &mut S, t0: f64, y0: &[f64], stats: &mut OdeStats) {
        sys.eval(t0, y0, &mut self.f0);
        stats.n_rhs += 1;
        self.started = false;
    }

    fn f0(&self) -> &[f64] {
        &self.f0
    }

    fn attempt(
        &mut self,
        sys: &mut S,
        step: StepAttempt<'_, f64>,
        stats: &mut OdeStats,
    ) -> Attempt {
        if !self.started {
            self.start(sys, &step, stats);
        }
        self.update_pending = false;
        self.pending_change = None;
        let h = match &self.fixed {
            // The formula keeps the step dt exactly (the grid is the driver's).
            Some(fx) => fx.dt,
            None => {
                // The loop capped the step at h_max: rescale to it.
                if step.h_asked < self.h_cur {
                    let r = step.h_asked / self.h_cur;
                    self.rescale(r, true);
                    self.h_cur = step.h_asked;
                }
                // The last step ends exactly at t1.
                if step.last {
                    let r = step.h / self.h_cur;
                    if r != 1.0 {
                        self.rescale(r, true);
                    }
                }
                // (A difference from h_cur by the rounding of t + h needs no rescaling.)
                self.h_cur = step.h;
                step.h
            }
        };
        let order = self.order;
        let w = &mut self.work;
        predict(&self.d, order, &mut w.y_predict, &mut w.psi);
        self.tol.scales_into(&w.y_predict, &mut w.scale);
        let c = h / alpha(order);
        // Newton, with one retry on a fresh Jacobian.
        let mut result;
        loop {
            if !self.lu_valid {
                stats.n_lu += 1;
                if let Err(i) = self.newton.lu.factor_shifted(self.jac.as_ref(), 1.0, -c) {
                    // A singular iteration matrix: a Newton failure (shrink the step).
                    result = Err((0, i, f64::MAX));
                    break;
                }
                self.lu_valid = true;
            }
            result = self.newton.solve(
                sys,
                step.t_new,
                c,
                (&w.y_predict, &w.psi, &w.scale),
                &mut w.y,
                &mut w.d,
                &mut w.dy,
                &mut w.f,
                stats,
            );
            if result.is_ok() || self.jac_current {
                break;
            }
            sys.jacobian(step.t_new, &w.y_predict, self.jac.as_mut());
            stats.n_jac += 1;
            self.jac_current = true;
            self.lu_valid = false;
        }
        match result {
            Err((iterations, component, residual)) => {
                self.n_iter = None;
                if residual.is_finite() {
                    Attempt::Failed {
                        iterations,
                        component,
                        residual,
                    }
                } else {
                    // A Newton failure too (the loop counts only `Failed` ones).
                    stats.n_newton_failures += 1;
                    Attempt::NonFinite {
                        component,
                        value: residual,
                    }
                }
            }
            Ok(n_iter) => {
                self.n_iter = Some(n_iter);
                self.c = c;
                self.tol.scales_into(&w.y, &mut w.scale);
                let ec = error_const(order);
                for (e, d) in step.err.iter_mut().zip(&w.d) {
                    *e = ec * d;
                }
                // The new state as the difference update will leave it in D₀.
                updated_state(&self.d, &w.d, order, step.y_new);
                self.update_pending = true;
                Attempt::Done
            }
        }
    }

    /// `‖(κ_k γ_k + 1/(k+1)) d / (atol + rtol |y_new|)‖_RMS` (the scales of the corrected
    /// state, as scipy's and MATLAB's BDF codes).
    fn error_norm(&self, _tol: &Tolerance, err: &[f64], _y: &[f64], _y_new: &[f64]) -> f64 {
        Tolerance::rms_scaled(err, &self.work.scale, 1.0)
    }

    fn worst_component(&self, _tol: &Tolerance, err: &[f64], _y: &[f64], _y_new: &[f64]) -> usize {
        Tolerance::worst_scaled(err, &self.work.scale, 1.0)
    }

    /// Rejection: halve after a Newton failure, else shrink by
    /// `max(0.2, s ε^{−1/(k+1)})`. Acceptance: after `k + 1` steps of equal size, the order
    /// among `k − 1, k, k + 1` that allows the largest step and that step (at most 10×)
    /// (Shampine & Reichelt 1997, §2.3; as scipy's BDF).
    fn decide(&mut self, h: f64, err: f64) -> Option<StepDecision> {
        let _ = h;
        let Some(n_iter) = self.n_iter else {
            let r = 0.5;
            self.h_cur *= r;
            self.rescale(r, true);
            return Some(StepDecision {
                accept: false,
                h_next: self.h_cur,
            });
        };
        let order = self.order;
        let safety = 0.9 * (2 * NEWTON_MAX_ITER + 1) as f64 / (2 * NEWTON_MAX_ITER + n_iter) as f64;
        if err > 1.0 || !err.is_finite() {
            self.update_pending = false;
            let r = if err.is_finite() {
                MIN_FACTOR.max(safety * err.powf(-1.0 / (order as f64 + 1.0)))
            } else {
                MIN_FACTOR
            };
            self.h_cur *= r;
            // (The LU is kept: the next Newton iteration uses the old matrix.)
            self.rescale(r, false);
            return Some(StepDecision {
                accept: false,
                h_next: self.h_cur,
            });
        }
        // Accepted: the order and step selection (applied in `accept`, after the dense
        // output of this step) once k + 1 steps of this size and order are done.
        self.apply_update();
        if self.fixed.is_some() || self.n_equal + 1 < order + 1 {
            return Some(StepDecision {
                accept: true,
                h_next: self.h_cur,
            });
        }
        let n = self.n;
        let scale = &self.work.scale;
        let em = if order > 1 {
            Tolerance::rms_scaled(
                &self.d[order * n..(order + 1) * n],
                scale,
                error_const(order - 1),
            )
        } else {
            f64::INFINITY
        };
        let ep = if order < MAX_ORDER {
            Tolerance::rms_scaled(
                &self.d[(order + 2) * n..(order + 3) * n],
                scale,
                error_const(order + 1),
            )
        } else {
            f64::INFINITY
        };
        let norms = [em, err, ep];
        let mut best = 1usize;
        let mut best_f = f64::NEG_INFINITY;
        for (j, &e) in norms.iter().enumerate() {
            let q = (order + j) as f64; // order − 1 + j, plus one
            let fac = if e == 0.0 {
                f64::INFINITY
            } else {
                e.powf(-1.0 / q)
            };
            if fac > best_f {
                best_f = fac;
                best = j;
            }
        }
        let r = MAX_FACTOR.min(safety * best_f);
        self.pending_change = Some(((order + best) - 1, r));
        Some(StepDecision {
            accept: true,
            h_next: self.h_cur * r,
        })
    }

    fn dense_at(
        &mut self,
        _sys: &mut S,
        step: Step<'_, f64>,
        theta: f64,
        out: &mut [f64],
        _stats: &mut OdeStats,
    ) {
        let _ = step;
        self.apply_update();
        let (n, order) = (self.n, self.order);
        interp_weights(order, theta, &mut self.w);
        out.fill(0.0);
        for (k, &wk) in self.w[..=order].iter().enumerate() {
            for i in 0..n {
                out[i] += wk * self.d[k * n + i];
            }
        }
    }

    fn dense_coeffs(
        &mut self,
        _sys: &mut S,
        _step: Step<'_, f64>,
        out: &mut Vec<f64>,
        _stats: &mut OdeStats,
    ) {
        self.apply_update();
        bdf_power_coeffs(&self.d, self.n, self.order, out);
    }

    fn accept(&mut self, _sys: &mut S, step: Step<'_, f64>, _stats: &mut OdeStats) -> Result<()> {
        self.n_equal += 1;
        self.jac_current = false;
        self.hook
            .on_accept(self.order, self.c, step.t_new, &self.work.y)?;
        self.apply_update();
        self.hook.update_d(self.order, step);
        if let Some((order, r)) = self.pending_change.take() {
            self.order = order;
            self.h_cur *= r;
            self.rescale(r, true);
        }
        Ok(())
    }
}

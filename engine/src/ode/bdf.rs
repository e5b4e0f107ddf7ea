//! Variable-order, variable-step backward differentiation formulas (orders 1–5) in the
//! quasi-constant-step form of the numerical differentiation formulas (NDF) of Shampine
//! & Reichelt (1997), "The MATLAB ODE suite", SIAM J. Sci. Comput. 18(1), §2.
//!
//! The history is kept as modified divided differences `D` (`D₀ = y_n`,
//! `Dₖ = ∇ᵏ y_n` on the current step grid). A step of order `k` predicts
//! `y⁰ = Σ_{j≤k} Dⱼ` and solves
//!
//! $$(1 - κ_k)\,γ_k\,(y - y^0) + \sum_{j=1}^{k} γ_j D_j = h f(t_{n+1}, y),\qquad γ_j = \sum_{i=1}^{j} 1/i,$$
//!
//! by simplified Newton with `I − (h/α_k) J` (`α_k = (1 − κ_k) γ_k`); the local error is
//! `(κ_k γ_k + 1/(k+1)) (y − y⁰)`. A change of step size by a factor `r` maps
//! `D ← (R(r) U)ᵀ D` (Shampine & Reichelt, eq. (2.5)). After `k + 1` steps of equal size
//! the order moves by ±1 where the error estimate allows a larger step. The Jacobian is
//! reused until the Newton iteration fails; the LU is refreshed when the step changes.

use faer::Mat;

use super::dense::DenseOutput;
use super::driver::{
    LoopOutput, StepObserver, first_non_finite, min_step, save_every, save_times, underflow,
};
use super::linsolve::{LuWork, newton_tolerance};
use super::options::OdeOptions;
use super::solution::OdeStats;
use super::system::OdeSystemJacobian;
use crate::error::{Error, Result};
use crate::solver::{Tolerance, initial_step};

/// Highest order.
pub const MAX_ORDER: usize = 5;
const NEWTON_MAX_ITER: usize = 4;
const MIN_FACTOR: f64 = 0.2;
const MAX_FACTOR: f64 = 10.0;
/// NDF coefficients κ (Shampine & Reichelt 1997, Table 1); order 5 is plain BDF.
const KAPPA: [f64; MAX_ORDER + 1] = [0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0];

/// `γ_k = Σ_{i≤k} 1/i`.
#[inline]
pub(crate) fn gamma(k: usize) -> f64 {
    GAMMA[k]
}

/// `α_k = (1 − κ_k) γ_k`.
#[inline]
pub(crate) fn alpha(k: usize) -> f64 {
    (1.0 - KAPPA[k]) * GAMMA[k]
}

/// The local error constant `κ_k γ_k + 1/(k + 1)`.
#[inline]
fn error_const(k: usize) -> f64 {
    KAPPA[k] * GAMMA[k] + 1.0 / (k as f64 + 1.0)
}

/// `γ_k` for `k = 0..=MAX_ORDER + 1`.
const GAMMA: [f64; MAX_ORDER + 2] = {
    let mut g = [0.0; MAX_ORDER + 2];
    let mut k = 1;
    while k < MAX_ORDER + 2 {
        g[k] = g[k - 1] + 1.0 / k as f64;
        k += 1;
    }
    g
};

/// Rows of the difference arrays: orders up to [`MAX_ORDER`] plus two.
const ROWS: usize = MAX_ORDER + 1;

/// The matrix `R(r)` of Shampine & Reichelt (eq. (2.5)) for order `k`:
/// `R₀ⱼ = 1`, `Rᵢⱼ = Π_{m≤i} (m − 1 − r j)/m` (on the stack; `k ≤ MAX_ORDER`).
const fn compute_r(k: usize, r: f64) -> [[f64; ROWS]; ROWS] {
    let mut m = [[0.0; ROWS]; ROWS];
    let mut j = 0;
    while j <= k {
        m[0][j] = 1.0;
        j += 1;
    }
    let mut i = 1;
    while i <= k {
        let mut j = 1;
        while j <= k {
            m[i][j] = m[i - 1][j] * ((i as f64) - 1.0 - r * j as f64) / i as f64;
            j += 1;
        }
        i += 1;
    }
    m
}

/// `U = R(1)` of every order, at compile time.
const U_TABLE: [[[f64; ROWS]; ROWS]; ROWS] = {
    let mut t = [[[0.0; ROWS]; ROWS]; ROWS];
    let mut k = 0;
    while k < ROWS {
        t[k] = compute_r(k, 1.0);
        k += 1;
    }
    t
};

/// `D[0..=k] ← (R(r) U)ᵀ D[0..=k]` for a step-size change by the factor `r`
/// (`D` row-major, `n` columns).
pub(crate) fn change_d(d: &mut [f64], n: usize, k: usize, r: f64) {
    if r == 1.0 {
        return;
    }
    // R(r) over the full (constant-size) block: rows and columns beyond k only meet the
    // zero rows of U below, so the loops unroll and the result is that of order k.
    let mut rm = [[0.0; ROWS]; ROWS];
    rm[0] = [1.0; ROWS];
    for i in 1..ROWS {
        let inv_i = 1.0 / i as f64;
        for j in 1..ROWS {
            rm[i][j] = rm[i - 1][j] * ((i as f64) - 1.0 - r * j as f64) * inv_i;
        }
    }
    let u = &U_TABLE[k];
    let mut ru = [[0.0; ROWS]; ROWS];
    for i in 0..ROWS {
        for l in 0..ROWS {
            let a = rm[i][l];
            for j in 0..ROWS {
                ru[i][j] += a * u[l][j];
            }
        }
    }
    // Row by row, in place: new row i needs old rows 0..=k, so go through a small copy
    // per column.
    let mut old = [0.0; ROWS];
    for c in 0..n {
        for j in 0..=k {
            old[j] = d[j * n + c];
        }
        for i in 0..=k {
            let mut acc = 0.0;
            for j in 0..=k {
                acc += ru[j][i] * old[j];
            }
            d[i * n + c] = acc;
        }
    }
}

/// Hooks into the BDF loop (forward sensitivities carry their own difference arrays
/// through the same linear maps).
pub(crate) trait BdfHook<S: ?Sized> {
    /// The loop starts at `(t0, y0)` with first step `h` (`D₁ = h f(t0, y0)`).
    fn init(&mut self, t0: f64, y0: &[f64], h: f64) -> Result<()>;
    /// `D` was rescaled for a step-size factor `r` at order `k`.
    fn change_d(&mut self, k: usize, r: f64);
    /// A step of order `k` to `(t_new, y_new)` with Newton constant `c = h/α_k` was
    /// accepted; `d = y_new − y⁰`. Called before the difference update.
    fn on_accept(&mut self, sys: &mut S, k: usize, c: f64, t_new: f64, y_new: &[f64])
    -> Result<()>;
    /// The difference update after acceptance (mirrors the update of `D`).
    fn update_d(&mut self, k: usize);
    /// Saves the tangents at `t` (inside the last step) given the step's dense weights.
    fn save(&mut self, k: usize, theta_weights: &[f64]);
}

impl<S: ?Sized> BdfHook<S> for () {
    fn init(&mut self, _: f64, _: &[f64], _: f64) -> Result<()> {
        Ok(())
    }
    fn change_d(&mut self, _: usize, _: f64) {}
    fn on_accept(&mut self, _: &mut S, _: usize, _: f64, _: f64, _: &[f64]) -> Result<()> {
        Ok(())
    }
    fn update_d(&mut self, _: usize) {}
    fn save(&mut self, _: usize, _: &[f64]) {}
}

/// Weights `pₘ(θ)` of the interpolant `y(t_old + θh) = Σₘ pₘ(θ) Dₘ` (after the update of
/// `D` for the step just taken, `D₀ = y_new`): `p₀ = 1`,
/// `pₘ(θ) = Π_{j<m} (θ − 1 + j)/(1 + j)`.
pub(crate) fn interp_weights(k: usize, theta: f64, out: &mut [f64]) {
    out[0] = 1.0;
    for m in 1..=k {
        out[m] = out[m - 1] * (theta - 1.0 + (m - 1) as f64) / m as f64;
    }
}

/// Fixed order and step (convergence studies): the starting differences, the order and
/// the step; no error control, no order or step changes.
struct FixedOrder {
    order: usize,
    dt: f64,
    /// `D₀..D_order` (row-major, `n` columns).
    d0: Vec<f64>,
}

/// The BDF integrator state.
pub struct Bdf {
    n: usize,
    f: Vec<f64>,
    d: Vec<f64>,
    jac: Mat<f64>,
    lu: LuWork,
    newton_tol: f64,
    /// Most simplified-Newton iterations per step.
    max_iter: usize,
    fixed: Option<FixedOrder>,
}

impl Bdf {
    /// A solver for `n` states.
    pub fn new(n: usize, opts: &OdeOptions) -> Self {
        Self {
            n,
            f: vec![0.0; n],
            d: vec![0.0; (MAX_ORDER + 3) * n],
            jac: Mat::zeros(n, n),
            lu: LuWork::new(n),
            newton_tol: newton_tolerance(&opts.tol),
            max_iter: NEWTON_MAX_ITER,
            fixed: None,
        }
    }

    /// Integrates `sys` from `(t0, y0)` to `t1`.
    pub(crate) fn integrate<S, O>(
        &mut self,
        sys: &mut S,
        t0: f64,
        t1: f64,
        y0: &[f64],
        opts: &OdeOptions,
        observer: &mut O,
    ) -> Result<LoopOutput<f64>>
    where
        S: OdeSystemJacobian + ?Sized,
        O: StepObserver<f64>,
    {
        self.integrate_with_hook(sys, t0, t1, y0, opts, observer, &mut ())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn integrate_with_hook<S, O, H>(
        &mut self,
        sys: &mut S,
        t0: f64,
        t1: f64,
        y0: &[f64],
        opts: &OdeOptions,
        observer: &mut O,
        hook: &mut H,
    ) -> Result<LoopOutput<f64>>
    where
        S: OdeSystemJacobian + ?Sized,
        O: StepObserver<f64>,
        H: BdfHook<S>,
    {
        let n = self.n;
        let fixed = self.fixed.take();
        let mut stats = OdeStats::default();
        let tol = &opts.tol;
        let save_ts = save_times(&opts.save_at, t1);
        let save_every = save_every(&opts.save_at);
        let save_steps = save_every.is_some();
        let mut out_ts = Vec::new();
        let mut out_ys: Vec<Vec<f64>> = Vec::new();
        let mut dense = opts.dense.then(|| DenseOutput::new(n));

        let mut f = vec![0.0; n];
        sys.eval(t0, y0, &mut f);
        stats.n_rhs += 1;
        if let Some((i, v)) = first_non_finite(&f) {
            return Err(Error::NonFiniteState {
                t: t0,
                h: 0.0,
                component: i,
                value: v,
                quantity: "derivative",
            });
        }
        let mut h_abs = match (&fixed, opts.h0) {
            (Some(fx), _) => fx.dt,
            (None, Some(h)) => h,
            (None, None) => {
                stats.n_rhs += 1;
                initial_step(t0, y0, &f, 2.0, tol, |t, y, out| sys.eval(t, y, out)).max(opts.h_min)
            }
        }
        .min(opts.h_max)
        .min(t1 - t0);

        let mut next_save = 0;
        while next_save < save_ts.len() && save_ts[next_save] <= t0 {
            out_ts.push(save_ts[next_save]);
            out_ys.push(y0.to_vec());
            next_save += 1;
        }
        if save_steps {
            out_ts.push(t0);
            out_ys.push(y0.to_vec());
        }

        self.d.fill(0.0);
        match &fixed {
            Some(fx) => self.d[..fx.d0.len()].copy_from_slice(&fx.d0),
            None => {
                self.d[..n].copy_from_slice(y0);
                for i in 0..n {
                    self.d[n + i] = f[i] * h_abs;
                }
            }
        }
        hook.init(t0, y0, h_abs)?;
        let mut order = fixed.as_ref().map_or(1, |fx| fx.order);
        let mut n_equal = 0usize;
        let mut lu_valid = false;
        sys.jacobian(t0, y0, self.jac.as_mut());
        stats.n_jac += 1;
        let mut jac_current = true;

        let mut t = t0;
        let mut y_predict = vec![0.0; n];
        let mut psi = vec![0.0; n];
        let mut y_new = vec![0.0; n];
        let mut dvec = vec![0.0; n];
        let mut scale = vec![0.0; n];
        let mut dy = vec![0.0; n];
        let mut w = vec![0.0; MAX_ORDER + 3];
        let mut coeffs = Vec::new();
        let mut n_steps = 0usize;
        let mut n_accepted = 0usize;
        let mut last_fail: Option<Error> = None;

        while t < t1 {
            if fixed.is_none() && h_abs > opts.h_max {
                let r = opts.h_max / h_abs;
                change_d(&mut self.d, n, order, r);
                hook.change_d(order, r);
                h_abs = opts.h_max;
                n_equal = 0;
                lu_valid = false;
            }
            // One accepted step.
            let (t_new, c, n_iter, err_norm) = loop {
                if n_steps >= opts.max_steps {
                    return Err(Error::TooManySteps {
                        op: "ode",
                        t,
                        h: h_abs.min(t1 - t),
                        max_steps: opts.max_steps,
                        path: None,
                    });
                }
                if h_abs < min_step(t, opts.h_min) {
                    return Err(underflow(last_fail.take(), t, h_abs));
                }
                let mut t_new = t + h_abs;
                if let Some(fx) = &fixed {
                    // On the grid t0 + k·dt; the formula keeps the step dt exactly.
                    let next = t0 + (n_accepted + 1) as f64 * fx.dt;
                    t_new = if next >= t1 - 1e-6 * fx.dt { t1 } else { next };
                } else if t_new >= t1 {
                    t_new = t1;
                    let r = (t_new - t) / h_abs;
                    if r != 1.0 {
                        change_d(&mut self.d, n, order, r);
                        hook.change_d(order, r);
                        n_equal = 0;
                        lu_valid = false;
                    }
                }
                let h = if fixed.is_some() { h_abs } else { t_new - t };
                h_abs = h;
                n_steps += 1;
                for i in 0..n {
                    let mut s = 0.0;
                    for k in 0..=order {
                        s += self.d[k * n + i];
                    }
                    y_predict[i] = s;
                    let mut p = 0.0;
                    for k in 1..=order {
                        p += gamma(k) * self.d[k * n + i];
                    }
                    psi[i] = p / alpha(order);
                }
                tol.scales_into(&y_predict, &mut scale);
                let c = h / alpha(order);
                // Newton, with one retry on a fresh Jacobian.
                let mut result;
                loop {
                    if !lu_valid {
                        stats.n_lu += 1;
                        if let Err(i) = self.lu.factor_shifted(self.jac.as_ref(), 1.0, -c) {
                            // A singular iteration matrix: a Newton failure (shrink the step).
                            result = Err((0, i, f64::MAX));
                            break;
                        }
                        lu_valid = true;
                    }
                    result = self.newton(
                        sys, t_new, &y_predict, c, &psi, &scale, &mut y_new, &mut dvec, &mut dy,
                        &mut stats,
                    );
                    if result.is_ok() || jac_current {
                        break;
                    }
                    sys.jacobian(t_new, &y_predict, self.jac.as_mut());
                    stats.n_jac += 1;
                    jac_current = true;
                    lu_valid = false;
                }
                if fixed.is_some()
                    && let Err((iterations, component, residual)) = result
                {
                    // Fixed steps cannot shrink.
                    return Err(Error::NewtonFailure {
                        t,
                        h,
                        iterations,
                        component,
                        residual,
                    });
                }
                match result {
                    Err((iterations, component, residual)) => {
                        stats.n_newton_failures += 1;
                        stats.n_rejected += 1;
                        last_fail = Some(if residual.is_finite() {
                            Error::NewtonFailure {
                                t,
                                h,
                                iterations,
                                component,
                                residual,
                            }
                        } else {
                            Error::NonFiniteState {
                                t,
                                h,
                                component,
                                value: residual,
                                quantity: "derivative",
                            }
                        });
                        let r = 0.5;
                        h_abs *= r;
                        change_d(&mut self.d, n, order, r);
                        hook.change_d(order, r);
                        n_equal = 0;
                        lu_valid = false;
                        continue;
                    }
                    Ok(n_iter) => {
                        let safety = 0.9 * (2 * NEWTON_MAX_ITER + 1) as f64
                            / (2 * NEWTON_MAX_ITER + n_iter) as f64;
                        tol.scales_into(&y_new, &mut scale);
                        let ec = error_const(order);
                        let err_norm = Tolerance::rms_scaled(&dvec, &scale, ec);
                        let worst = Tolerance::worst_scaled(&dvec, &scale, ec);
                        if fixed.is_none() && (err_norm > 1.0 || !err_norm.is_finite()) {
                            stats.n_rejected += 1;
                            last_fail = Some(if err_norm.is_finite() {
                                Error::StepSizeUnderflow {
                                    op: "ode",
                                    t,
                                    h,
                                    component: Some(worst),
                                    path: None,
                                }
                            } else {
                                Error::NonFiniteState {
                                    t,
                                    h,
                                    component: worst,
                                    value: y_new[worst],
                                    quantity: "state",
                                }
                            });
                            let r = if err_norm.is_finite() {
                                MIN_FACTOR.max(safety * err_norm.powf(-1.0 / (order as f64 + 1.0)))
                            } else {
                                MIN_FACTOR
                            };
                            h_abs *= r;
                            change_d(&mut self.d, n, order, r);
                            hook.change_d(order, r);
                            n_equal = 0;
                            continue;
                        }
                        break (t_new, c, n_iter, (err_norm, safety));
                    }
                }
            };
            let (err_norm, safety) = err_norm;
            let _ = n_iter;
            // Accepted.
            stats.n_accepted += 1;
            n_equal += 1;
            jac_current = false;
            hook.on_accept(sys, order, c, t_new, &y_new)?;
            observer.on_step(n_accepted, t, t_new - t, &self.d[..n], &y_new);
            n_accepted += 1;
            let h = t_new - t;
            // D[order+2] = d − D[order+1]; D[order+1] = d; D[i] += D[i+1] for i = order..0.
            for i in 0..n {
                self.d[(order + 2) * n + i] = dvec[i] - self.d[(order + 1) * n + i];
                self.d[(order + 1) * n + i] = dvec[i];
            }
            for k in (0..=order).rev() {
                for i in 0..n {
                    self.d[k * n + i] += self.d[(k + 1) * n + i];
                }
            }
            hook.update_d(order);
            // Save and dense output on [t, t_new] from the updated differences.
            while next_save < save_ts.len() && save_ts[next_save] <= t_new {
                let ts = save_ts[next_save];
                let theta = if ts >= t_new { 1.0 } else { (ts - t) / h };
                interp_weights(order, theta, &mut w);
                let mut v = vec![0.0; n];
                for (k, &wk) in w[..=order].iter().enumerate() {
                    for i in 0..n {
                        v[i] += wk * self.d[k * n + i];
                    }
                }
                if ts >= t_new {
                    v.copy_from_slice(&self.d[..n]);
                }
                hook.save(order, &w[..=order]);
                out_ts.push(ts);
                out_ys.push(v);
                next_save += 1;
            }
            if let Some(dn) = dense.as_mut() {
                bdf_power_coeffs(&self.d, n, order, &mut coeffs);
                dn.push(t, h, &coeffs);
            }
            t = t_new;
            if let Some(k) = save_every
                && (n_accepted.is_multiple_of(k) || t >= t1)
            {
                out_ts.push(t);
                out_ys.push(self.d[..n].to_vec());
            }
            last_fail = None;
            if fixed.is_some() || n_equal < order + 1 {
                continue;
            }
            // Order and step-size selection.
            let em = if order > 1 {
                let e = Tolerance::rms_scaled(
                    &self.d[order * n..(order + 1) * n],
                    &scale,
                    error_const(order - 1),
                );
                e
            } else {
                f64::INFINITY
            };
            let ep = if order < MAX_ORDER {
                let e = Tolerance::rms_scaled(
                    &self.d[(order + 2) * n..(order + 3) * n],
                    &scale,
                    error_const(order + 1),
                );
                e
            } else {
                f64::INFINITY
            };
            let norms = [em, err_norm, ep];
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
            order = (order + best) - 1;
            let r = MAX_FACTOR.min(safety * best_f);
            h_abs *= r;
            change_d(&mut self.d, n, order, r);
            hook.change_d(order, r);
            n_equal = 0;
            lu_valid = false;
        }
        if !save_steps && out_ys.len() < save_ts.len() {
            // Only possible through rounding at t1.
            while next_save < save_ts.len() {
                out_ts.push(save_ts[next_save]);
                out_ys.push(self.d[..n].to_vec());
                next_save += 1;
            }
        }
        Ok(LoopOutput {
            ts: out_ts,
            ys: out_ys,
            dense,
            y_final: self.d[..n].to_vec(),
            stats,
        })
    }

    /// Simplified Newton for `d = c f(t_new, y⁰ + d) − ψ`; `Ok(iterations)` or
    /// `Err((iterations, component, size))`.
    #[allow(clippy::too_many_arguments)]
    fn newton<S: OdeSystemJacobian + ?Sized>(
        &mut self,
        sys: &mut S,
        t_new: f64,
        y_predict: &[f64],
        c: f64,
        psi: &[f64],
        scale: &[f64],
        y: &mut [f64],
        d: &mut [f64],
        dy: &mut [f64],
        stats: &mut OdeStats,
    ) -> std::result::Result<usize, (usize, usize, f64)> {
        let n = self.n;
        y.copy_from_slice(y_predict);
        d.fill(0.0);
        let mut f = std::mem::take(&mut self.f);
        f.resize(n, 0.0);
        let result = self.newton_iterate(sys, t_new, c, psi, scale, y, d, dy, &mut f, stats);
        self.f = f;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn newton_iterate<S: OdeSystemJacobian + ?Sized>(
        &mut self,
        sys: &mut S,
        t_new: f64,
        c: f64,
        psi: &[f64],
        scale: &[f64],
        y: &mut [f64],
        d: &mut [f64],
        dy: &mut [f64],
        f: &mut [f64],
        stats: &mut OdeStats,
    ) -> std::result::Result<usize, (usize, usize, f64)> {
        let n = self.n;
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
            let worst = Tolerance::worst_scaled(dy, scale, 1.0);
            let rate = norm_old.map(|o| norm / o);
            if let Some(r) = rate
                && (r >= 1.0 || r.powi((max_iter - k) as i32) / (1.0 - r) * norm > self.newton_tol)
            {
                return Err((k + 1, worst, norm));
            }
            for i in 0..n {
                y[i] += dy[i];
                d[i] += dy[i];
            }
            if norm == 0.0 || rate.is_some_and(|r| r / (1.0 - r) * norm < self.newton_tol) {
                return Ok(k + 1);
            }
            norm_old = Some(norm);
        }
        let norm = Tolerance::rms_scaled(dy, scale, 1.0);
        Err((max_iter, Tolerance::worst_scaled(dy, scale, 1.0), norm))
    }
}

/// Fixed-step, fixed-order BDF (NDF) of order `k` from `k + 1` starting values, for
/// convergence studies and teaching: `history[j] = y(t0 − j·dt)`, `j = 0..=k`.
///
/// Runs the production BDF loop (the same predictor, simplified Newton with Jacobian
/// reuse and LU, corrector and difference update) with the order and the step pinned:
/// `round((t1 − t0)/dt)` steps (the problem's `t1` must be a whole number of steps away),
/// no error control, the Newton iteration converged to a scaled tolerance of about
/// `2e-15` (`rtol = atol = 1e-13`, up to 12 iterations). Returns `y(t1)`.
///
/// # Errors
/// [`Error::InvalidArgument`] for an order outside `1..=5`, a history of the wrong shape
/// or an interval that is not a whole number of steps; [`Error::NewtonFailure`] when the
/// iteration does not converge (a fixed step cannot shrink).
pub fn solve_fixed_order<F: super::problem::OdeRhs>(
    problem: &super::problem::OdeProblem<F>,
    order: usize,
    dt: f64,
    history: &[Vec<f64>],
) -> Result<Vec<f64>> {
    problem.validate()?;
    let n = problem.y0.len();
    let k = order;
    let steps = ((problem.t1 - problem.t0) / dt).round();
    if !(1..=MAX_ORDER).contains(&k)
        || history.len() != k + 1
        || history
            .iter()
            .any(|h| h.len() != n || h.iter().any(|v| !v.is_finite()))
        || !(dt > 0.0
            && steps >= 1.0
            && ((problem.t0 + steps * dt) - problem.t1).abs() <= 1e-9 * dt.max(problem.t1.abs()))
    {
        return Err(Error::InvalidArgument {
            op: "bdf::solve_fixed_order",
            message: format!(
                "need 1 ≤ order ≤ {MAX_ORDER}, order + 1 = {} finite starting values of length {n}, and t1 − t0 a whole number of steps dt = {dt}",
                k + 1
            ),
        });
    }
    // Backward differences of the history: Dⱼ = ∇ʲ y₀.
    let mut d0 = vec![0.0; (k + 1) * n];
    let mut cur: Vec<Vec<f64>> = history.to_vec();
    for j in 0..=k {
        d0[j * n..(j + 1) * n].copy_from_slice(&cur[0]);
        cur = (0..cur.len().saturating_sub(1))
            .map(|i| cur[i].iter().zip(&cur[i + 1]).map(|(a, b)| a - b).collect())
            .collect();
    }
    let opts = OdeOptions {
        max_steps: steps as usize + 1,
        ..OdeOptions::with_tol(1e-13, 1e-13)
    };
    let mut bdf = Bdf::new(n, &opts);
    bdf.max_iter = 12;
    bdf.fixed = Some(FixedOrder { order: k, dt, d0 });
    let mut sys = super::system::RhsSystem::new(&problem.rhs, &problem.p);
    let out = bdf.integrate(
        &mut sys,
        problem.t0,
        problem.t1,
        &history[0],
        &opts,
        &mut super::driver::NoObserver,
    )?;
    Ok(out.y_final)
}

/// Power-basis coefficients in θ of `Σₘ pₘ(θ) Dₘ` (see [`interp_weights`]).
fn bdf_power_coeffs(d: &[f64], n: usize, k: usize, out: &mut Vec<f64>) {
    out.clear();
    out.resize((k + 1) * n, 0.0);
    // p as polynomial coefficients, p₀ = 1.
    let mut p = vec![0.0; k + 1];
    p[0] = 1.0;
    for m in 0..=k {
        if m > 0 {
            // p ← p · (θ − 1 + (m−1)) / m
            let a = (m as f64 - 2.0) / m as f64;
            let b = 1.0 / m as f64;
            for j in (0..=m).rev() {
                let lower = if j > 0 { p[j - 1] } else { 0.0 };
                p[j] = p[j] * a + lower * b;
            }
        }
        for (j, &pj) in p[..=m].iter().enumerate() {
            if pj != 0.0 {
                for i in 0..n {
                    out[j * n + i] += pj * d[m * n + i];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_d_keeps_the_interpolating_polynomial() {
        // Differences of y(t) = t³ at t = 0 on the grid h = 0.1 (backward): the polynomial
        // through the points must be the same after rescaling to h' = 0.05.
        let n = 1;
        let k = 3;
        let h = 0.1;
        let y = |t: f64| t * t * t - 0.5 * t;
        let pts: Vec<f64> = (0..=k).map(|j| y(-(j as f64) * h)).collect();
        // Backward differences ∇ʲ y₀.
        let mut d = vec![0.0; (MAX_ORDER + 3) * n];
        let mut cur = pts.clone();
        for j in 0..=k {
            d[j] = cur[0];
            cur = (0..cur.len().saturating_sub(1))
                .map(|i| cur[i] - cur[i + 1])
                .collect();
        }
        change_d(&mut d, n, k, 0.5);
        // Now ∇ʲ on the grid h/2 must reproduce the cubic exactly.
        let new_pts: Vec<f64> = (0..=k).map(|j| y(-(j as f64) * h * 0.5)).collect();
        let mut cur = new_pts;
        for j in 0..=k {
            assert!(
                (d[j] - cur[0]).abs() < 1e-14,
                "row {j}: {} vs {}",
                d[j],
                cur[0]
            );
            cur = (0..cur.len().saturating_sub(1))
                .map(|i| cur[i] - cur[i + 1])
                .collect();
        }
    }

    #[test]
    fn interpolant_weights_match_power_basis() {
        let n = 2;
        let k = 4;
        let d: Vec<f64> = (0..(MAX_ORDER + 3) * n)
            .map(|i| (i as f64 * 0.37).sin())
            .collect();
        let mut c = Vec::new();
        bdf_power_coeffs(&d, n, k, &mut c);
        let mut w = vec![0.0; k + 1];
        for theta in [0.0, 0.3, 1.0] {
            interp_weights(k, theta, &mut w);
            for i in 0..n {
                let direct: f64 = (0..=k).map(|m| w[m] * d[m * n + i]).sum();
                let poly: f64 = (0..=k).map(|j| c[j * n + i] * theta.powi(j as i32)).sum();
                assert!((direct - poly).abs() < 1e-13);
            }
        }
    }
}

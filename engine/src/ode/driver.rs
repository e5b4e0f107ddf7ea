//! The adaptive time loop shared by every method (explicit Runge–Kutta, Rosenbrock,
//! ESDIRK, BDF, and any [`OneStep`] written downstream): step attempts, error control,
//! save times, dense output, statistics and failures.
//!
//! A method implements [`OneStep`]; the loop owns the state `y`, asks the method to
//! attempt a step of size `h`, measures the scaled error, lets the [`StepController`]
//! (or the method itself, [`OneStep::decide`]) decide, and on acceptance saves what was
//! asked and hands the step to a [`StepObserver`] (the adjoints record their checkpoints
//! there).

use super::dense::DenseOutput;
use super::one_step::{Attempt, OneStep, Step, StepAttempt};
use super::options::OdeOptions;
use super::solution::OdeStats;
use super::system::OdeSystem;
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::solver::{SaveAt, StepController, StepDecision, initial_step};

/// Sees every accepted step (the adjoints record checkpoints here).
pub(crate) trait StepObserver<T> {
    /// Step `index` (0-based) from `(t, y)` of size `h` was accepted with result `y_new`.
    fn on_step(&mut self, index: usize, t: f64, h: f64, y: &[T], y_new: &[T]);
}

/// Observes nothing.
pub(crate) struct NoObserver;

impl<T> StepObserver<T> for NoObserver {
    #[inline]
    fn on_step(&mut self, _: usize, _: f64, _: f64, _: &[T], _: &[T]) {}
}

/// What a time loop produced.
pub(crate) struct LoopOutput<T> {
    /// Save times.
    pub ts: Vec<f64>,
    /// States at the save times.
    pub ys: Vec<Vec<T>>,
    /// Dense output, if asked.
    pub dense: Option<DenseOutput>,
    /// The final state.
    pub y_final: Vec<T>,
    /// Counts.
    pub stats: OdeStats,
}

impl LoopOutput<f64> {
    /// The solution the public solves return (the final state is the last save).
    pub(crate) fn into_solution(self) -> super::OdeSolution {
        super::OdeSolution {
            ts: self.ts,
            ys: self.ys,
            stats: self.stats,
            dense: self.dense,
        }
    }
}

/// The save times of a solve on `[t0, t1]` (`Every(k)` saves by step count instead).
pub(crate) fn save_times(save_at: &SaveAt, t1: f64) -> Vec<f64> {
    match save_at {
        SaveAt::Final => vec![t1],
        SaveAt::Times(ts) => ts.clone(),
        SaveAt::Every(_) => Vec::new(),
    }
}

/// For `SaveAt::Every(k)`, `k`.
#[inline]
pub(crate) fn save_every(save_at: &SaveAt) -> Option<usize> {
    match save_at {
        SaveAt::Every(k) => Some((*k).max(1)),
        _ => None,
    }
}

/// The smallest step the time grid resolves at `t`.
#[inline]
pub(crate) fn min_step(t: f64, h_min: f64) -> f64 {
    h_min.max(16.0 * f64::EPSILON * t.abs().max(f64::MIN_POSITIVE))
}

/// The index and value of the first non-finite entry.
pub(crate) fn first_non_finite<T: Real>(xs: &[T]) -> Option<(usize, f64)> {
    xs.iter()
        .position(|x| !x.value().is_finite())
        .map(|i| (i, xs[i].value()))
}

/// The error to report when the step size underflows after `last_fail`.
pub(crate) fn underflow(last_fail: Option<Error>, t: f64, h: f64) -> Error {
    match last_fail {
        Some(Error::StepSizeUnderflow { component, .. }) => Error::StepSizeUnderflow {
            op: "ode",
            t,
            h,
            component,
            path: None,
        },
        Some(e) => e,
        None => Error::StepSizeUnderflow {
            op: "ode",
            t,
            h,
            component: None,
            path: None,
        },
    }
}

/// The interval and the initial state of a run of the time loop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span<'a, T> {
    /// Start.
    pub t0: f64,
    /// End (`> t0`).
    pub t1: f64,
    /// The state at `t0`.
    pub y0: &'a [T],
}

/// Integrates `sys` over `span` with a one-step method.
///
/// `fixed_dt = Some(dt)` takes steps of size `dt` (the last one clipped) without error
/// control.
pub(crate) fn integrate<T, S, M, C, O>(
    sys: &mut S,
    method: &mut M,
    controller: &mut C,
    span: Span<'_, T>,
    opts: &OdeOptions,
    fixed_dt: Option<f64>,
    observer: &mut O,
) -> Result<LoopOutput<T>>
where
    T: Real,
    S: OdeSystem<T> + ?Sized,
    M: OneStep<T, S>,
    C: StepController + ?Sized,
    O: StepObserver<T>,
{
    let Span { t0, t1, y0 } = span;
    let n = y0.len();
    let mut stats = OdeStats::default();
    let save_ts = save_times(&opts.save_at, t1);
    let save_every = save_every(&opts.save_at);
    let mut out_ts = Vec::with_capacity(save_ts.len());
    let mut out_ys: Vec<Vec<T>> = Vec::with_capacity(save_ts.len());
    let mut dense = opts.dense.then(|| DenseOutput::new(n));
    let mut coeffs = Vec::new();

    let mut y = y0.to_vec();
    let mut y_new = y0.to_vec();
    let mut err = vec![0.0; n];
    let mut yv = vec![0.0; n];
    let q = method.error_order();

    method.init(sys, t0, &y, &mut stats);
    if let Some((i, v)) = first_non_finite(method.f0()) {
        return Err(Error::NonFiniteState {
            t: t0,
            h: 0.0,
            component: i,
            value: v,
            quantity: "derivative",
        });
    }

    // Save times at t0.
    let mut next_save = 0;
    while next_save < save_ts.len() && save_ts[next_save] <= t0 {
        out_ts.push(save_ts[next_save]);
        out_ys.push(y.clone());
        next_save += 1;
    }
    if save_every.is_some() {
        out_ts.push(t0);
        out_ys.push(y.clone());
    }

    controller.reset();
    let mut h = match (fixed_dt, opts.h0) {
        (Some(dt), _) => dt,
        (None, Some(h0)) => h0,
        (None, None) => {
            for (a, b) in yv.iter_mut().zip(&y) {
                *a = b.value();
            }
            let f0: Vec<f64> = method.f0().iter().map(|v| v.value()).collect();
            let mut ytmp = vec![T::zero(); n];
            let mut ftmp = vec![T::zero(); n];
            stats.n_rhs += 1;
            initial_step(t0, &yv, &f0, q, &opts.tol, |t, yy, ff| {
                for (a, &b) in ytmp.iter_mut().zip(yy) {
                    *a = T::from_f64(b);
                }
                sys.eval(t, &ytmp, &mut ftmp);
                for (a, b) in ff.iter_mut().zip(&ftmp) {
                    *a = b.value();
                }
            })
            // The heuristic's guess is raised to the floor the caller set.
            .max(opts.h_min)
        }
    };
    h = h.min(opts.h_max);

    let mut t = t0;
    let mut n_steps = 0usize;
    let mut n_accepted = 0usize;
    // Why the last attempt failed, for the error message.
    let mut last_fail: Option<Error> = None;
    while t < t1 {
        if n_steps >= opts.max_steps {
            return Err(Error::TooManySteps {
                op: "ode",
                t,
                h: h.min(t1 - t),
                max_steps: opts.max_steps,
                path: None,
            });
        }
        let last = fixed_dt.is_none() && t + h >= t1;
        let t_new = match fixed_dt {
            // Fixed steps on the grid t0 + k·dt (no drift); a remainder below 1e-6·dt
            // is rounding.
            Some(dt) => {
                let next = t0 + (n_accepted + 1) as f64 * dt;
                if next >= t1 - 1e-6 * dt { t1 } else { next }
            }
            None => {
                if t + h >= t1 {
                    t1
                } else {
                    t + h
                }
            }
        };
        let h_step = t_new - t;
        if h_step < min_step(t, opts.h_min) {
            return Err(underflow(last_fail, t, h_step));
        }
        n_steps += 1;
        let outcome = method.attempt(
            sys,
            StepAttempt {
                t,
                h: h_step,
                t_new,
                h_asked: h,
                last,
                y: &y,
                y_new: &mut y_new,
                err: &mut err,
            },
            &mut stats,
        );
        let (err_norm, worst) = match outcome {
            Attempt::Failed {
                iterations,
                component,
                residual,
            } => {
                last_fail = Some(Error::NewtonFailure {
                    t,
                    h: h_step,
                    iterations,
                    component,
                    residual,
                });
                stats.n_newton_failures += 1;
                (f64::INFINITY, component)
            }
            Attempt::NonFinite { component, value } => {
                last_fail = Some(Error::NonFiniteState {
                    t,
                    h: h_step,
                    component,
                    value,
                    quantity: "derivative",
                });
                (f64::INFINITY, component)
            }
            Attempt::Done => {
                if let Some((i, v)) = first_non_finite(&y_new) {
                    last_fail = Some(Error::NonFiniteState {
                        t,
                        h: h_step,
                        component: i,
                        value: v,
                        quantity: "state",
                    });
                    (f64::INFINITY, i)
                } else if fixed_dt.is_some() {
                    (0.0, 0)
                } else {
                    let e = method.error_norm(&opts.tol, &err, &y, &y_new);
                    // The worst component is only needed for messages (rejected steps).
                    let w = if e < 1.0 {
                        0
                    } else {
                        method.worst_component(&opts.tol, &err, &y, &y_new)
                    };
                    if !e.is_finite() {
                        last_fail = Some(Error::NonFiniteState {
                            t,
                            h: h_step,
                            component: w,
                            value: err[w],
                            quantity: "error estimate",
                        });
                    }
                    (e, w)
                }
            }
        };
        let decision = if fixed_dt.is_some() {
            if err_norm.is_finite() {
                StepDecision {
                    accept: true,
                    h_next: h,
                }
            } else {
                return Err(last_fail.unwrap_or(Error::StepSizeUnderflow {
                    op: "ode",
                    t,
                    h: h_step,
                    component: Some(worst),
                    path: None,
                }));
            }
        } else if let Some(d) = method.decide(h_step, err_norm) {
            d
        } else {
            controller.adapt(h_step, err_norm, q)
        };
        if !decision.accept {
            stats.n_rejected += 1;
            method.reject();
            if err_norm.is_finite() {
                last_fail = Some(Error::StepSizeUnderflow {
                    op: "ode",
                    t,
                    h: decision.h_next,
                    component: Some(worst),
                    path: None,
                });
            }
            h = decision.h_next;
            continue;
        }
        // Accepted.
        stats.n_accepted += 1;
        observer.on_step(n_accepted, t, h_step, &y, &y_new);
        n_accepted += 1;
        let step = Step {
            t,
            h: h_step,
            t_new,
            y: &y,
            y_new: &y_new,
        };
        while next_save < save_ts.len() && save_ts[next_save] <= t_new {
            let ts = save_ts[next_save];
            let mut v = vec![T::zero(); n];
            if ts >= t_new {
                v.copy_from_slice(&y_new);
            } else {
                let theta = (ts - t) / h_step;
                method.dense_at(sys, step, theta, &mut v, &mut stats);
            }
            out_ts.push(ts);
            out_ys.push(v);
            next_save += 1;
        }
        if let Some(d) = dense.as_mut() {
            method.dense_coeffs(sys, step, &mut coeffs, &mut stats);
            d.push(t, h_step, &coeffs);
        }
        method.accept(sys, step, &mut stats)?;
        std::mem::swap(&mut y, &mut y_new);
        t = t_new;
        if let Some(k) = save_every
            && (n_accepted.is_multiple_of(k) || t >= t1)
        {
            out_ts.push(t);
            out_ys.push(y.clone());
        }
        last_fail = None;
        h = if fixed_dt.is_some() {
            h
        } else {
            decision.h_next.min(opts.h_max)
        };
    }
    Ok(LoopOutput {
        ts: out_ts,
        ys: out_ys,
        dense,
        y_final: y,
        stats,
    })
}

//! Step-size control of the ODE solvers: the shared [`StepController`] and
//! [`PiController`] of [`crate::solver`], and the error-norm helpers of the time loop.

use super::problem::Tolerance;
use crate::ad::Real;

pub use crate::solver::controller::{PiController, StepController, StepDecision};

/// The RMS norm of `errᵢ / (atolᵢ + rtol · max(|aᵢ|, |bᵢ|))`; a non-finite error gives
/// `∞`.
#[inline]
pub(crate) fn scaled_error_norm<T: Real>(
    err: &[f64],
    a: &[T],
    b: &[T],
    atol: &Tolerance,
    rtol: f64,
) -> f64 {
    let n = err.len();
    if n == 0 {
        return 0.0;
    }
    let mut sum = 0.0;
    match atol {
        Tolerance::Scalar(at) => {
            for ((e, x), y) in err.iter().zip(a).zip(b) {
                let v = e / (at + rtol * x.value().abs().max(y.value().abs()));
                sum += v * v;
            }
        }
        Tolerance::PerComponent(at) => {
            for (((e, x), y), at) in err.iter().zip(a).zip(b).zip(at) {
                let v = e / (at + rtol * x.value().abs().max(y.value().abs()));
                sum += v * v;
            }
        }
    }
    let norm = (sum / n as f64).sqrt();
    if norm.is_finite() {
        norm
    } else {
        f64::INFINITY
    }
}

/// The component with the largest scaled error (the first non-finite one if any), for
/// error messages.
pub(crate) fn worst_component<T: Real>(
    err: &[f64],
    a: &[T],
    b: &[T],
    atol: &Tolerance,
    rtol: f64,
) -> usize {
    let mut worst = 0;
    let mut worst_v = -1.0;
    for i in 0..err.len() {
        let v = (err[i] / (atol.get(i) + rtol * a[i].value().abs().max(b[i].value().abs()))).abs();
        if !v.is_finite() {
            return i;
        }
        if v > worst_v {
            worst_v = v;
            worst = i;
        }
    }
    worst
}

/// Hairer's starting step with the ODE's `(rtol, atol)`; see
/// [`crate::solver::controller::initial_step`].
pub(crate) fn initial_step<A: Fn(usize) -> f64>(
    t0: f64,
    y0: &[f64],
    f0: &[f64],
    q: f64,
    rtol: f64,
    atol: A,
    f: impl FnMut(f64, &[f64], &mut [f64]),
) -> f64 {
    let atol: Vec<f64> = (0..y0.len()).map(atol).collect();
    let tol = crate::solver::Tolerance::new(rtol, atol);
    crate::solver::controller::initial_step(t0, y0, f0, q, &tol, f)
}

//! Fixed-step, fixed-order BDF from given starting values (convergence studies).

use super::coeffs::MAX_ORDER;
use super::stepper::{Bdf, FixedOrder};
use crate::error::{Error, Result};
use crate::ode::driver::{NoObserver, Span, integrate};
use crate::ode::options::OdeOptions;
use crate::ode::problem::{OdeProblem, OdeRhs};
use crate::ode::system::RhsSystem;

/// Fixed-step, fixed-order BDF (NDF) of order `k` from `k + 1` starting values, for
/// convergence studies and teaching: `history[j] = y(t0 − j·dt)`, `j = 0..=k`.
///
/// Runs the production BDF method (the same predictor, simplified Newton with Jacobian
/// reuse and LU, corrector and difference update) under the shared time loop with the
/// order and the step pinned: `round((t1 − t0)/dt)` steps (the problem's `t1` must be a
/// whole number of steps away), no error control, the Newton iteration converged to a
/// scaled tolerance of about `2e-15` (`rtol = atol = 1e-13`, up to 12 iterations).
/// Returns `y(t1)`.
///
/// # Errors
/// [`Error::InvalidOption`] for an order outside `1..=5` or a step that does not divide
/// the interval, [`Error::ShapeMismatch`] or [`Error::NonFinite`] for a history of the
/// wrong shape or with non-finite values; [`Error::NewtonFailure`] when the iteration
/// does not converge (a fixed step cannot shrink).
pub fn solve_fixed_order<F: OdeRhs>(
    problem: &OdeProblem<F>,
    order: usize,
    dt: f64,
    history: &[Vec<f64>],
) -> Result<Vec<f64>> {
    const OP: &str = "bdf::solve_fixed_order";
    problem.validate()?;
    let n = problem.y0.len();
    let k = order;
    if !(1..=MAX_ORDER).contains(&k) {
        return Err(Error::invalid_option(
            OP,
            "order",
            k,
            format!("1 ≤ order ≤ {MAX_ORDER}"),
        ));
    }
    crate::error::check_len(OP, "history", history.len(), k + 1)?;
    for h in history {
        crate::error::check_len(OP, "history[j]", h.len(), n)?;
        crate::error::check_finite(OP, "history[j]", h)?;
    }
    let steps = ((problem.t1 - problem.t0) / dt).round();
    if !(dt > 0.0
        && steps >= 1.0
        && ((problem.t0 + steps * dt) - problem.t1).abs() <= 1e-9 * dt.max(problem.t1.abs()))
    {
        return Err(Error::invalid_option(
            OP,
            "dt",
            dt,
            format!(
                "> 0 and t1 − t0 = {} a whole number of steps",
                problem.t1 - problem.t0
            ),
        ));
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
    let opts = OdeOptions::with_tol(1e-13, 1e-13).max_steps(steps as usize + 1);
    let mut bdf = Bdf::new(n, &opts);
    bdf.pin(FixedOrder { order: k, dt, d0 }, 12);
    let mut sys = RhsSystem::new(&problem.rhs, &problem.p);
    let out = integrate(
        &mut sys,
        &mut bdf,
        &mut opts.controller.clone(),
        Span {
            t0: problem.t0,
            t1: problem.t1,
            y0: &history[0],
        },
        &opts,
        Some(dt),
        &mut NoObserver,
    )?;
    Ok(out.y_final)
}

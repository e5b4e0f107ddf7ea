//! Gradient-based minimisation over the tape's gradients: [Adam](mod@adam) (with
//! learning-rate [schedules](schedule)) and [L-BFGS](mod@lbfgs) with a
//! [strong-Wolfe line search](line_search).
//!
//! Every optimiser minimises an objective given as a closure
//! `FnMut(&[f64]) -> Result<(f64, Vec<f64>)>` returning the value and its gradient; the
//! tape drivers of [`crate::ad::api`] (e.g. [`grad`](crate::ad::api::grad)) produce exactly
//! this. An error returned by the objective stops the optimiser and is passed on.
//!
//! Every run is bounded: iterations and objective evaluations have limits; reaching one is
//! not an error but a non-converged [`Termination`], and
//! [`OptimResult::into_converged`] turns it into [`Error::NoConvergence`](crate::Error)
//! where the caller needs a converged answer. The result carries the
//! optimisation trace ([`TraceEntry`]: iteration, value, gradient norm, parameters).
//!
//! # Methods
//! * **Adam** (Kingma & Ba 2015, arXiv:1412.6980, Alg. 1): first and second moment
//!   estimates `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, bias-corrected, and the step
//!   `x ← x − η_t m̂ / (√v̂ + ε)`, with `η_t` from a [`LearningRate`] schedule.
//! * **L-BFGS** (Nocedal & Wright 2006, *Numerical Optimization*, 2nd ed., Alg. 7.4 and
//!   7.5): the search direction `p = −H_k g` from the two-loop recursion over the last `m`
//!   pairs `(s, y)` with `H⁰ = (sᵀy / yᵀy) I` (eq. 7.20), and a step satisfying the strong
//!   Wolfe conditions (eq. 3.7)
//!   `f(x + αp) ≤ f(x) + c₁ α ∇fᵀp` and `|∇f(x + αp)ᵀp| ≤ c₂ |∇fᵀp|`,
//!   found by Alg. 3.5 (bracketing) and Alg. 3.6 (zoom) with safeguarded cubic
//!   interpolation (§3.5, eq. 3.59).
//!
//! # Example: fitting through the tape
//! ```
//! use mechml_engine::ad::{Real, Tape, api::grad};
//! use mechml_engine::optim::{LbfgsOptions, lbfgs};
//!
//! // Rosenbrock, recorded on a tape at every evaluation.
//! let mut tape = Tape::new();
//! let objective = |x: &[f64]| {
//!     grad(&mut tape, x, |_, v| {
//!         Ok((v[1] - v[0].square()).square() * 100.0 + (v[0] * -1.0 + 1.0).square())
//!     })
//! };
//! let res = lbfgs(objective, &[-1.2, 1.0], &LbfgsOptions::default())?.into_converged()?;
//! assert!((res.x[0] - 1.0).abs() < 1e-5 && (res.x[1] - 1.0).abs() < 1e-5);
//! assert_eq!(res.trace.last().unwrap().iteration, res.iterations);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

pub mod adam;
pub mod fit;
pub mod lbfgs;
pub mod line_search;
pub mod schedule;
pub mod trace;

pub use adam::{Adam, AdamOptions, adam};
pub use fit::{FitOptions, MAX_STARTS};
pub use lbfgs::{LbfgsOptions, lbfgs};
pub use line_search::{LineSearchOptions, LineSearchOutcome, strong_wolfe};
pub use schedule::LearningRate;
pub use trace::{OptimResult, Termination, TraceEntry};

use crate::error::{Error, Result};

/// Evaluates the objective, checks the gradient's length and that value and gradient are
/// finite (non-finite values are reported as errors naming the component).
pub(crate) fn eval_checked<F>(f: &mut F, x: &[f64], op: &'static str) -> Result<(f64, Vec<f64>)>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    let (v, g) = f(x)?;
    crate::error::check_len(op, "objective gradient", g.len(), x.len())?;
    if !v.is_finite() {
        return Err(Error::NonFinite {
            op,
            index: 0,
            value: v,
            context: "objective value".into(),
        });
    }
    crate::error::check_finite(op, "objective gradient", &g)?;
    Ok((v, g))
}

/// Euclidean norm.
pub(crate) fn norm2(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Dot product.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// An [`Error::InvalidOption`] of a nested options value, re-attributed to the outer one:
/// `op` becomes the outer options' name and the field is prefixed (`"line_search.c1"`);
/// other errors pass unchanged.
pub(crate) fn nested_option(op: &'static str, prefix: &'static str) -> impl Fn(Error) -> Error {
    move |e| match e {
        Error::InvalidOption {
            name,
            value,
            expected,
            ..
        } => Error::InvalidOption {
            op,
            name: format!("{prefix}.{name}"),
            value,
            expected,
        },
        e => e,
    }
}

//! The engine's error type: every public fallible function returns [`Result`].
//!
//! Variants say *what* went wrong and *where* (which argument, index, time or
//! operation), and their messages suggest a remedy where one exists.

use std::fmt;

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An argument had the wrong shape.
    ShapeMismatch {
        /// Operation that rejected the argument.
        op: &'static str,
        /// Which argument.
        arg: &'static str,
        /// Expected shape, e.g. `"3x3"` or `"len 5"`.
        expected: String,
        /// Shape that was passed.
        found: String,
    },
    /// A matrix that must be symmetric positive definite is not: the Cholesky
    /// factorisation met a non-positive pivot.
    NotPositiveDefinite {
        /// Operation that factorised.
        op: &'static str,
        /// Index of the failing pivot (0-based).
        pivot: usize,
        /// The value of the pivot (the Schur complement's diagonal entry) there.
        value: f64,
    },
    /// A matrix is singular (or numerically so) where an inverse is needed.
    Singular {
        /// Operation.
        op: &'static str,
        /// Where: index of the zero pivot or diagonal entry.
        index: usize,
    },
    /// An operation produced, or was given, a NaN or an infinity.
    NonFinite {
        /// Operation name (`"ln"`, `"cholesky"`, `"rhs"`, ...).
        op: &'static str,
        /// Index of the offending entry (tape entry, vector component, ...).
        index: usize,
        /// The offending value.
        value: f64,
        /// Extra context (which input, what time).
        context: String,
    },
    /// A scalar argument is outside its valid domain.
    InvalidArgument {
        /// Operation.
        op: &'static str,
        /// What was wrong, including the value.
        message: String,
    },
    /// An option or argument has a value outside what it accepts: names the setting, the
    /// value given and what is expected, e.g. `rtol = -1: expected finite and ≥ 0`.
    InvalidOption {
        /// Operation or options struct that rejected it (`"ode"`, `"LbfgsOptions"`, ...).
        op: &'static str,
        /// The option or argument, with its index where it has one (`"atol[3]"`).
        name: String,
        /// The value given, as written (`"-1"`, `"NaN"`, `"[0.1, 0.2]"`).
        value: String,
        /// What is accepted (`"finite and > 0"`, `"one of tsit5, dopri5"`).
        expected: String,
    },
    /// Variables from two different tapes were combined.
    MixedTapes {
        /// Operation where the mix was detected.
        op: &'static str,
    },
    /// A variable does not belong to the tape it was used with, or its slot is out of range.
    UnknownVariable {
        /// Slot index of the variable.
        slot: usize,
        /// Number of slots on the tape.
        n_slots: usize,
    },
    /// An operation is not available for this scalar type or device.
    Unsupported {
        /// Operation.
        op: &'static str,
        /// Why.
        reason: String,
    },
    /// An adaptive solver (ODE or SDE) could not continue: the step size fell below the
    /// smallest step it may take (the error test kept failing, or the Brownian path cannot
    /// be refined further).
    StepSizeUnderflow {
        /// Solver (`"ode"`, `"sde"`, ...).
        op: &'static str,
        /// Time reached.
        t: f64,
        /// The step size that was too small.
        h: f64,
        /// Component with the largest scaled error at the last attempt, where known.
        component: Option<usize>,
        /// The path of an ensemble that failed, where the solve was one of many.
        path: Option<usize>,
    },
    /// A solver took more steps (accepted plus rejected) than allowed before the end of
    /// the interval.
    TooManySteps {
        /// Solver.
        op: &'static str,
        /// Time reached.
        t: f64,
        /// The step size the solver would have tried next.
        h: f64,
        /// The bound that was hit.
        max_steps: usize,
        /// The path of an ensemble that failed, where the solve was one of many.
        path: Option<usize>,
    },
    /// An ODE solve met a NaN or an infinity in the state or in the right-hand side.
    NonFiniteState {
        /// Time of the step (its start).
        t: f64,
        /// Step size of the attempt (0 at the initial point).
        h: f64,
        /// Component that went bad.
        component: usize,
        /// Its value.
        value: f64,
        /// Which quantity: `"state"`, `"derivative"`, `"initial state"`, `"sensitivity"`...
        quantity: &'static str,
    },
    /// The Newton iteration of an implicit ODE method failed, and reducing the step size
    /// did not help.
    NewtonFailure {
        /// Time of the step (its start).
        t: f64,
        /// Step size of the last attempt.
        h: f64,
        /// Newton iterations taken in the last attempt.
        iterations: usize,
        /// Component with the largest scaled Newton update.
        component: usize,
        /// Its scaled size.
        residual: f64,
    },
    /// An iteration did not converge within its bound.
    NoConvergence {
        /// Algorithm.
        op: &'static str,
        /// Iterations taken.
        iterations: usize,
        /// What was being iterated, and the residual reached.
        detail: String,
    },
    /// A Markov chain sampler stopped: which chain, at which iteration, and why.
    Sampling {
        /// Chain index (0-based).
        chain: usize,
        /// Iteration (0-based, warm-up included).
        iteration: usize,
        /// Whether the iteration was in the warm-up.
        warmup: bool,
        /// The underlying error.
        source: Box<Error>,
    },
}

impl Error {
    /// An [`Error::InvalidOption`]: option `name` of `op` has `value`, and `expected` says
    /// what it accepts.
    pub fn invalid_option(
        op: &'static str,
        name: impl Into<String>,
        value: impl fmt::Display,
        expected: impl Into<String>,
    ) -> Error {
        Error::InvalidOption {
            op,
            name: name.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// A [`Error::NonFinite`] with `prefix` put before its context (which caller, which
    /// path); any other error unchanged.
    pub(crate) fn with_context_prefix(self, prefix: &str) -> Error {
        match self {
            Error::NonFinite {
                op,
                index,
                value,
                context,
            } => Error::NonFinite {
                op,
                index,
                value,
                context: format!("{prefix}{context}"),
            },
            e => e,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ShapeMismatch {
                op,
                arg,
                expected,
                found,
            } => write!(
                f,
                "{op}: argument `{arg}` has shape {found}, expected {expected}"
            ),
            Error::NotPositiveDefinite { op, pivot, value } => write!(
                f,
                "{op}: matrix is not positive definite: pivot {pivot} is {value:e} \
                 (add jitter to the diagonal or check the matrix is symmetric)"
            ),
            Error::Singular { op, index } => {
                write!(
                    f,
                    "{op}: matrix is singular at pivot/diagonal index {index}"
                )
            }
            Error::NonFinite {
                op,
                index,
                value,
                context,
            } => {
                write!(f, "{op}: non-finite value {value} at index {index}")?;
                if !context.is_empty() {
                    write!(f, " ({context})")?;
                }
                Ok(())
            }
            Error::InvalidArgument { op, message } => write!(f, "{op}: {message}"),
            Error::InvalidOption {
                op,
                name,
                value,
                expected,
            } => write!(
                f,
                "{op}: `{name}` = {value} is invalid: expected {expected}"
            ),
            Error::MixedTapes { op } => write!(
                f,
                "{op}: variables from two different tapes were combined; \
                 use one tape per computation"
            ),
            Error::UnknownVariable { slot, n_slots } => write!(
                f,
                "variable with slot {slot} is not on this tape ({n_slots} slots); \
                 was the tape cleared, or is it another tape's variable?"
            ),
            Error::Unsupported { op, reason } => write!(f, "{op}: unsupported: {reason}"),
            Error::StepSizeUnderflow {
                op,
                t,
                h,
                component,
                path,
            } => {
                write!(f, "{op}: ")?;
                if let Some(k) = path {
                    write!(f, "path {k}: ")?;
                }
                write!(f, "step size underflow at t = {t:e}: h = {h:e}")?;
                if let Some(c) = component {
                    write!(f, ", the error test keeps failing in component {c}")?;
                }
                write!(
                    f,
                    " (loosen the tolerances, use a stiff method for a stiff ODE or a finer \
                     Brownian tree for an SDE, or check the model for a singularity near t)"
                )
            }
            Error::TooManySteps {
                op,
                t,
                h,
                max_steps,
                path,
            } => {
                write!(f, "{op}: ")?;
                if let Some(k) = path {
                    write!(f, "path {k}: ")?;
                }
                write!(
                    f,
                    "{max_steps} steps taken and t = {t:e} reached before the end of the \
                     interval, with step size h = {h:e} (raise max_steps, loosen the tolerances, \
                     or use a stiff method)"
                )
            }
            Error::NonFiniteState {
                t,
                h,
                component,
                value,
                quantity,
            } => write!(
                f,
                "ode: non-finite {quantity} {value} in component {component} at t = {t:e} \
                 (step h = {h:e}); check the right-hand side and the parameters"
            ),
            Error::NewtonFailure {
                t,
                h,
                iterations,
                component,
                residual,
            } => write!(
                f,
                "ode: Newton iteration failed at t = {t:e} with h = {h:e} after \
                 {iterations} iterations; largest scaled update {residual:e} in component \
                 {component} (check the Jacobian, or loosen the tolerances)"
            ),
            Error::NoConvergence {
                op,
                iterations,
                detail,
            } => {
                write!(
                    f,
                    "{op}: no convergence after {iterations} iterations: {detail}"
                )
            }
            Error::Sampling {
                chain,
                iteration,
                warmup,
                source,
            } => write!(
                f,
                "sampler: chain {chain}, iteration {iteration}{}: {source}",
                if *warmup { " (warm-up)" } else { "" }
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Checks that a length `found` equals `expected`, else returns an [`Error::ShapeMismatch`]
/// naming the operation and the argument.
pub fn check_len(op: &'static str, arg: &'static str, found: usize, expected: usize) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op,
            arg,
            expected: format!("len {expected}"),
            found: format!("len {found}"),
        })
    }
}

/// Checks a matrix shape, else returns a [`Error::ShapeMismatch`].
pub(crate) fn check_shape(
    op: &'static str,
    arg: &'static str,
    found: (usize, usize),
    expected: (usize, usize),
) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op,
            arg,
            expected: format!("{}x{}", expected.0, expected.1),
            found: format!("{}x{}", found.0, found.1),
        })
    }
}

/// Whether every entry of `xs` is finite, without branching per entry: `0 v` is ±0 for a
/// finite `v` and NaN otherwise, so a sum of them (in four partial sums, which vectorise)
/// is zero exactly when all entries are finite. The fast path of every finiteness check
/// on large buffers; the entry is looked for only when this fails.
#[inline]
pub(crate) fn all_finite(xs: &[f64]) -> bool {
    const LANES: usize = 4;
    let mut acc = [0.0; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for ch in &mut chunks {
        for l in 0..LANES {
            acc[l] += ch[l] * 0.0;
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|v| v * 0.0).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail == 0.0
}

/// Returns the first non-finite entry of `xs` as a [`Error::NonFinite`].
pub(crate) fn check_finite(op: &'static str, context: &str, xs: &[f64]) -> Result<()> {
    if all_finite(xs) {
        return Ok(());
    }
    match xs.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite {
            op,
            index: i,
            value: xs[i],
            context: context.to_string(),
        }),
    }
}

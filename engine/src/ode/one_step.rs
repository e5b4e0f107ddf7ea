//! The one-step interface: what a method family implements to run under the shared time
//! loop ([`solve_with`](super::solve_with)), with error control, save times and dense
//! output.
//!
//! A method is a value holding its own state (stage storage, Jacobians, factorisations,
//! a multistep history). For each step the loop asks it to [`attempt`](OneStep::attempt)
//! a step of size `h` from `(t, y)`; the method writes `y_new` and an error estimate
//! `err`; the loop measures `err` with the options' [`Tolerance`]
//! ([`error_norm`](OneStep::error_norm)) and lets the step-size controller decide, unless
//! the method chooses its steps itself ([`decide`](OneStep::decide), as the
//! variable-order BDF does). On acceptance the loop saves what was asked (through the
//! method's [`dense_at`](OneStep::dense_at) between step ends) and calls
//! [`accept`](OneStep::accept).
//!
//! # Example: a new method family
//! The explicit midpoint rule with the Euler step as its error estimate (orders 2(1)),
//! written from scratch (the same pair is also expressible as a Butcher tableau), run
//! under the driver with error control, save times and the default cubic Hermite dense
//! output, and checked against the closed form and for its order on fixed steps:
//!
//! ```
//! use mechml_engine::ad::Real;
//! use mechml_engine::ode::problems::Logistic;
//! use mechml_engine::ode::{
//!     solve_with, Attempt, OdeOptions, OdeProblem, OdeStats, OdeSystem, OneStep, SaveAt,
//!     StepAttempt,
//! };
//!
//! /// Explicit midpoint: k₁ = f(t, y), k₂ = f(t + h/2, y + h k₁/2), y_new = y + h k₂;
//! /// error estimate h (k₂ − k₁) (against Euler's y + h k₁).
//! struct Midpoint<T> { k1: Vec<T>, k2: Vec<T>, tmp: Vec<T> }
//!
//! impl<T: Real> Midpoint<T> {
//!     fn new(n: usize) -> Self {
//!         Self { k1: vec![T::zero(); n], k2: vec![T::zero(); n], tmp: vec![T::zero(); n] }
//!     }
//! }
//!
//! impl<T: Real, S: OdeSystem<T> + ?Sized> OneStep<T, S> for Midpoint<T> {
//!     fn error_order(&self) -> f64 { 2.0 } // err = O(h²)
//!     fn init(&mut self, sys: &mut S, t0: f64, y0: &[T], stats: &mut OdeStats) {
//!         sys.eval(t0, y0, &mut self.k1);
//!         stats.n_rhs += 1;
//!     }
//!     fn f0(&self) -> &[T] { &self.k1 } // f(t, y) at the start of the current step
//!     fn attempt(&mut self, sys: &mut S, s: StepAttempt<'_, T>, stats: &mut OdeStats) -> Attempt {
//!         for ((t, &y), &k) in self.tmp.iter_mut().zip(s.y).zip(&self.k1) {
//!             *t = y + k * (0.5 * s.h);
//!         }
//!         sys.eval(s.t + 0.5 * s.h, &self.tmp, &mut self.k2);
//!         stats.n_rhs += 1;
//!         for i in 0..s.y.len() {
//!             s.y_new[i] = s.y[i] + self.k2[i] * s.h;
//!             s.err[i] = s.h * (self.k2[i] - self.k1[i]).value();
//!         }
//!         Attempt::Done
//!     }
//!     fn accept(&mut self, sys: &mut S, s: mechml_engine::ode::Step<'_, T>, stats: &mut OdeStats)
//!         -> mechml_engine::Result<()> {
//!         // k₁ of the next step.
//!         sys.eval(s.t_new, s.y_new, &mut self.k1);
//!         stats.n_rhs += 1;
//!         Ok(())
//!     }
//! }
//!
//! let (r, k, y0, t1) = (1.0, 1.0, 0.1, 5.0);
//! let exact = |t: f64| k / (1.0 + (k / y0 - 1.0) * (-r * t).exp());
//! let prob = OdeProblem::new(Logistic, 0.0, t1, vec![y0], vec![r, k])?;
//!
//! // Adaptive, with save times between the steps (dense output by cubic Hermite).
//! let opts = OdeOptions::with_tol(1e-8, 1e-10).saving(SaveAt::Times(vec![1.0, 2.5, 5.0]));
//! let sol = solve_with(&prob, &mut Midpoint::new(1), &opts)?;
//! for (t, y) in sol.ts.iter().zip(&sol.ys) {
//!     assert!((y[0] - exact(*t)).abs() < 1e-6, "{t}: {}", y[0]);
//! }
//!
//! // Second order on fixed steps: halving the step quarters the error.
//! let err = |n: usize| {
//!     let opts = OdeOptions::default().fixed_step(t1 / n as f64);
//!     let sol = solve_with(&prob, &mut Midpoint::new(1), &opts).unwrap();
//!     (sol.y_final()[0] - exact(t1)).abs()
//! };
//! let order = (err(100) / err(200)).log2();
//! assert!((order - 2.0).abs() < 0.1, "order {order}");
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use super::solution::OdeStats;
use super::system::OdeSystem;
use crate::ad::Real;
use crate::error::Result;
use crate::solver::{StepDecision, Tolerance};

/// The outcome of one step attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Attempt {
    /// The step was computed (its error decides acceptance).
    Done,
    /// The nonlinear (Newton) or linear solve failed: the loop retries with a smaller
    /// step (and reports [`Error::NewtonFailure`](crate::Error::NewtonFailure) if the step
    /// cannot shrink further).
    Failed {
        /// Newton iterations taken.
        iterations: usize,
        /// Component with the largest scaled update.
        component: usize,
        /// Its size.
        residual: f64,
    },
    /// The right-hand side returned a non-finite value in a stage: retry smaller.
    NonFinite {
        /// Component.
        component: usize,
        /// Value.
        value: f64,
    },
}

/// A step to attempt: from `(t, y)` to `t_new = t + h`; the method writes the new state
/// into `y_new` and its error estimate into `err`.
#[derive(Debug)]
pub struct StepAttempt<'a, T> {
    /// Start of the step.
    pub t: f64,
    /// Size of the step, `t_new − t`.
    pub h: f64,
    /// End of the step (exactly the end of the interval for the last step).
    pub t_new: f64,
    /// The size that was asked for (by the controller, or the method's own proposal,
    /// capped at `h_max`) before the last step was cut to end at `t1`: equal to `h` up to
    /// the rounding of `t + h`, except on the last step. Methods that keep a history
    /// scaled to the step size (BDF) compare it with their current step.
    pub h_asked: f64,
    /// Whether the step was cut to end at `t1` (adaptive solves only).
    pub last: bool,
    /// The state at `t`.
    pub y: &'a [T],
    /// The state at `t_new` (output).
    pub y_new: &'a mut [T],
    /// The local error estimate of `y_new` (output, in `f64`).
    pub err: &'a mut [f64],
}

/// A computed step `(t, y) → (t_new, y_new)` of size `h = t_new − t`.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a, T> {
    /// Start of the step.
    pub t: f64,
    /// Size of the step.
    pub h: f64,
    /// End of the step.
    pub t_new: f64,
    /// The state at `t`.
    pub y: &'a [T],
    /// The state at `t_new`.
    pub y_new: &'a [T],
}

/// A one-step method as the time loop drives it, over the scalar type `T` (`f64`, or dual
/// numbers for forward sensitivities) and the system type `S` (write implementations
/// generic over `S: OdeSystem<T> + ?Sized`, or `OdeSystemJacobian` for implicit methods).
///
/// Required: the order of the error estimate, the start, the first derivative, the
/// attempt and the acceptance. Provided, and overridden where a method knows better:
/// dense output (cubic Hermite from `f` at both ends, one extra evaluation per step that
/// needs it), the error norm (the options' [`Tolerance::error_norm`]) and the step-size
/// decision (the controller's).
pub trait OneStep<T: Real, S: OdeSystem<T> + ?Sized> {
    /// Order `q` of the local error estimate (`err = O(h^q)`): the exponent of the
    /// step-size controller and of the starting-step heuristic.
    fn error_order(&self) -> f64;

    /// Prepares at `(t0, y0)`; computes `F(t0, y0)` (then available from
    /// [`OneStep::f0`]).
    fn init(&mut self, sys: &mut S, t0: f64, y0: &[T], stats: &mut OdeStats);

    /// `F(t, y)` at the start of the current step (used for the starting step and by the
    /// default dense output).
    fn f0(&self) -> &[T];

    /// Attempts the step `step` (writing `step.y_new` and `step.err`).
    fn attempt(&mut self, sys: &mut S, step: StepAttempt<'_, T>, stats: &mut OdeStats) -> Attempt;

    /// Called once the step is accepted (after saving and dense output): move to
    /// `(t_new, y_new)`.
    ///
    /// # Errors
    /// A failure of work the method does on acceptance (e.g. a linear solve of carried
    /// sensitivities) ends the solve with that error.
    fn accept(&mut self, sys: &mut S, step: Step<'_, T>, stats: &mut OdeStats) -> Result<()>;

    /// Called after a rejected step.
    fn reject(&mut self) {}

    /// The state at `t + θh` inside the step just computed (before
    /// [`accept`](OneStep::accept)). The default is the cubic Hermite interpolant from
    /// `F(t, y)` ([`OneStep::f0`]) and `F(t_new, y_new)` (one evaluation; third order).
    fn dense_at(
        &mut self,
        sys: &mut S,
        step: Step<'_, T>,
        theta: f64,
        out: &mut [T],
        stats: &mut OdeStats,
    ) {
        let mut f1 = vec![T::zero(); step.y.len()];
        sys.eval(step.t_new, step.y_new, &mut f1);
        stats.n_rhs += 1;
        let [a, b, w0, w1] = super::dense::hermite_weights(theta);
        for (i, o) in out.iter_mut().enumerate() {
            *o = step.y[i] * a + step.y_new[i] * b + (self.f0()[i] * w0 + f1[i] * w1) * step.h;
        }
    }

    /// The power-basis coefficients of the dense output of the step just computed
    /// (`y(t + θh) = Σₘ cₘ θᵐ`, `out[m·n + i]` = `cₘ` of component `i`); the default is
    /// the cubic Hermite interpolant of [`OneStep::dense_at`].
    fn dense_coeffs(
        &mut self,
        sys: &mut S,
        step: Step<'_, T>,
        out: &mut Vec<f64>,
        stats: &mut OdeStats,
    ) {
        let n = step.y.len();
        let mut f1 = vec![T::zero(); n];
        sys.eval(step.t_new, step.y_new, &mut f1);
        stats.n_rhs += 1;
        let val = |v: &[T]| v.iter().map(|x| x.value()).collect::<Vec<f64>>();
        super::dense::hermite_coeffs(
            &val(step.y),
            &val(step.y_new),
            &val(self.f0()),
            &val(&f1),
            step.h,
            out,
        );
    }

    /// The scaled error of the step `y → y_new` with estimate `err` (accepted below 1);
    /// the default is [`Tolerance::error_norm`].
    #[inline(always)]
    fn error_norm(&self, tol: &Tolerance, err: &[f64], y: &[T], y_new: &[T]) -> f64 {
        tol.error_norm(err, y, y_new)
    }

    /// The component with the largest scaled error, for messages after a rejection; the
    /// default is [`Tolerance::worst_component`].
    fn worst_component(&self, tol: &Tolerance, err: &[f64], y: &[T], y_new: &[T]) -> usize {
        tol.worst_component(err, y, y_new)
    }

    /// A method that chooses its own steps (and orders) returns its decision on the step
    /// of size `h` just attempted with scaled error `err` (`∞` for a failed attempt);
    /// `None` (the default) leaves it to the options' step-size controller.
    #[inline]
    fn decide(&mut self, h: f64, err: f64) -> Option<StepDecision> {
        let _ = (h, err);
        None
    }
}

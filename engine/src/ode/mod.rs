//! Ordinary differential equations: adaptive explicit and stiff solvers, and gradients
//! through them.
//!
//! Solves the initial-value problem
//!
//! $$y'(t) = f(t, y, p),\qquad y(t_0) = y_0,\qquad t \in [t_0, t_1],$$
//!
//! where `f` is written once, generic over [`Real`](crate::ad::Real) ([`OdeRhs`]), so it
//! runs on `f64`, on dual numbers (Jacobians of stiff methods, forward sensitivities) and
//! on a tape (vector–Jacobian products).
//!
//! # Methods ([`Method`])
//! * Explicit Runge–Kutta pairs from Butcher tableaus ([`tableau`]): Tsitouras 5(4)
//!   (Tsitouras 2011), Dormand–Prince 5(4) (Dormand & Prince 1980), Bogacki–Shampine 3(2)
//!   (Bogacki & Shampine 1989), Verner 7(6) with its 6th-order interpolant (Verner 2010);
//!   fixed-step RK4 and Euler. One generic stepper ([`explicit`]); first-same-as-last
//!   stages reused; dense output of each method's interpolant.
//! * Stiff: the Rosenbrock method Rodas5P (Steinebach 2023) ([`rosenbrock`]), the ESDIRK
//!   method of Kværnø (2004) ([`sdirk`]), and variable-order BDF/NDF 1–5 (Shampine &
//!   Reichelt 1997) ([`bdf`]); Jacobians from dual numbers (or [`OdeRhs::jacobian`]), dense
//!   LU from faer, Newton with Jacobian reuse and step reduction on failure.
//!
//! # Step-size control ([`crate::solver`])
//! The error of a step is `‖err / (atol + rtol · max(|y|, |y_new|))‖_RMS`
//! ([`Tolerance::error_norm`]); the [`PiController`] (an I-controller with safety 0.9 and factor limits 0.2/10 by default)
//! picks the next step (Hairer, Nørsett & Wanner 1993, II.4; Söderlind 2002). The first
//! step comes from Hairer's algorithm.
//!
//! # Gradients ([`sensitivity`])
//! For a loss `L(y(τ₁), …, y(τ_m))` of the states at save times, the gradient with respect
//! to `y₀`, `p` and `t₁` by one of
//! * forward sensitivities `S' = J S + f_p` carried by dual numbers through the explicit
//!   methods (step control on the primal), or by the exact linearisation of the implicit
//!   stage equations;
//! * the discrete adjoint: the exact gradient of the computed solution, back-propagating
//!   through the accepted steps, replayed from checkpoints (memory `O(√N)` states for `N`
//!   steps, one extra forward pass);
//! * the continuous adjoint `λ' = −Jᵀλ`, `μ' = −f_pᵀλ` solved backwards with the forward
//!   solution interpolated between checkpoints (quadrature for `μ`), or by the backsolve
//!   variant that integrates `y` backwards too.
//!
//! A solve is one block on the tape ([`solve_on_tape`]), so a loss containing solves is
//! differentiated like any other expression.
//!
//! # Example: a solve and a gradient through it
//! ```
//! use mechml_engine::ad::{Real, Tape};
//! use mechml_engine::ode::{
//!     solve, solve_on_tape, Method, OdeOptions, OdeProblem, OdeRhs, Sensitivity, TapeProblem,
//! };
//!
//! /// Logistic growth y' = r y (1 − y/K).
//! #[derive(Clone)]
//! struct Logistic;
//! impl OdeRhs for Logistic {
//!     fn n_states(&self) -> usize { 1 }
//!     fn n_params(&self) -> usize { 2 }
//!     fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
//!         dy[0] = p[0] * y[0] * (R::one() - y[0] / p[1]);
//!     }
//! }
//! let (r, k, y0, t1) = (1.5, 10.0, 0.5, 2.0);
//! let exact = |r: f64, k: f64, y0: f64| k / (1.0 + (k / y0 - 1.0) * (-r * t1).exp());
//!
//! let problem = OdeProblem::new(Logistic, 0.0, t1, vec![y0], vec![r, k])?;
//! let opts = OdeOptions::with_tol(1e-10, 1e-12);
//! let sol = solve(&problem, Method::Tsit5, &opts)?;
//! assert!((sol.y_final()[0] - exact(r, k, y0)).abs() < 1e-8);
//!
//! // d y(t1) / d r through the solve, on a tape.
//! let tape = Tape::new();
//! let y0v = tape.var_vec(&[y0]);
//! let pv = tape.var_vec(&[r, k]);
//! let problem = TapeProblem::new(Logistic, 0.0, t1, &y0v, &pv);
//! let out = solve_on_tape(&tape, problem, Method::Tsit5, &opts, Sensitivity::default())?;
//! let y1 = out.states.get(0, 0).unwrap();
//! let g = tape.gradient(&y1)?;
//! let h = 1e-6;
//! let fd = (exact(r + h, k, y0) - exact(r - h, k, y0)) / (2.0 * h);
//! assert!((g.wrt_vec(&pv)[0] - fd).abs() < 1e-6);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

// Numerical kernels index several arrays in lockstep, and the time-loop hooks pass the
// step's (system, t, h, y, y_new, ...) explicitly.
#![allow(clippy::needless_range_loop)]

pub mod bdf;
pub mod dense;
mod driver;
pub mod explicit;
mod linsolve;
pub mod method;
pub mod one_step;
pub mod options;
pub mod problem;
pub mod problems;
pub mod rk_step;
pub mod rosenbrock;
pub mod sdirk;
pub mod sensitivity;
pub mod solution;
pub mod solve;
pub mod system;
pub mod tableau;

pub use crate::solver::{
    Checkpointing, ComponentTol, PiController, SaveAt, StepController, StepDecision, Tolerance,
};
pub use dense::DenseOutput;
pub use method::{Capabilities, Method, StepSelection};
pub use one_step::{Attempt, OneStep, Step, StepAttempt};
pub use options::OdeOptions;
pub use problem::{OdeProblem, OdeRhs};
pub use sensitivity::{
    AdjointInfo, ForwardSensitivities, OdeGradient, Sensitivity, SensitivitySolve, TapeProblem,
    TapeSolve, forward_sensitivities, gradient, solve_on_tape,
};
pub use solution::{OdeSolution, OdeStats};
pub use solve::{solve, solve_with};
pub use system::{
    GenericVjp, OdeSystem, OdeSystemJacobian, RhsSystem, RhsVjp, VjpAt, VjpOut, VjpWork,
};
pub use tableau::ButcherTableau;

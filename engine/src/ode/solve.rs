//! The entry point: [`solve`] a problem with a [`Method`] and [`OdeOptions`].

use super::bdf::Bdf;
use super::driver::{LoopOutput, NoObserver, Span, StepObserver, integrate};
use super::explicit::ExplicitRk;
use super::method::{Family, Method};
use super::one_step::OneStep;
use super::options::OdeOptions;
use super::problem::{OdeProblem, OdeRhs};
use super::rosenbrock::Rosenbrock;
use super::sdirk::Esdirk;
use super::solution::OdeSolution;
use super::system::{OdeSystemJacobian, RhsSystem};
use crate::error::Result;
use crate::solver::StepController;

/// Solves `problem` with `method`.
///
/// ```
/// use mechml_engine::ad::Real;
/// use mechml_engine::ode::{solve, Method, OdeOptions, OdeProblem, OdeRhs};
///
/// /// y' = −k y.
/// struct Decay;
/// impl OdeRhs for Decay {
///     fn n_states(&self) -> usize { 1 }
///     fn n_params(&self) -> usize { 1 }
///     fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) { dy[0] = -p[0] * y[0]; }
/// }
///
/// let problem = OdeProblem::new(Decay, 0.0, 2.0, vec![1.0], vec![0.5])?;
/// let sol = solve(&problem, Method::Tsit5, &OdeOptions::with_tol(1e-8, 1e-10))?;
/// assert!((sol.y_final()[0] - (-1.0f64).exp()).abs() < 1e-8);
/// println!("{} steps, {} RHS evaluations", sol.stats.n_accepted, sol.stats.n_rhs);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
///
/// # Errors
/// Invalid options or dimensions before any work; during the solve
/// [`Error::StepSizeUnderflow`](crate::Error::StepSizeUnderflow),
/// [`Error::TooManySteps`](crate::Error::TooManySteps),
/// [`Error::NonFiniteState`](crate::Error::NonFiniteState),
/// [`Error::NewtonFailure`](crate::Error::NewtonFailure), each naming the time, the step
/// size and the component.
pub fn solve<F: OdeRhs>(
    problem: &OdeProblem<F>,
    method: Method,
    options: &OdeOptions,
) -> Result<OdeSolution> {
    problem.validate()?;
    options.validate(problem.y0.len(), problem.t0, problem.t1)?;
    let mut controller = options.controller.clone();
    let mut sys = RhsSystem::new(&problem.rhs, &problem.p);
    let out = integrate_system(
        &mut sys,
        method,
        &mut controller,
        problem.span(),
        options,
        &mut NoObserver,
    )?;
    Ok(out.into_solution())
}

/// Integrates any system with a Jacobian (the problem's, or an adjoint system).
pub(crate) fn integrate_system<S, C, O>(
    sys: &mut S,
    method: Method,
    controller: &mut C,
    span: Span<'_, f64>,
    options: &OdeOptions,
    observer: &mut O,
) -> Result<LoopOutput<f64>>
where
    S: OdeSystemJacobian + ?Sized,
    C: StepController + ?Sized,
    O: StepObserver<f64>,
{
    let n = span.y0.len();
    match method.check_options(options)? {
        Family::Explicit { tab, dt } => {
            let mut m = ExplicitRk::new(tab, n);
            let dt = dt.or(options.fixed_step);
            integrate(sys, &mut m, controller, span, options, dt, observer)
        }
        Family::Rosenbrock(tab) => {
            let mut m = Rosenbrock::new(tab, n);
            let dt = options.fixed_step;
            integrate(sys, &mut m, controller, span, options, dt, observer)
        }
        Family::Esdirk(tab) => {
            let mut m = Esdirk::new(tab, n, options);
            let dt = options.fixed_step;
            integrate(sys, &mut m, controller, span, options, dt, observer)
        }
        Family::Bdf => {
            let mut m = Bdf::new(n, options);
            integrate(sys, &mut m, controller, span, options, None, observer)
        }
    }
}

/// Solves `problem` with any [`OneStep`] method under the shared time loop: error
/// control by the options' tolerances and controller (or the method's own
/// [`decide`](OneStep::decide)), save times, dense output, fixed steps
/// (`options.fixed_step`), statistics and the same failures as [`solve`]. See the
/// [`one_step`](super::one_step) module for an example of a new method family.
///
/// # Errors
/// As [`solve`].
pub fn solve_with<F, M>(
    problem: &OdeProblem<F>,
    method: &mut M,
    options: &OdeOptions,
) -> Result<OdeSolution>
where
    F: OdeRhs,
    M: for<'a> OneStep<f64, RhsSystem<'a, F, f64>>,
{
    problem.validate()?;
    options.validate(problem.y0.len(), problem.t0, problem.t1)?;
    let mut controller = options.controller.clone();
    let mut sys = RhsSystem::new(&problem.rhs, &problem.p);
    let out = integrate(
        &mut sys,
        method,
        &mut controller,
        problem.span(),
        options,
        options.fixed_step,
        &mut NoObserver,
    )?;
    Ok(out.into_solution())
}

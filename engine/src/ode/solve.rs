//! The entry point: [`solve`] a problem with a [`Method`] and [`OdeOptions`].

use super::bdf::Bdf;
use super::driver::{LoopOutput, NoObserver, StepObserver, integrate};
use super::explicit::ExplicitRk;
use super::options::OdeOptions;
use super::problem::{OdeProblem, OdeRhs};
use super::rosenbrock::{RODAS5P, Rosenbrock, RosenbrockTableau};
use super::sdirk::{Esdirk, EsdirkTableau, KVAERNO5};
use super::solution::OdeSolution;
use super::system::{OdeSystemJacobian, RhsSystem};
use super::tableau::{BOSH3, ButcherTableau, DOPRI5, EULER, RK4, TSIT5, VERN7};
use crate::error::{Error, Result};
use crate::solver::StepController;

/// An integration method.
///
/// | method | kind | order | dense output | use for |
/// |---|---|---|---|---|
/// | `Tsit5` | explicit RK, FSAL | 5(4) | 4 | non-stiff, the default |
/// | `Dopri5` | explicit RK, FSAL | 5(4) | 4 | non-stiff |
/// | `Bosh3` | explicit RK, FSAL | 3(2) | 3 | loose tolerances |
/// | `Vern7` | explicit RK | 7(6) | 6 | tight tolerances (≤ 1e-8) |
/// | `Rk4`, `Euler` | explicit, fixed step | 4, 1 | 3, 1 | tests and teaching |
/// | `Rodas5P` | Rosenbrock (linearly implicit) | 5(4) | 4 | stiff, small to medium |
/// | `Kvaerno5` | ESDIRK, FSAL | 5(4) | 3 (Hermite) | stiff, with exact adjoints |
/// | `Bdf` | variable-order BDF (NDF) 1–5 | 1–5 | order | stiff, larger systems |
#[derive(Clone, Copy, Debug)]
pub enum Method {
    /// Tsitouras 5(4).
    Tsit5,
    /// Dormand–Prince 5(4).
    Dopri5,
    /// Bogacki–Shampine 3(2).
    Bosh3,
    /// Verner's efficient 7(6).
    Vern7,
    /// Classical Runge–Kutta with a fixed step `dt`.
    Rk4 {
        /// Step size.
        dt: f64,
    },
    /// Forward Euler with a fixed step `dt`.
    Euler {
        /// Step size.
        dt: f64,
    },
    /// Any adaptive explicit tableau (with error weights).
    Explicit(&'static ButcherTableau),
    /// Any explicit tableau with a fixed step.
    FixedStep {
        /// The tableau.
        tableau: &'static ButcherTableau,
        /// Step size.
        dt: f64,
    },
    /// Steinebach's Rodas5P (Rosenbrock, order 5, stiffly accurate).
    Rodas5P,
    /// Any Rosenbrock tableau.
    Rosenbrock(&'static RosenbrockTableau),
    /// Kværnø's ESDIRK 5(4).
    Kvaerno5,
    /// Any ESDIRK tableau.
    Esdirk(&'static EsdirkTableau),
    /// Variable-order, variable-step BDF (numerical differentiation formulas, orders 1–5).
    Bdf,
}

/// The family of a method.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Family {
    Explicit {
        tab: &'static ButcherTableau,
        dt: Option<f64>,
    },
    Rosenbrock(&'static RosenbrockTableau),
    Esdirk(&'static EsdirkTableau),
    Bdf,
}

impl Method {
    /// The family and tableau, checked.
    pub(crate) fn family(&self) -> Result<Family> {
        let fixed = |tab: &'static ButcherTableau, dt: f64| -> Result<Family> {
            if !(dt.is_finite() && dt > 0.0) {
                return Err(Error::InvalidArgument {
                    op: "ode",
                    message: format!("fixed step dt must be finite and > 0, got {dt}"),
                });
            }
            tab.validate()?;
            Ok(Family::Explicit { tab, dt: Some(dt) })
        };
        Ok(match *self {
            Method::Tsit5 => Family::Explicit {
                tab: &TSIT5,
                dt: None,
            },
            Method::Dopri5 => Family::Explicit {
                tab: &DOPRI5,
                dt: None,
            },
            Method::Bosh3 => Family::Explicit {
                tab: &BOSH3,
                dt: None,
            },
            Method::Vern7 => Family::Explicit {
                tab: &VERN7,
                dt: None,
            },
            Method::Rk4 { dt } => fixed(&RK4, dt)?,
            Method::Euler { dt } => fixed(&EULER, dt)?,
            Method::FixedStep { tableau, dt } => fixed(tableau, dt)?,
            Method::Explicit(tab) => {
                tab.validate()?;
                if tab.b_err.is_none() {
                    return Err(Error::InvalidArgument {
                        op: "ode",
                        message: format!(
                            "tableau {} has no error weights: use Method::FixedStep",
                            tab.name
                        ),
                    });
                }
                Family::Explicit { tab, dt: None }
            }
            Method::Rodas5P => Family::Rosenbrock(&RODAS5P),
            Method::Rosenbrock(tab) => {
                tab.validate()?;
                Family::Rosenbrock(tab)
            }
            Method::Kvaerno5 => Family::Esdirk(&KVAERNO5),
            Method::Esdirk(tab) => {
                tab.validate()?;
                Family::Esdirk(tab)
            }
            Method::Bdf => Family::Bdf,
        })
    }

    /// Whether the method is implicit (needs Jacobians).
    pub fn is_stiff(&self) -> bool {
        matches!(
            self,
            Method::Rodas5P
                | Method::Rosenbrock(_)
                | Method::Kvaerno5
                | Method::Esdirk(_)
                | Method::Bdf
        )
    }
}

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
/// [`Error::StepSizeUnderflow`], [`Error::TooManySteps`], [`Error::NonFiniteState`],
/// [`Error::NewtonFailure`], each naming the time, the step size and the component.
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
        problem.t0,
        problem.t1,
        &problem.y0,
        options,
        &mut NoObserver,
    )?;
    Ok(OdeSolution {
        ts: out.ts,
        ys: out.ys,
        stats: out.stats,
        dense: out.dense,
    })
}

/// Integrates any system with a Jacobian (the problem's, or an adjoint system).
#[allow(clippy::too_many_arguments)]
pub(crate) fn integrate_system<S, C, O>(
    sys: &mut S,
    method: Method,
    controller: &mut C,
    t0: f64,
    t1: f64,
    y0: &[f64],
    options: &OdeOptions,
    observer: &mut O,
) -> Result<LoopOutput<f64>>
where
    S: OdeSystemJacobian + ?Sized,
    C: StepController + ?Sized,
    O: StepObserver<f64>,
{
    let n = y0.len();
    match method.family()? {
        Family::Explicit { tab, dt } => {
            let mut m = ExplicitRk::new(tab, n);
            let dt = dt.or(options.fixed_step);
            integrate(sys, &mut m, controller, t0, t1, y0, options, dt, observer)
        }
        Family::Rosenbrock(tab) => {
            let mut m = Rosenbrock::new(tab, n);
            integrate(
                sys,
                &mut m,
                controller,
                t0,
                t1,
                y0,
                options,
                options.fixed_step,
                observer,
            )
        }
        Family::Esdirk(tab) => {
            let mut m = Esdirk::new(tab, n, options);
            integrate(
                sys,
                &mut m,
                controller,
                t0,
                t1,
                y0,
                options,
                options.fixed_step,
                observer,
            )
        }
        Family::Bdf => {
            if options.controller.is_custom() {
                return Err(Error::Unsupported {
                    op: "ode",
                    reason: format!(
                        "Bdf selects its own step sizes and orders and takes no step-size \
                         controller, but the options hold {:?}: use a one-step method \
                         (Rodas5P, Kvaerno5, an explicit method) with a custom controller",
                        options.controller
                    ),
                });
            }
            if options.fixed_step.is_some() {
                return Err(Error::Unsupported {
                    op: "ode",
                    reason: "BDF selects its own steps; for fixed steps and a fixed order use \
                             ode::bdf::solve_fixed_order"
                        .into(),
                });
            }
            Bdf::new(n, options).integrate(sys, t0, t1, y0, options, observer)
        }
    }
}

//! The integration methods ([`Method`]), their families and what each supports
//! ([`Capabilities`]): the one place that says which sensitivity, dense output, Jacobian
//! use and step selection a method has.

use serde::{Deserialize, Serialize};

use super::options::OdeOptions;
use super::rosenbrock::{RODAS5P, RosenbrockTableau};
use super::sdirk::{EsdirkTableau, KVAERNO5};
use super::sensitivity::Sensitivity;
use super::tableau::{BOSH3, ButcherTableau, DOPRI5, EULER, RK4, TSIT5, VERN7};
use crate::error::{Error, Result};

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

/// How a method's step sizes are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepSelection {
    /// By the options' step-size controller from the error estimate (or fixed by
    /// `OdeOptions::fixed_step`).
    Controller,
    /// By the method itself, with its order (BDF); it takes no controller and no fixed
    /// step.
    Own,
    /// Fixed by the method (`Rk4 { dt }`, `Euler { dt }`, `FixedStep`).
    Fixed,
}

/// What a method supports, as the sensitivity methods and the solver ask it.
///
/// ```
/// use mechml_engine::ode::{Method, Sensitivity, StepSelection};
/// let c = Method::Rodas5P.capabilities();
/// assert!(c.continuous_adjoint && !c.forward && c.jacobian);
/// assert!(!c.supports(Sensitivity::Forward));
/// assert_eq!(Method::Bdf.capabilities().step_selection, StepSelection::Own);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Forward sensitivities ([`Sensitivity::Forward`]).
    pub forward: bool,
    /// The discrete adjoint ([`Sensitivity::DiscreteAdjoint`]).
    pub discrete_adjoint: bool,
    /// The interpolating continuous adjoint ([`Sensitivity::ContinuousAdjoint`]).
    pub continuous_adjoint: bool,
    /// The backsolve adjoint ([`Sensitivity::Backsolve`]).
    pub backsolve: bool,
    /// Dense output between steps (save times inside steps, `OdeOptions::dense`).
    pub dense_output: bool,
    /// Uses the Jacobian `∂f/∂y` (an implicit method, for stiff problems).
    pub jacobian: bool,
    /// How the step sizes are chosen.
    pub step_selection: StepSelection,
}

impl Capabilities {
    /// Whether `sensitivity` is available.
    pub fn supports(&self, sensitivity: Sensitivity) -> bool {
        match sensitivity {
            Sensitivity::Forward => self.forward,
            Sensitivity::DiscreteAdjoint { .. } => self.discrete_adjoint,
            Sensitivity::ContinuousAdjoint { .. } => self.continuous_adjoint,
            Sensitivity::Backsolve => self.backsolve,
        }
    }

    /// The sensitivity methods available, by name.
    pub fn sensitivities(&self) -> Vec<&'static str> {
        [
            (self.forward, "Forward"),
            (self.discrete_adjoint, "DiscreteAdjoint"),
            (self.continuous_adjoint, "ContinuousAdjoint"),
            (self.backsolve, "Backsolve"),
        ]
        .into_iter()
        .filter_map(|(ok, name)| ok.then_some(name))
        .collect()
    }
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

impl Family {
    /// What the family supports (the one table of it).
    pub(crate) fn capabilities(&self) -> Capabilities {
        let explicit = matches!(self, Family::Explicit { .. });
        Capabilities {
            // Duals through explicit steps; the exact linearisation of the implicit
            // stage (ESDIRK) and corrector (BDF) equations; a Rosenbrock step would need
            // second derivatives of f.
            forward: !matches!(self, Family::Rosenbrock(_)),
            // Back-propagation through explicit stages, or through ESDIRK stages by the
            // implicit function theorem.
            discrete_adjoint: matches!(self, Family::Explicit { .. } | Family::Esdirk(_)),
            continuous_adjoint: true,
            // Integrating y backwards is unstable for stiff problems.
            backsolve: explicit,
            dense_output: true,
            jacobian: !explicit,
            step_selection: match self {
                Family::Explicit { dt: Some(_), .. } => StepSelection::Fixed,
                Family::Bdf => StepSelection::Own,
                _ => StepSelection::Controller,
            },
        }
    }

    /// Why the family lacks `sensitivity`, and what to use instead.
    fn why_not(&self, sensitivity: Sensitivity) -> &'static str {
        match (sensitivity, self) {
            (Sensitivity::Forward, Family::Rosenbrock(_)) => {
                "the linearisation of a Rosenbrock step needs second derivatives of f \
                 (Kvaerno5 and Bdf have exact forward sensitivities)"
            }
            (Sensitivity::DiscreteAdjoint { .. }, _) => {
                "the discrete adjoint is implemented for explicit Runge–Kutta and ESDIRK \
                 methods (Kvaerno5 for stiff problems)"
            }
            (Sensitivity::Backsolve, _) => {
                "backsolve integrates y backwards, which is unstable for stiff problems \
                 (ContinuousAdjoint interpolates the forward solution instead)"
            }
            _ => "not implemented for this method",
        }
    }
}

impl Method {
    /// The family and tableau, unchecked.
    fn family_unchecked(&self) -> Family {
        match *self {
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
            Method::Rk4 { dt } => Family::Explicit {
                tab: &RK4,
                dt: Some(dt),
            },
            Method::Euler { dt } => Family::Explicit {
                tab: &EULER,
                dt: Some(dt),
            },
            Method::FixedStep { tableau, dt } => Family::Explicit {
                tab: tableau,
                dt: Some(dt),
            },
            Method::Explicit(tab) => Family::Explicit { tab, dt: None },
            Method::Rodas5P => Family::Rosenbrock(&RODAS5P),
            Method::Rosenbrock(tab) => Family::Rosenbrock(tab),
            Method::Kvaerno5 => Family::Esdirk(&KVAERNO5),
            Method::Esdirk(tab) => Family::Esdirk(tab),
            Method::Bdf => Family::Bdf,
        }
    }

    /// The family and tableau, checked: tableaus validate, fixed steps are finite and
    /// positive, adaptive explicit tableaus have error weights.
    pub(crate) fn family(&self) -> Result<Family> {
        let fam = self.family_unchecked();
        // The built-in adaptive methods' tableaus are checked once, by their order-condition
        // tests; validating them on every solve costs more than a small solve's steps (the
        // continuous adjoint runs one solve per segment).
        if matches!(
            self,
            Method::Tsit5
                | Method::Dopri5
                | Method::Bosh3
                | Method::Vern7
                | Method::Rodas5P
                | Method::Kvaerno5
                | Method::Bdf
        ) {
            return Ok(fam);
        }
        match fam {
            Family::Explicit { tab, dt } => {
                if let Some(dt) = dt
                    && !(dt.is_finite() && dt > 0.0)
                {
                    return Err(Error::invalid_option("ode", "dt", dt, "finite and > 0"));
                }
                tab.validate()?;
                if dt.is_none() && tab.b_err.is_none() {
                    return Err(Error::invalid_option(
                        "ode",
                        "method",
                        format!("Explicit({})", tab.name),
                        "a tableau with error weights (b_err), or Method::FixedStep",
                    ));
                }
            }
            Family::Rosenbrock(tab) => tab.validate()?,
            Family::Esdirk(tab) => tab.validate()?,
            Family::Bdf => {}
        }
        Ok(fam)
    }

    /// What the method supports: sensitivities, dense output, Jacobian use, step
    /// selection.
    pub fn capabilities(&self) -> Capabilities {
        self.family_unchecked().capabilities()
    }

    /// Whether the method is implicit (uses Jacobians): `capabilities().jacobian`.
    pub fn is_stiff(&self) -> bool {
        self.capabilities().jacobian
    }

    /// Checks the method against the options: the method itself (tableaus, fixed step),
    /// and that a method choosing its own steps gets neither a custom controller nor a
    /// fixed step.
    pub(crate) fn check_options(&self, options: &OdeOptions) -> Result<Family> {
        let fam = self.family()?;
        if fam.capabilities().step_selection == StepSelection::Own {
            if options.controller.is_custom() {
                return Err(Error::Unsupported {
                    op: "ode",
                    reason: format!(
                        "{self:?} selects its own step sizes and orders and takes no \
                         step-size controller, but the options hold {:?}: use a one-step \
                         method (Rodas5P, Kvaerno5, an explicit method) with a custom \
                         controller",
                        options.controller
                    ),
                });
            }
            if options.fixed_step.is_some() {
                return Err(Error::Unsupported {
                    op: "ode",
                    reason: format!(
                        "{self:?} selects its own steps; for fixed steps and a fixed order \
                         use ode::bdf::solve_fixed_order"
                    ),
                });
            }
        }
        Ok(fam)
    }

    /// Checks that the method supports `sensitivity` (and the options), naming both and
    /// the alternatives otherwise.
    pub(crate) fn check_sensitivity(
        &self,
        sensitivity: Sensitivity,
        options: &OdeOptions,
    ) -> Result<Family> {
        let fam = self.check_options(options)?;
        let caps = fam.capabilities();
        if caps.supports(sensitivity) {
            return Ok(fam);
        }
        Err(Error::Unsupported {
            op: "ode sensitivity",
            reason: format!(
                "{sensitivity:?} with {self:?}: {}; use {} with {self:?}",
                fam.why_not(sensitivity),
                caps.sensitivities().join(" or ")
            ),
        })
    }
}

//! [`AnyController`]: a step-size controller that options can hold, the PI controller or
//! any user-written [`StepController`], so that one choice reaches every solve an
//! operation runs (the primal, the passes of forward sensitivities, the forward and
//! backward solves of the adjoints).

use std::any::Any;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::controller::{PiController, StepController, StepDecision};
use crate::error::Result;

/// A user controller behind a box: cloneable (each solve gets its own copy), printable
/// and thread-safe.
trait BoxedController: StepController + Send + Sync + fmt::Debug {
    fn clone_box(&self) -> Box<dyn BoxedController>;
}

impl<C: StepController + Clone + Send + Sync + fmt::Debug + 'static> BoxedController for C {
    fn clone_box(&self) -> Box<dyn BoxedController> {
        Box::new(self.clone())
    }
}

enum Kind {
    Pi(PiController),
    Custom(Box<dyn BoxedController>),
}

/// The step-size controller of a solve's options: the [`PiController`] (the default) or
/// any type implementing [`StepController`].
///
/// Cloning copies the controller with its state; a solve clones the one in its options
/// and [`reset`](StepController::reset)s it, so every solve of an operation (a primal, the
/// forward pass of an adjoint, each pass of forward sensitivities, each backward solve)
/// starts from the same controller and takes the same steps on the same problem.
/// `AnyController` is itself a [`StepController`] (dispatching to the one it holds).
///
/// Serialisation writes and reads a [`PiController`]; a custom controller cannot be
/// serialised (an error says so). Two custom controllers compare equal when their `Debug`
/// representations do.
///
/// ```
/// use mechml_engine::solver::{AnyController, PiController, StepController, StepDecision};
///
/// /// Accepts below 1 and scales by `0.8 ε^(−1/q)` within [0.5, 2].
/// #[derive(Clone, Debug)]
/// struct Cautious;
/// impl StepController for Cautious {
///     fn reset(&mut self) {}
///     fn adapt(&mut self, h: f64, err: f64, q: f64) -> StepDecision {
///         let f = if err.is_finite() { 0.8 * err.powf(-1.0 / q) } else { 0.5 };
///         StepDecision { accept: err < 1.0, h_next: h * f.clamp(0.5, 2.0) }
///     }
/// }
/// let mut c = AnyController::custom(Cautious);
/// assert!(c.is_custom());
/// assert_eq!(c.adapt(1.0, 0.0, 5.0), StepDecision { accept: true, h_next: 2.0 });
/// // A PiController given as a custom one stays a (serialisable) PI controller.
/// assert!(AnyController::custom(PiController::pi(0.3, 0.3)).as_pi().is_some());
/// ```
pub struct AnyController(Kind);

impl AnyController {
    /// The PI controller `c`.
    pub fn pi(c: PiController) -> Self {
        AnyController(Kind::Pi(c))
    }

    /// Any controller: a [`PiController`] (or an `AnyController`) is kept as such, anything
    /// else is boxed.
    pub fn custom<C>(c: C) -> Self
    where
        C: StepController + Clone + Send + Sync + fmt::Debug + 'static,
    {
        let any: &dyn Any = &c;
        if let Some(pi) = any.downcast_ref::<PiController>() {
            return AnyController::pi(pi.clone());
        }
        if let Some(a) = any.downcast_ref::<AnyController>() {
            return a.clone();
        }
        AnyController(Kind::Custom(Box::new(c)))
    }

    /// The PI controller, if that is what this holds.
    pub fn as_pi(&self) -> Option<&PiController> {
        match &self.0 {
            Kind::Pi(c) => Some(c),
            Kind::Custom(_) => None,
        }
    }

    /// A copy, [`reset`](StepController::reset), for one solve: every solve of an
    /// operation starts from the same controller.
    pub fn fresh(&self) -> Self {
        let mut c = self.clone();
        c.reset();
        c
    }

    /// Whether this holds a controller other than a [`PiController`].
    pub fn is_custom(&self) -> bool {
        matches!(self.0, Kind::Custom(_))
    }
}

impl StepController for AnyController {
    #[inline]
    fn reset(&mut self) {
        match &mut self.0 {
            Kind::Pi(c) => c.reset(),
            Kind::Custom(c) => c.reset(),
        }
    }

    #[inline]
    fn adapt(&mut self, h: f64, err: f64, q: f64) -> StepDecision {
        match &mut self.0 {
            Kind::Pi(c) => c.adapt(h, err, q),
            Kind::Custom(c) => c.adapt(h, err, q),
        }
    }

    fn validate(&self) -> Result<()> {
        match &self.0 {
            Kind::Pi(c) => c.validate(),
            Kind::Custom(c) => c.validate(),
        }
    }
}

impl Default for AnyController {
    /// The default [`PiController`].
    fn default() -> Self {
        AnyController::pi(PiController::default())
    }
}

impl Clone for AnyController {
    fn clone(&self) -> Self {
        AnyController(match &self.0 {
            Kind::Pi(c) => Kind::Pi(c.clone()),
            Kind::Custom(c) => Kind::Custom(c.clone_box()),
        })
    }
}

impl From<PiController> for AnyController {
    fn from(c: PiController) -> Self {
        AnyController::pi(c)
    }
}

impl fmt::Debug for AnyController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Pi(c) => c.fmt(f),
            Kind::Custom(c) => c.fmt(f),
        }
    }
}

impl PartialEq for AnyController {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Kind::Pi(a), Kind::Pi(b)) => a == b,
            (Kind::Custom(a), Kind::Custom(b)) => format!("{a:?}") == format!("{b:?}"),
            _ => false,
        }
    }
}

impl Serialize for AnyController {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.0 {
            Kind::Pi(c) => c.serialize(s),
            Kind::Custom(c) => Err(serde::ser::Error::custom(format!(
                "the custom step controller {c:?} cannot be serialised (only a PiController can)"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for AnyController {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        PiController::deserialize(d).map(AnyController::pi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Halves or doubles the step and counts its calls.
    #[derive(Clone, Debug, Default)]
    struct Halving {
        calls: usize,
    }
    impl StepController for Halving {
        fn reset(&mut self) {
            self.calls = 0;
        }
        fn adapt(&mut self, h: f64, err: f64, _q: f64) -> StepDecision {
            self.calls += 1;
            let accept = err < 1.0;
            StepDecision {
                accept,
                h_next: if accept { 2.0 * h } else { 0.5 * h },
            }
        }
    }

    #[test]
    fn dispatch_clone_and_reset() {
        let mut pi = AnyController::default();
        let mut raw = PiController::default();
        for err in [0.3, 2.0, 1e-9, f64::NAN] {
            assert_eq!(pi.adapt(0.1, err, 5.0), raw.adapt(0.1, err, 5.0));
        }
        let mut c = AnyController::custom(Halving::default());
        assert_eq!(c.adapt(1.0, 0.5, 3.0).h_next, 2.0);
        assert_eq!(c.adapt(1.0, 2.0, 3.0).h_next, 0.5);
        // A clone carries the state; a reset clears it.
        let mut d = c.clone();
        assert_eq!(format!("{d:?}"), "Halving { calls: 2 }");
        assert_eq!(c, d);
        d.reset();
        assert_eq!(format!("{d:?}"), "Halving { calls: 0 }");
        assert!(c != d && c != AnyController::default());
        assert!(
            AnyController::custom(AnyController::default())
                .as_pi()
                .is_some()
        );
        // PI controllers compare by their settings, not their history.
        let mut used = AnyController::default();
        used.adapt(0.1, 0.5, 5.0);
        assert_eq!(used, AnyController::default());
        assert!(AnyController::pi(PiController::pi(0.3, 0.3)) != AnyController::default());
    }
}

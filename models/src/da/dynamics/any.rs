//! One enum over the built-in models, for settings chosen at run time (a configuration
//! file): it implements [`Model`] by dispatching to the variant.

use mechml_engine::ad::Real;

use super::{LinearModel, Lorenz63, Lorenz96, Lorenz96TwoScale, Model, Rk4};
use crate::da::Ensemble;

/// Any built-in model.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyModel {
    /// One-scale Lorenz-96.
    Lorenz96(Rk4<Lorenz96>),
    /// Two-scale Lorenz-96.
    Lorenz96TwoScale(Rk4<Lorenz96TwoScale>),
    /// Lorenz-63.
    Lorenz63(Rk4<Lorenz63>),
    /// A linear map.
    Linear(LinearModel),
}

macro_rules! dispatch {
    ($self:ident, $m:ident => $e:expr) => {
        match $self {
            AnyModel::Lorenz96($m) => $e,
            AnyModel::Lorenz96TwoScale($m) => $e,
            AnyModel::Lorenz63($m) => $e,
            AnyModel::Linear($m) => $e,
        }
    };
}

impl Model for AnyModel {
    fn n_state(&self) -> usize {
        dispatch!(self, m => m.n_state())
    }
    fn step_time(&self) -> f64 {
        dispatch!(self, m => m.step_time())
    }
    fn step<R: Real>(&self, x: &mut [R]) {
        dispatch!(self, m => m.step(x))
    }
    fn step_ensemble(&self, e: &mut Ensemble, work: &mut Vec<f64>) {
        dispatch!(self, m => m.step_ensemble(e, work))
    }
}

//! How a solve's pullback computes its vector–Jacobian product ([`Sensitivity`]), and
//! what it returns ([`SdeGradients`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sde::methods::SdeMethod;
use crate::solver::Checkpointing;

/// How a solve's pullback computes its vector–Jacobian product (see the
/// [module docs](super)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sensitivity {
    /// Exact discrete adjoint, replaying the steps from the states kept by `checkpointing`
    /// ([`Checkpointing::Auto`]: every `⌈√n⌉` steps).
    DiscreteAdjoint {
        /// Which forward states the backward pass keeps.
        checkpointing: Checkpointing,
    },
    /// Forward pathwise sensitivities (dual numbers).
    Forward,
    /// Reversible Heun's O(1)-memory exact adjoint.
    Reversible,
    /// The continuous stochastic adjoint of Li et al. (2020).
    StochasticAdjoint {
        /// Solve the state backwards too (O(1) memory) instead of replaying checkpoints.
        backsolve: bool,
    },
}

impl Default for Sensitivity {
    fn default() -> Self {
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::Auto,
        }
    }
}

impl Sensitivity {
    /// Checks the settings: `Checkpointing::Every(k)` and `Budget(b)` need `k, b ≥ 1`.
    pub fn validate(&self, op: &'static str) -> Result<()> {
        match self {
            Sensitivity::DiscreteAdjoint {
                checkpointing: c @ (Checkpointing::Every(0) | Checkpointing::Budget(0)),
            } => Err(Error::invalid_option(
                op,
                "checkpointing",
                format!("{c:?}"),
                "Every(k) or Budget(b) with k, b ≥ 1 (or Auto, All)",
            )),
            _ => Ok(()),
        }
    }

    /// Checks that `method` supports this sensitivity (the reversible adjoint needs an
    /// algebraically reversible method).
    pub(crate) fn check_method<M: SdeMethod>(&self, op: &'static str, method: &M) -> Result<()> {
        self.validate(op)?;
        if *self == Sensitivity::Reversible && !method.is_reversible() {
            return Err(Error::invalid_option(
                op,
                "sensitivity",
                format!("Reversible with {}", method.name()),
                "an algebraically reversible method (ReversibleHeun) for Sensitivity::Reversible",
            ));
        }
        Ok(())
    }
}

/// The gradients of a solve: adjoints of the initial state and of the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SdeGradients {
    /// `∂L/∂x₀`.
    pub x0: Vec<f64>,
    /// `∂L/∂p`.
    pub p: Vec<f64>,
}

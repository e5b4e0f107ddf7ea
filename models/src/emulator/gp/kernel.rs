//! The emulator's covariance functions: the engine's ARD stationary kernels, chosen at
//! run time (from a configuration) and used through the engine's [`Kernel`] trait, so
//! that kernel matrices and their pullbacks (in `θ` and in the inputs) run the engine's
//! vectorised code.

use faer::{MatMut, MatRef};
use mechml_engine::Result;
use mechml_engine::ad::Real;
use mechml_engine::gp::{Inputs, Kernel, KernelAdjoints, Matern32, Matern52, SquaredExponential};
use mechml_engine::param::ParamLayout;
use serde::{Deserialize, Serialize};

/// Which stationary kernel an emulator uses (always with one lengthscale per input).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelFamily {
    /// `σ² exp(−r²/2)` (Rasmussen & Williams 2006, eq. 4.9): smooth simulators.
    #[default]
    SquaredExponential,
    /// Matérn ν = 5/2 (R&W eq. 4.17): twice differentiable.
    Matern52,
    /// Matérn ν = 3/2 (R&W eq. 4.17): once differentiable.
    Matern32,
}

/// An ARD kernel of a [`KernelFamily`]; parameters `variance`, `lengthscale[0..d]`.
#[derive(Clone, Debug)]
pub enum EmuKernel {
    /// Squared exponential.
    Se(SquaredExponential),
    /// Matérn 5/2.
    M52(Matern52),
    /// Matérn 3/2.
    M32(Matern32),
}

impl EmuKernel {
    /// The ARD kernel of `family` on `d` inputs.
    pub fn ard(family: KernelFamily, d: usize) -> Result<Self> {
        Ok(match family {
            KernelFamily::SquaredExponential => Self::Se(SquaredExponential::ard(d)?),
            KernelFamily::Matern52 => Self::M52(Matern52::ard(d)?),
            KernelFamily::Matern32 => Self::M32(Matern32::ard(d)?),
        })
    }

    /// Its family.
    pub fn family(&self) -> KernelFamily {
        match self {
            Self::Se(_) => KernelFamily::SquaredExponential,
            Self::M52(_) => KernelFamily::Matern52,
            Self::M32(_) => KernelFamily::Matern32,
        }
    }
}

macro_rules! each {
    ($s:expr, $k:ident => $e:expr) => {
        match $s {
            EmuKernel::Se($k) => $e,
            EmuKernel::M52($k) => $e,
            EmuKernel::M32($k) => $e,
        }
    };
}

impl Kernel for EmuKernel {
    fn layout(&self) -> Result<ParamLayout> {
        each!(self, k => k.layout())
    }
    fn n_params(&self) -> usize {
        each!(self, k => k.n_params())
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        each!(self, k => k.eval(theta, x, y))
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        each!(self, k => k.check_dim(d))
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, out: MatMut<'_, f64>) {
        each!(self, k => k.matrix_into(theta, x, y, out))
    }
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        each!(self, k => k.matrix_pullback(theta, x, y, kbar, adj))
    }
    fn matrix_pullback_sym_with_values(
        &self,
        theta: &[f64],
        x: &Inputs,
        kxx: MatRef<'_, f64>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        each!(self, k => k.matrix_pullback_sym_with_values(theta, x, kxx, kbar, adj))
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        each!(self, k => k.diag_into(theta, x, out))
    }
    fn diag_pullback(&self, theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        each!(self, k => k.diag_pullback(theta, x, dbar, adj))
    }
}

//! Covariance functions (kernels) `k(x, x'; θ)` and the matrices built from them.
//!
//! A kernel implements [`Kernel`]: its hyperparameters as an unconstrained vector `θ`
//! (positive quantities are stored as logarithms, e.g. `θ = (log ℓ₁, …, log ℓ_d, log σ²)`),
//! and `eval`, written once for every [`Real`] type. That is all a new kernel needs: the
//! matrix builders and their pullbacks then work through forward-mode dual numbers, pair
//! by pair. The built-in kernels also override the provided `matrix_into` /
//! `matrix_pullback` / `diag_into` / `diag_pullback` with analytic loops, so that a kernel
//! matrix and its pullback cost `O(n m d)` arithmetic with no allocation per entry.
//!
//! | kernel | `k(x, x')` | parameters |
//! |---|---|---|
//! | [`SquaredExponential`] | `σ² exp(−r²/2)` | `log ℓ` (1 or `d`), `log σ²` |
//! | [`Matern12`] | `σ² exp(−r)` | as above |
//! | [`Matern32`] | `σ² (1 + √3 r) exp(−√3 r)` | as above |
//! | [`Matern52`] | `σ² (1 + √5 r + 5r²/3) exp(−√5 r)` | as above |
//! | [`RationalQuadratic`] | `σ² (1 + r²/(2α))^{−α}` | as above, `log α` |
//! | [`Periodic`] | `σ² exp(−2 Σ_d sin²(π(x_d − x'_d)/p) / ℓ_d²)` | `log ℓ`, `log σ²`, `log p` |
//! | [`Linear`] | `Σ_d σ_d² x_d x'_d` | `log σ²` (1 or `d`) |
//! | [`White`] | `σ² δ_{ii'}` (same observation) | `log σ²` |
//!
//! with `r² = Σ_d (x_d − x'_d)² / ℓ_d²` (Rasmussen & Williams 2006, *Gaussian Processes
//! for Machine Learning*, §4.2, eqs. 4.9, 4.14, 4.17, 4.19 and 4.31). Kernels combine with
//! [`KernelExt`]: sums and products ([`Sum`], [`Product`]: R&W §4.2.4), a positive scale
//! ([`Scaled`]) and restriction to some input dimensions ([`ActiveDims`]).
//!
//! # Conventions for the provided methods
//! * `y = None` means `K(X, X)`: `matrix_into` need only write the lower triangle
//!   (`i ≥ j`), and `matrix_pullback` reads the lower triangle of `kbar` as the weight of
//!   the *pair* `{i, j}`, so that a symmetric adjoint `K̄` is passed as
//!   `K̄ᵢⱼ + K̄ⱼᵢ` below the diagonal and `K̄ᵢᵢ` on it ([`fold_symmetric`]).
//! * Pullbacks *add* into `dtheta` and into `dx`/`dy` (point-major, like [`Inputs`]) when
//!   given.
//!
//! # Example
//! ```
//! use mechml_engine::gp::{Inputs, SquaredExponential, Matern32, KernelExt, kernel_matrix};
//! let x = Inputs::from_1d(&[0.0, 0.5, 2.0])?;
//! let k = SquaredExponential::new(1.0, 2.0)?.plus(Matern32::new(0.5, 1.0)?);
//! let km = kernel_matrix(&k, &x, None)?;
//! let r = 0.5_f64;
//! let expected = 2.0 * (-0.5 * r * r).exp() + (1.0 + 3f64.sqrt() * r / 0.5) * (-3f64.sqrt() * r / 0.5).exp();
//! assert!((km[(1, 0)] - expected).abs() < 1e-14 && km[(0, 1)] == km[(1, 0)]);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod combinators;
mod dual_path;
mod fastmath;
mod linear;
pub(crate) mod matrix;
mod periodic;
mod profiles;
mod stationary;
mod white;

pub use combinators::{ActiveDims, KernelExt, Product, Scaled, Sum};
pub use linear::Linear;
pub use matrix::{
    fold_symmetric, kernel_diag, kernel_diag_var, kernel_matrix, kernel_matrix_theta,
    kernel_matrix_var,
};
pub use periodic::Periodic;
pub use profiles::{
    Matern12, Matern12Profile, Matern32, Matern32Profile, Matern52, Matern52Profile,
    RationalQuadratic, RqProfile, SeProfile, SquaredExponential,
};
pub use stationary::{Profile, Stationary};
pub use white::White;

use std::fmt::Debug;

use faer::{MatMut, MatRef};

use super::Inputs;
use crate::ad::Real;
use crate::error::Result;

/// A covariance function `k(x, x'; θ)` with an unconstrained hyperparameter vector `θ`.
///
/// Required: [`n_params`](Kernel::n_params), [`param_names`](Kernel::param_names),
/// [`params`](Kernel::params), [`set_params`](Kernel::set_params) and
/// [`eval`](Kernel::eval). Everything else has a default (forward-mode dual numbers per
/// matrix entry); override it for speed.
pub trait Kernel: Clone + Debug + Send + Sync + 'static {
    /// Number of hyperparameters.
    fn n_params(&self) -> usize;

    /// Their names (`"log_lengthscale[0]"`, …), in order.
    fn param_names(&self) -> Vec<String>;

    /// The current unconstrained values.
    fn params(&self) -> Vec<f64>;

    /// Sets the unconstrained values.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for a wrong length,
    /// [`Error::NonFinite`](crate::Error::NonFinite) for a non-finite value.
    fn set_params(&mut self, theta: &[f64]) -> Result<()>;

    /// `k(x, y; θ)`, generic over the scalar type (`f64`, dual numbers, tape variables).
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R;

    /// Checks that the kernel can read `d`-dimensional inputs (e.g. an ARD kernel needs
    /// one lengthscale per dimension).
    fn check_dim(&self, d: usize) -> Result<()> {
        let _ = d;
        Ok(())
    }

    /// Writes `K(X, Y)` (`n × m`) into `out`; with `y = None`, the lower triangle of
    /// `K(X, X)`.
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, out: MatMut<'_, f64>) {
        dual_path::matrix_into(self, theta, x, y, out);
    }

    /// Adds `Σᵢⱼ K̄ᵢⱼ ∂K(X, Y)ᵢⱼ` into the adjoints of `θ`, `X` and `Y` (see the module
    /// conventions for `y = None`).
    #[allow(clippy::too_many_arguments)]
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
        dy: Option<&mut [f64]>,
    ) {
        dual_path::matrix_pullback(self, theta, x, y, kbar, dtheta, dx, dy);
    }

    /// [`Kernel::matrix_pullback`] for the symmetric `K(X, X)` (`y = None`, pair weights
    /// in the lower triangle of `kbar`), given `kxx`: the lower triangle of `K(X, X)` as
    /// [`Kernel::matrix_into`] wrote it at the same `θ`. A kernel may read its values
    /// instead of recomputing them; the default ignores `kxx`. The result agrees with
    /// [`Kernel::matrix_pullback`] up to rounding.
    fn matrix_pullback_sym_with_values(
        &self,
        theta: &[f64],
        x: &Inputs,
        kxx: MatRef<'_, f64>,
        kbar: MatRef<'_, f64>,
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
    ) {
        let _ = kxx;
        self.matrix_pullback(theta, x, None, kbar, dtheta, dx, None);
    }

    /// Writes the diagonal `k(xᵢ, xᵢ)` into `out`.
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        dual_path::diag_into(self, theta, x, out);
    }

    /// Adds `Σᵢ d̄ᵢ ∂k(xᵢ, xᵢ)` into the adjoints of `θ` and `X`.
    fn diag_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        dbar: &[f64],
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
    ) {
        dual_path::diag_pullback(self, theta, x, dbar, dtheta, dx);
    }
}

/// Checks a parameter vector's length and finiteness for `set_params`.
pub(crate) fn check_theta(op: &'static str, theta: &[f64], n: usize) -> Result<()> {
    crate::error::check_len(op, "theta", theta.len(), n)?;
    crate::error::check_finite(op, "theta", theta)
}

/// `ln v`, checking that `v` is positive and finite.
pub(crate) fn positive_log(op: &'static str, what: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v.ln())
    } else {
        Err(crate::Error::InvalidArgument {
            op,
            message: format!("{what} must be positive and finite, got {v}"),
        })
    }
}

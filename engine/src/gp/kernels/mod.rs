//! Covariance functions (kernels) `k(x, x'; θ)` and the matrices built from them.
//!
//! A kernel describes *structure* only: its input dimension, isotropic or ARD
//! lengthscales, active dimensions, the shape of a sum or product. The *values* of its
//! hyperparameters live in one vector `θ` on the natural scale (variances, lengthscales,
//! periods as they are), owned by the model (an [`ExactGp`](crate::gp::ExactGp), a
//! [`SparseGp`](crate::gp::SparseGp), …) and described by the kernel's
//! [`ParamLayout`] ([`Kernel::layout`]): names, transforms to the unconstrained scale
//! (log for positive quantities) and default values. Every evaluation takes `θ` as an
//! argument; nothing is written back into a kernel.
//!
//! A kernel implements [`Kernel`]: [`layout`](Kernel::layout) and
//! [`eval`](Kernel::eval), written once for every [`Real`] type. That is all a new kernel
//! needs: the matrix builders and their pullbacks then work through forward-mode dual
//! numbers, pair by pair. The built-in kernels also override the provided `matrix_into` /
//! `matrix_pullback` / `diag_into` / `diag_pullback` with analytic loops, so that a kernel
//! matrix and its pullback cost `O(n m d)` arithmetic with no allocation per entry.
//!
//! | kernel | `k(x, x')` | parameters, in order |
//! |---|---|---|
//! | [`SquaredExponential`] | `σ² exp(−r²/2)` | `variance`, `lengthscale` (or `lengthscale[i]`, ARD) |
//! | [`Matern12`] | `σ² exp(−r)` | as above |
//! | [`Matern32`] | `σ² (1 + √3 r) exp(−√3 r)` | as above |
//! | [`Matern52`] | `σ² (1 + √5 r + 5r²/3) exp(−√5 r)` | as above |
//! | [`RationalQuadratic`] | `σ² (1 + r²/(2α))^{−α}` | as above, then `alpha` |
//! | [`Periodic`] | `σ² exp(−2 Σ_d sin²(π(x_d − x'_d)/p) / ℓ_d²)` | `variance`, `lengthscale`…, `period` |
//! | [`Linear`] | `Σ_d σ_d² x_d x'_d` | `variance` (or `variance[i]`, ARD) |
//! | [`White`] | `σ² δ_{ii'}` (same observation) | `variance` |
//!
//! with `r² = Σ_d (x_d − x'_d)² / ℓ_d²` (Rasmussen & Williams 2006, *Gaussian Processes
//! for Machine Learning*, §4.2, eqs. 4.9, 4.14, 4.17, 4.19 and 4.31). The order puts the
//! variance first, then the shape parameters, as GPflow and scikit-learn list them; every
//! built-in parameter is positive (log transform). Kernels combine with [`KernelExt`]:
//! sums and products ([`Sum`], [`Product`]: R&W §4.2.4; the parameters of a term or factor
//! are prefixed `k0.`, `k1.`), a positive scale ([`Scaled`]) and restriction to some input
//! dimensions ([`ActiveDims`], no prefix).
//!
//! **One variance per product.** In `σ_a² a · σ_b² b` only the product `σ_a² σ_b²` is
//! identifiable (the two log-variances have identical gradients, and the Hessian of any
//! objective is singular along their difference). A [`Product`] therefore asks its factors
//! to become unit-variance shapes ([`Kernel::drop_variance`]) and carries one `variance`
//! of its own: `SquaredExponential × Periodic` has the parameters `variance`,
//! `k0.lengthscale`, `k1.lengthscale`, `k1.period`.
//!
//! # Conventions for the provided methods
//! * `y = None` means `K(X, X)`: `matrix_into` need only write the lower triangle
//!   (`i ≥ j`), and `matrix_pullback` reads the lower triangle of `kbar` as the weight of
//!   the *pair* `{i, j}`, so that a symmetric adjoint `K̄` is passed as
//!   `K̄ᵢⱼ + K̄ⱼᵢ` below the diagonal and `K̄ᵢᵢ` on it ([`fold_symmetric`]).
//! * Pullbacks *add* into the adjoints of [`KernelAdjoints`]: `θ` (natural scale), and
//!   `X`, `Y` (point-major, like [`Inputs`]) when given.
//!
//! # Example
//! ```
//! use mechml_engine::gp::{Inputs, Kernel, KernelExt, Matern32, SquaredExponential, kernel_matrix};
//! let x = Inputs::from_1d(&[0.0, 0.5, 2.0])?;
//! let k = SquaredExponential::isotropic().plus(Matern32::isotropic());
//! assert_eq!(k.layout()?.names(), ["k0.variance", "k0.lengthscale", "k1.variance", "k1.lengthscale"]);
//! let theta = [2.0, 1.0, 1.0, 0.5];
//! let km = kernel_matrix(&k, &theta, &x, None)?;
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
pub use matrix::{fold_symmetric, kernel_diag, kernel_diag_var, kernel_matrix, kernel_matrix_var};
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
use crate::param::{Param, ParamLayout};

/// Where a kernel pullback adds its adjoints: `θ` (natural scale, in the order of
/// [`Kernel::layout`]) and, when wanted, the inputs `X` and `Y` (point-major, `n d` and
/// `m d`).
#[derive(Debug)]
pub struct KernelAdjoints<'a> {
    /// `∂/∂θ`, added into.
    pub theta: &'a mut [f64],
    /// `∂/∂X`, added into (point-major), if wanted.
    pub x: Option<&'a mut [f64]>,
    /// `∂/∂Y`, added into (point-major), if wanted (ignored for `y = None` and for
    /// diagonals: then `x` receives both sides).
    pub y: Option<&'a mut [f64]>,
}

impl<'a> KernelAdjoints<'a> {
    /// Adjoints of `θ`, `X` and `Y`.
    pub fn new(theta: &'a mut [f64], x: Option<&'a mut [f64]>, y: Option<&'a mut [f64]>) -> Self {
        Self { theta, x, y }
    }

    /// Adjoints of `θ` only.
    pub fn theta_only(theta: &'a mut [f64]) -> Self {
        Self {
            theta,
            x: None,
            y: None,
        }
    }

    /// A shorter-lived copy sharing the same buffers.
    pub fn reborrow(&mut self) -> KernelAdjoints<'_> {
        KernelAdjoints {
            theta: &mut *self.theta,
            x: self.x.as_deref_mut(),
            y: self.y.as_deref_mut(),
        }
    }
}

/// A covariance function `k(x, x'; θ)`: the structure of a kernel, evaluated at a
/// hyperparameter vector `θ` on the natural scale.
///
/// Required: [`layout`](Kernel::layout) and [`eval`](Kernel::eval). Everything else has
/// a default (forward-mode dual numbers per matrix entry); override it for speed.
pub trait Kernel: Clone + Debug + Send + Sync + 'static {
    /// The parameters: names (unique; `variance` first where there is one), transforms to
    /// the unconstrained scale and default values. `θ` is ordered as this layout.
    ///
    /// # Errors
    /// When names collide (a user kernel's bug; combinators prefix their parts).
    fn layout(&self) -> Result<ParamLayout>;

    /// Number of parameters (the length of `θ`); override with a cheap count (combinators
    /// call it to split `θ`).
    fn n_params(&self) -> usize {
        self.layout().map_or(0, |l| l.len())
    }

    /// `k(x, y; θ)`, generic over the scalar type (`f64`, dual numbers, tape variables).
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R;

    /// Checks that the kernel can read `d`-dimensional inputs (e.g. an ARD kernel needs
    /// one lengthscale per dimension).
    fn check_dim(&self, d: usize) -> Result<()> {
        let _ = d;
        Ok(())
    }

    /// Makes the kernel a unit-variance shape, for use as a factor of a [`Product`]:
    /// removes its output variance `σ²` (a parameter multiplying the whole kernel) from
    /// `θ`, and returns `true`. A kernel without such a variance (the ARD linear kernel, a
    /// sum) is left unchanged and returns `false`; a product containing one then keeps that
    /// factor's scale instead of a variance of its own.
    fn drop_variance(&mut self) -> bool {
        false
    }

    /// Writes `K(X, Y)` (`n × m`) into `out`; with `y = None`, the lower triangle of
    /// `K(X, X)`.
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, out: MatMut<'_, f64>) {
        dual_path::matrix_into(self, theta, x, y, out);
    }

    /// Adds `Σᵢⱼ K̄ᵢⱼ ∂K(X, Y)ᵢⱼ` into the adjoints of `θ`, `X` and `Y` (see the module
    /// conventions for `y = None`).
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        dual_path::matrix_pullback(self, theta, x, y, kbar, adj);
    }

    /// [`Kernel::matrix_pullback`] for the symmetric `K(X, X)` (`y = None`, pair weights
    /// in the lower triangle of `kbar`), given `kxx`: the lower triangle of `K(X, X)` as
    /// [`Kernel::matrix_into`] wrote it at the same `θ`. A kernel may read its values
    /// instead of recomputing them; the default ignores `kxx`. The result agrees with
    /// [`Kernel::matrix_pullback`] up to rounding. `adj.y` is ignored.
    fn matrix_pullback_sym_with_values(
        &self,
        theta: &[f64],
        x: &Inputs,
        kxx: MatRef<'_, f64>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        let _ = kxx;
        self.matrix_pullback(theta, x, None, kbar, adj);
    }

    /// Writes the diagonal `k(xᵢ, xᵢ)` into `out`.
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        dual_path::diag_into(self, theta, x, out);
    }

    /// Adds `Σᵢ d̄ᵢ ∂k(xᵢ, xᵢ)` into the adjoints of `θ` and `X` (`adj.y` is ignored).
    fn diag_pullback(&self, theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        dual_path::diag_pullback(self, theta, x, dbar, adj);
    }
}

/// `ln v`, checking that `v` is positive and finite (an [`InvalidOption`] naming `what`
/// otherwise).
///
/// [`InvalidOption`]: crate::Error::InvalidOption
pub(crate) fn positive_log(op: &'static str, what: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v.ln())
    } else {
        Err(crate::Error::invalid_option(
            op,
            what,
            v,
            "positive and finite",
        ))
    }
}

/// The names of a vector parameter with `n` entries: `base` when one entry is shared by
/// every dimension (`shared`), else `base[0]`, …, `base[n − 1]`.
pub(crate) fn vector_names(base: &str, n: usize, shared: bool) -> Vec<String> {
    if shared {
        vec![base.to_string()]
    } else {
        (0..n).map(|i| Param::indexed_name(base, i)).collect()
    }
}

/// A layout of positive parameters (log transform) with default value 1.
pub(crate) fn positive_layout(names: Vec<String>) -> Result<ParamLayout> {
    ParamLayout::new(names.into_iter().map(|n| Param::positive(n, 1.0)).collect())
}

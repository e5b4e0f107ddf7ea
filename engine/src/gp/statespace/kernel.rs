//! [`StateSpaceKernel`]: a stationary kernel on 1-D time written as a linear
//! time-invariant SDE (Hartikainen & Särkkä 2010, "Kalman filtering and smoothing solutions
//! to temporal Gaussian process regression models", MLSP; Särkkä & Solin 2019, *Applied
//! Stochastic Differential Equations*, §12.3):
//!
//! ```text
//! dx = F x dt + L dβ,   E[dβ²] = Q_c dt,   f(t) = H x(t),   x(t₀) ~ N(0, P∞),
//! ```
//!
//! with `F P∞ + P∞ Fᵀ + L Q_c Lᵀ = 0`, so that `k(Δ) = H Φ(Δ) P∞ Hᵀ` with
//! `Φ(Δ) = e^{FΔ}`. Between times `Δ` apart the exact discretisation is
//! `x' = Φ(Δ) x + q`, `q ~ N(0, Q(Δ))`, `Q(Δ) = P∞ − Φ(Δ) P∞ Φ(Δ)ᵀ`.
//!
//! Matrices are column-major slices (the convention of [`crate::ssm::dense`]); the
//! hyperparameters `θ` are on their natural scale, in the order of
//! [`StateSpaceKernel::hyperparameters`], and every matrix is generic over [`Real`] so
//! that dual numbers and tapes differentiate it.

use std::fmt::Debug;

use crate::ad::{Dual, Real};
use crate::error::Result;
use crate::param::Param;
use crate::ssm::dense::matmul_into;

/// A kernel with a state-space form (see the [module docs](self)).
///
/// Implemented for [`Matern12`](crate::gp::Matern12), [`Matern32`](crate::gp::Matern32)
/// and [`Matern52`](crate::gp::Matern52) (closed forms in
/// [`matern`](super::matern)); a new kernel supplies `F`, `L`, `Q_c`, `P∞`, `H` and,
/// optionally, a closed-form `Φ(Δ)` (the default is [`expm`](crate::ssm::expm())).
pub trait StateSpaceKernel: Clone + Debug + Send + Sync + 'static {
    /// The state dimension `q`.
    fn state_dim(&self) -> usize;

    /// The hyperparameters in `θ` order, named, with their transforms (positive ones on a
    /// log transform; the values are placeholders that the model's `θ` replaces).
    ///
    /// # Errors
    /// When the kernel has no state-space form as configured (e.g. an ARD kernel with
    /// several lengthscales).
    fn hyperparameters(&self) -> Result<Vec<Param>>;

    /// The feedback matrix `F` (`q × q`).
    fn feedback<R: Real>(&self, theta: &[R]) -> Vec<R>;

    /// The noise effect `L` (`q × 1`).
    fn noise_effect(&self) -> Vec<f64>;

    /// The spectral density `Q_c` of the driving white noise.
    fn spectral_density<R: Real>(&self, theta: &[R]) -> R;

    /// The stationary covariance `P∞` (`q × q`).
    fn stationary_covariance<R: Real>(&self, theta: &[R]) -> Vec<R>;

    /// The observation row `H` (`1 × q`).
    fn observation(&self) -> Vec<f64>;

    /// Writes `Φ(Δ) = e^{FΔ}` (`q × q`) into `out`.
    ///
    /// # Errors
    /// Those of [`expm`](crate::ssm::expm()) (the default).
    fn transition_into<R: Real>(&self, theta: &[R], dt: f64, out: &mut [R]) -> Result<()> {
        let q = self.state_dim();
        let f: Vec<R> = self.feedback(theta).iter().map(|&x| x * dt).collect();
        out[..q * q].copy_from_slice(&crate::ssm::expm(&f, q)?);
        Ok(())
    }

    /// Writes `∂Φ(Δ)/∂θ_j` (`q × q`) into `out[j q² .. (j + 1) q²]` for every
    /// hyperparameter `j`. The default differentiates [`StateSpaceKernel::transition_into`]
    /// with one dual number per hyperparameter.
    ///
    /// # Errors
    /// Those of [`StateSpaceKernel::transition_into`].
    fn transition_derivatives_into(&self, theta: &[f64], dt: f64, out: &mut [f64]) -> Result<()> {
        let q = self.state_dim();
        let mut phi = vec![Dual::constant(0.0); q * q];
        for j in 0..theta.len() {
            let th = seeded(theta, j);
            self.transition_into(&th, dt, &mut phi)?;
            for (o, p) in out[j * q * q..(j + 1) * q * q].iter_mut().zip(&phi) {
                *o = p.tangent();
            }
        }
        Ok(())
    }
}

/// `θ` as dual numbers with the tangent seeded in direction `j`.
pub(crate) fn seeded(theta: &[f64], j: usize) -> Vec<Dual> {
    theta
        .iter()
        .enumerate()
        .map(|(i, &v)| Dual::dual(v, if i == j { 1.0 } else { 0.0 }))
        .collect()
}

/// `Q(Δ) = P∞ − Φ P∞ Φᵀ` (`q × q`, symmetrised) into `out`, with `work` of `q²` entries.
pub fn process_noise_into<R: Real>(phi: &[R], pinf: &[R], q: usize, work: &mut [R], out: &mut [R]) {
    matmul_into(phi, pinf, q, q, q, work);
    for j in 0..q {
        for i in 0..=j {
            let mut s = R::zero();
            for l in 0..q {
                s += work[i + l * q] * phi[j + l * q];
            }
            let v = pinf[i + j * q] - s;
            out[i + j * q] = v;
            out[j + i * q] = v;
        }
    }
}

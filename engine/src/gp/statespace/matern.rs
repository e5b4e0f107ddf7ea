//! The state-space forms of the Matérn kernels `ν ∈ {1/2, 3/2, 5/2}` (Hartikainen &
//! Särkkä 2010; Särkkä & Solin 2019, §12.3; Solin 2016, PhD thesis, Table 4.1).
//!
//! For `ν = p + 1/2` and `λ = √(2ν)/ℓ` the state `x = (f, f', …, f⁽ᵖ⁾)` obeys
//! `dx = F x dt + L dβ` with the companion matrix `F` of `(s + λ)^{p+1}`, `L = (0, …, 0, 1)ᵀ`,
//! `H = (1, 0, …)` and the spectral density
//! `Q_c = 2σ² √π λ^{2p+1} Γ(p + 1) / Γ(p + 1/2)`:
//!
//! ```text
//! ν = 1/2:  F = −λ,                                  Q_c = 2σ²λ,        P∞ = σ²
//! ν = 3/2:  F = [[0, 1], [−λ², −2λ]],                Q_c = 4σ²λ³,       P∞ = diag(σ², λ²σ²)
//! ν = 5/2:  F = [[0, 1, 0], [0, 0, 1], [−λ³, −3λ², −3λ]],  Q_c = 16σ²λ⁵/3,
//!           P∞ = [[σ², 0, −κ], [0, κ, 0], [−κ, 0, λ⁴σ²]],  κ = λ²σ²/3.
//! ```
//!
//! Since `N = F + λI` is nilpotent, `Φ(Δ) = e^{FΔ} = e^{−λΔ} (I + Δ N + Δ² N² / 2)` exactly.
//! Hyperparameters `θ = (σ², ℓ)`, named `"variance"` and `"lengthscale"` (the order of
//! the stationary kernels' layouts, variance first).

use serde::{Deserialize, Serialize};

use super::kernel::StateSpaceKernel;
use crate::ad::{Dual, Real};
use crate::error::{Error, Result};
use crate::gp::{Matern12, Matern32, Matern52};
use crate::param::Param;

/// The smoothness of a Matérn kernel `ν ∈ {1/2, 3/2, 5/2}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaternOrder {
    /// `ν = 1/2` (Ornstein–Uhlenbeck), state dimension 1.
    Half,
    /// `ν = 3/2`, state dimension 2.
    ThreeHalves,
    /// `ν = 5/2`, state dimension 3.
    FiveHalves,
}

impl MaternOrder {
    /// The state dimension `p + 1`.
    pub fn state_dim(self) -> usize {
        match self {
            MaternOrder::Half => 1,
            MaternOrder::ThreeHalves => 2,
            MaternOrder::FiveHalves => 3,
        }
    }

    /// `√(2ν)`.
    pub fn sqrt_2nu(self) -> f64 {
        match self {
            MaternOrder::Half => 1.0,
            MaternOrder::ThreeHalves => 3f64.sqrt(),
            MaternOrder::FiveHalves => 5f64.sqrt(),
        }
    }

    /// `λ = √(2ν)/ℓ` from `θ = (σ², ℓ)`.
    fn rate<R: Real>(self, theta: &[R]) -> R {
        theta[1].recip() * self.sqrt_2nu()
    }

    /// `F` (`q × q`, column-major) from `θ = (σ², ℓ)`.
    pub fn feedback<R: Real>(self, theta: &[R]) -> Vec<R> {
        let lam = self.rate(theta);
        let q = self.state_dim();
        let mut f = vec![R::zero(); q * q];
        match self {
            MaternOrder::Half => f[0] = -lam,
            MaternOrder::ThreeHalves => {
                f[2] = R::one();
                f[1] = -(lam * lam);
                f[3] = lam * -2.0;
            }
            MaternOrder::FiveHalves => {
                f[3] = R::one();
                f[7] = R::one();
                f[2] = -(lam * lam * lam);
                f[5] = lam * lam * -3.0;
                f[8] = lam * -3.0;
            }
        }
        f
    }

    /// `Q_c` from `θ = (σ², ℓ)`.
    pub fn spectral_density<R: Real>(self, theta: &[R]) -> R {
        let lam = self.rate(theta);
        let s2 = theta[0];
        match self {
            MaternOrder::Half => s2 * lam * 2.0,
            MaternOrder::ThreeHalves => s2 * lam * lam * lam * 4.0,
            MaternOrder::FiveHalves => s2 * lam.powi(5) * (16.0 / 3.0),
        }
    }

    /// `P∞` (`q × q`, column-major) from `θ = (σ², ℓ)`.
    pub fn stationary_covariance<R: Real>(self, theta: &[R]) -> Vec<R> {
        let lam = self.rate(theta);
        let s2 = theta[0];
        let q = self.state_dim();
        let mut p = vec![R::zero(); q * q];
        match self {
            MaternOrder::Half => p[0] = s2,
            MaternOrder::ThreeHalves => {
                p[0] = s2;
                p[3] = lam * lam * s2;
            }
            MaternOrder::FiveHalves => {
                let kappa = lam * lam * s2 / 3.0;
                p[0] = s2;
                p[4] = kappa;
                p[6] = -kappa;
                p[2] = -kappa;
                p[8] = lam.powi(4) * s2;
            }
        }
        p
    }

    /// `Φ(Δ) = e^{−λΔ} (I + Δ N + Δ² N²/2)`, `N = F + λI`, into `out` (`q × q`), with
    /// `N` and `N²` written out:
    ///
    /// ```text
    /// ν = 3/2:  N = [[λ, 1], [−λ², −λ]],  N² = 0
    /// ν = 5/2:  N = [[λ, 1, 0], [0, λ, 1], [−λ³, −3λ², −2λ]],
    ///           N² = [[λ², 2λ, 1], [−λ³, −2λ², −λ], [λ⁴, 2λ³, λ²]]
    /// ```
    #[inline]
    pub fn transition_into<R: Real>(self, theta: &[R], dt: f64, out: &mut [R]) {
        let lam = self.rate(theta);
        let e = (lam * -dt).exp();
        match self {
            MaternOrder::Half => out[0] = e,
            MaternOrder::ThreeHalves => {
                let ld = lam * dt;
                out[0] = (ld + 1.0) * e;
                out[1] = -(lam * ld) * e;
                out[2] = e * dt;
                out[3] = (R::one() - ld) * e;
            }
            MaternOrder::FiveHalves => {
                let h = 0.5 * dt * dt;
                let l2 = lam * lam;
                let l3 = l2 * lam;
                // Column-major: out[i + 3 j] = e (δᵢⱼ + Δ Nᵢⱼ + Δ²/2 N²ᵢⱼ).
                out[0] = (lam * dt + l2 * h + 1.0) * e;
                out[1] = (-l3 * h) * e;
                out[2] = (-l3 * dt + l2 * l2 * h) * e;
                out[3] = (lam * (2.0 * h) + dt) * e;
                out[4] = (lam * dt - l2 * (2.0 * h) + 1.0) * e;
                out[5] = (l2 * (-3.0 * dt) + l3 * (2.0 * h)) * e;
                out[6] = e * h;
                out[7] = (R::from_f64(dt) - lam * h) * e;
                out[8] = (lam * (-2.0 * dt) + l2 * h + 1.0) * e;
            }
        }
    }
}

impl MaternOrder {
    /// `∂Φ(Δ)/∂σ² = 0` and `∂Φ(Δ)/∂ℓ` into `out` (`2 q²`, in `θ` order): `Φ` depends
    /// on `θ` through `λ = √(2ν)/ℓ` only, so one dual number in `ℓ` gives both.
    pub fn transition_derivatives_into(self, theta: &[f64], dt: f64, out: &mut [f64]) {
        let q = self.state_dim();
        let th = [Dual::constant(theta[0]), Dual::dual(theta[1], 1.0)];
        let mut phi = [Dual::constant(0.0); 9];
        self.transition_into(&th, dt, &mut phi[..q * q]);
        out[..q * q].fill(0.0);
        for (o, p) in out[q * q..2 * q * q].iter_mut().zip(&phi) {
            *o = p.tangent();
        }
    }
}

/// The hyperparameters `(σ², ℓ)` of a Matérn kernel with a state-space form (unit
/// starting values; the model's `θ` sets them): an isotropic kernel with its own variance.
fn matern_hyperparameters(n_lengthscales: usize, has_variance: bool) -> Result<Vec<Param>> {
    if n_lengthscales != 1 {
        return Err(Error::invalid_option(
            "StateSpaceKernel",
            "lengthscales",
            format!("{n_lengthscales} lengthscales"),
            "one lengthscale (time is one-dimensional)",
        ));
    }
    if !has_variance {
        return Err(Error::invalid_option(
            "StateSpaceKernel",
            "variance",
            "a unit-variance factor",
            "a kernel with its own variance",
        ));
    }
    Ok(vec![
        Param::positive("variance", 1.0),
        Param::positive("lengthscale", 1.0),
    ])
}

macro_rules! matern_state_space {
    ($kernel:ty, $order:expr) => {
        impl StateSpaceKernel for $kernel {
            fn state_dim(&self) -> usize {
                $order.state_dim()
            }
            fn hyperparameters(&self) -> Result<Vec<Param>> {
                matern_hyperparameters(self.n_lengthscales(), self.has_variance())
            }
            fn feedback<R: Real>(&self, theta: &[R]) -> Vec<R> {
                $order.feedback(theta)
            }
            fn noise_effect(&self) -> Vec<f64> {
                let mut l = vec![0.0; $order.state_dim()];
                if let Some(last) = l.last_mut() {
                    *last = 1.0;
                }
                l
            }
            fn spectral_density<R: Real>(&self, theta: &[R]) -> R {
                $order.spectral_density(theta)
            }
            fn stationary_covariance<R: Real>(&self, theta: &[R]) -> Vec<R> {
                $order.stationary_covariance(theta)
            }
            fn observation(&self) -> Vec<f64> {
                let mut h = vec![0.0; $order.state_dim()];
                h[0] = 1.0;
                h
            }
            fn transition_into<R: Real>(&self, theta: &[R], dt: f64, out: &mut [R]) -> Result<()> {
                $order.transition_into(theta, dt, out);
                Ok(())
            }
            fn transition_derivatives_into(
                &self,
                theta: &[f64],
                dt: f64,
                out: &mut [f64],
            ) -> Result<()> {
                $order.transition_derivatives_into(theta, dt, out);
                Ok(())
            }
        }
    };
}

matern_state_space!(Matern12, MaternOrder::Half);
matern_state_space!(Matern32, MaternOrder::ThreeHalves);
matern_state_space!(Matern52, MaternOrder::FiveHalves);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssm::expm;

    const ORDERS: [MaternOrder; 3] = [
        MaternOrder::Half,
        MaternOrder::ThreeHalves,
        MaternOrder::FiveHalves,
    ];

    #[test]
    fn stationary_covariance_solves_the_lyapunov_equation() {
        // F P∞ + P∞ Fᵀ + L Q_c Lᵀ = 0 (Särkkä & Solin 2019, eq. 6.69).
        for order in ORDERS {
            let theta = [1.9, 0.7];
            let q = order.state_dim();
            let f = order.feedback(&theta);
            let p = order.stationary_covariance(&theta);
            let qc = order.spectral_density(&theta);
            let scale = p.iter().fold(0.0f64, |a, b| a.max(b.abs()));
            for j in 0..q {
                for i in 0..q {
                    let mut v = 0.0;
                    for l in 0..q {
                        v += f[i + l * q] * p[l + j * q] + p[i + l * q] * f[j + l * q];
                    }
                    if i == q - 1 && j == q - 1 {
                        v += qc;
                    }
                    assert!(v.abs() < 1e-12 * scale * 10.0, "{order:?} ({i}, {j}): {v}");
                }
            }
        }
    }

    #[test]
    fn closed_form_transition_is_the_matrix_exponential() {
        for order in ORDERS {
            let theta = [1.9, 0.7];
            let q = order.state_dim();
            for dt in [0.0, 0.01, 0.3, 1.0, 5.0] {
                let fdt: Vec<f64> = order.feedback(&theta).iter().map(|x| x * dt).collect();
                let e = expm(&fdt, q).unwrap();
                let mut phi = vec![0.0; q * q];
                order.transition_into(&theta, dt, &mut phi);
                for k in 0..q * q {
                    assert!(
                        (phi[k] - e[k]).abs() < 1e-13 * e[k].abs().max(1.0),
                        "{order:?} Δ = {dt} entry {k}: {} vs {}",
                        phi[k],
                        e[k]
                    );
                }
            }
        }
    }

    #[test]
    fn transition_derivatives_match_finite_differences() {
        for order in ORDERS {
            let q = order.state_dim();
            let theta = [1.9, 0.7];
            let dt = 0.4;
            let mut d = vec![0.0; 2 * q * q];
            order.transition_derivatives_into(&theta, dt, &mut d);
            let h = 1e-6;
            let mut plus = vec![0.0; q * q];
            let mut minus = vec![0.0; q * q];
            order.transition_into(&[theta[0], theta[1] + h], dt, &mut plus);
            order.transition_into(&[theta[0], theta[1] - h], dt, &mut minus);
            for k in 0..q * q {
                let fd = (plus[k] - minus[k]) / (2.0 * h);
                assert!(
                    (d[q * q + k] - fd).abs() < 1e-8,
                    "{order:?} entry {k}: {} vs {fd}",
                    d[q * q + k]
                );
                assert_eq!(d[k], 0.0);
            }
        }
    }
}

//! Matérn covariances as linear time-invariant SDEs (Hartikainen & Särkkä 2010, "Kalman
//! filtering and smoothing solutions to temporal Gaussian process regression models",
//! MLSP; Särkkä & Solin 2019, *Applied Stochastic Differential Equations*, §12.3).
//!
//! For `ν = p + 1/2` and `λ = √(2ν)/ℓ` the state `x = (f, f', …, f⁽ᵖ⁾)` obeys
//! `dx = F x dt + L dβ` with the companion matrix `F` of `(s + λ)^{p+1}`, and `f(t) = H x(t)`,
//! `H = (1, 0, …)`. Between observations `Δ` apart the exact discretisation is
//!
//! ```text
//! x_{k+1} = Φ(Δ) x_k + q_k,   q_k ~ N(0, Q(Δ)),   Q(Δ) = P∞ − Φ(Δ) P∞ Φ(Δ)ᵀ
//! ```
//!
//! with the stationary covariance `P∞`. Since `F + λI` is nilpotent,
//! `Φ(Δ) = e^{−λΔ} (I + Δ N + Δ² N² / 2)` with `N = F + λI` exactly. The stationary
//! covariances (Solin 2016, PhD thesis, Table 4.1):
//!
//! ```text
//! ν = 1/2:  P∞ = σ²
//! ν = 3/2:  P∞ = diag(σ², λ²σ²)
//! ν = 5/2:  P∞ = [[σ², 0, −κ], [0, κ, 0], [−κ, 0, λ⁴σ²]],  κ = λ²σ²/3
//! ```

use serde::{Deserialize, Serialize};

use crate::ad::Real;

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
}

/// A `q × q` matrix (`q ≤ 3`) in a fixed array.
pub type Small<R> = [[R; 3]; 3];

/// The zero matrix.
pub fn zeros<R: Real>() -> Small<R> {
    [[R::zero(); 3]; 3]
}

/// `A B` for `q × q` matrices.
pub fn mul<R: Real>(q: usize, a: &Small<R>, b: &Small<R>) -> Small<R> {
    let mut c = zeros();
    for i in 0..q {
        for j in 0..q {
            let mut s = R::zero();
            for k in 0..q {
                s += a[i][k] * b[k][j];
            }
            c[i][j] = s;
        }
    }
    c
}

/// `A B Aᵀ`.
pub fn sandwich<R: Real>(q: usize, a: &Small<R>, b: &Small<R>) -> Small<R> {
    let ab = mul(q, a, b);
    let mut c = zeros();
    for i in 0..q {
        for j in 0..q {
            let mut s = R::zero();
            for k in 0..q {
                s += ab[i][k] * a[j][k];
            }
            c[i][j] = s;
        }
    }
    c
}

/// `(λ, P∞)` for lengthscale `ℓ = e^{log_l}` and variance `σ² = e^{log_s2}`.
pub fn stationary<R: Real>(order: MaternOrder, log_l: R, log_s2: R) -> (R, Small<R>) {
    let lam = (-log_l).exp() * order.sqrt_2nu();
    let s2 = log_s2.exp();
    let mut p = zeros();
    match order {
        MaternOrder::Half => p[0][0] = s2,
        MaternOrder::ThreeHalves => {
            p[0][0] = s2;
            p[1][1] = lam * lam * s2;
        }
        MaternOrder::FiveHalves => {
            let kappa = lam * lam * s2 / 3.0;
            p[0][0] = s2;
            p[1][1] = kappa;
            p[0][2] = -kappa;
            p[2][0] = -kappa;
            p[2][2] = lam.powi(4) * s2;
        }
    }
    (lam, p)
}

/// `Φ(Δ) = e^{−λΔ} (I + Δ N + Δ² N²/2)`, `N = F + λI`.
pub fn transition<R: Real>(order: MaternOrder, lam: R, dt: f64) -> Small<R> {
    let q = order.state_dim();
    let e = (lam * -dt).exp();
    let mut n: Small<R> = zeros();
    match order {
        MaternOrder::Half => {}
        MaternOrder::ThreeHalves => {
            n[0][0] = lam;
            n[0][1] = R::one();
            n[1][0] = -(lam * lam);
            n[1][1] = -lam;
        }
        MaternOrder::FiveHalves => {
            n[0][0] = lam;
            n[0][1] = R::one();
            n[1][1] = lam;
            n[1][2] = R::one();
            n[2][0] = -(lam * lam * lam);
            n[2][1] = lam * lam * -3.0;
            n[2][2] = lam * -2.0;
        }
    }
    let n2 = mul(q, &n, &n);
    let mut phi = zeros();
    for i in 0..q {
        for j in 0..q {
            let id = if i == j { 1.0 } else { 0.0 };
            phi[i][j] = (n[i][j] * dt + n2[i][j] * (0.5 * dt * dt) + id) * e;
        }
    }
    phi
}

//! Reference problems, shared by the tests, the benchmarks and the examples: the
//! workloads of `WORKLOADS.md` (Lorenz-63, Robertson, Lorenz-96, Lotka–Volterra) and
//! problems of the Hairer–Wanner stiff test set (Van der Pol, HIRES, OREGO).
//!
//! Each is an [`OdeRhs`] whose parameters are the problem's constants, so gradients with
//! respect to them come for free.

use faer::MatMut;

use super::problem::OdeRhs;
use crate::ad::Real;

/// Lorenz (1963): `x' = σ(y − x)`, `y' = x(ρ − z) − y`, `z' = xy − βz`; `p = (σ, ρ, β)`
/// (classically `(10, 28, 8/3)`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Lorenz63;

impl OdeRhs for Lorenz63 {
    fn n_states(&self) -> usize {
        3
    }
    fn n_params(&self) -> usize {
        3
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
        dy[0] = p[0] * (y[1] - y[0]);
        dy[1] = y[0] * (p[1] - y[2]) - y[1];
        dy[2] = y[0] * y[1] - p[2] * y[2];
    }
}

/// Robertson's chemical kinetics (Robertson 1966; Hairer & Wanner 1996, IV.1, (1.3)):
/// `y₁' = −k₁y₁ + k₃y₂y₃`, `y₂' = k₁y₁ − k₃y₂y₃ − k₂y₂²`, `y₃' = k₂y₂²`;
/// `p = (k₁, k₂, k₃) = (0.04, 3e7, 1e4)`. With the analytic Jacobian.
#[derive(Clone, Copy, Debug, Default)]
pub struct Robertson;

impl OdeRhs for Robertson {
    fn n_states(&self) -> usize {
        3
    }
    fn n_params(&self) -> usize {
        3
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
        let r1 = p[0] * y[0];
        let r2 = p[1] * y[1] * y[1];
        let r3 = p[2] * y[1] * y[2];
        dy[0] = r3 - r1;
        dy[1] = r1 - r3 - r2;
        dy[2] = r2;
    }
    fn jacobian(&self, _t: f64, y: &[f64], p: &[f64], mut jac: MatMut<'_, f64>) {
        let (k1, k2, k3) = (p[0], p[1], p[2]);
        jac[(0, 0)] = -k1;
        jac[(0, 1)] = k3 * y[2];
        jac[(0, 2)] = k3 * y[1];
        jac[(1, 0)] = k1;
        jac[(1, 1)] = -k3 * y[2] - 2.0 * k2 * y[1];
        jac[(1, 2)] = -k3 * y[1];
        jac[(2, 0)] = 0.0;
        jac[(2, 1)] = 2.0 * k2 * y[1];
        jac[(2, 2)] = 0.0;
    }
}

/// Lorenz (1996): `xᵢ' = (x_{i+1} − x_{i−2}) x_{i−1} − xᵢ + F` (indices mod `n`);
/// `p = (F)`.
#[derive(Clone, Copy, Debug)]
pub struct Lorenz96 {
    /// Number of sites.
    pub n: usize,
}

impl OdeRhs for Lorenz96 {
    fn n_states(&self) -> usize {
        self.n
    }
    fn n_params(&self) -> usize {
        1
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, x: &[R], p: &[R], dy: &mut [R]) {
        let n = self.n;
        let term =
            |ip1: usize, im1: usize, im2: usize, i: usize| (x[ip1] - x[im2]) * x[im1] - x[i] + p[0];
        if n < 4 {
            for i in 0..n {
                dy[i] = term((i + 1) % n, (i + n - 1) % n, (i + n - 2) % n, i);
            }
            return;
        }
        // Branch-free interior, wrapped ends.
        dy[0] = term(1, n - 1, n - 2, 0);
        dy[1] = term(2, 0, n - 1, 1);
        for i in 2..n - 1 {
            dy[i] = (x[i + 1] - x[i - 2]) * x[i - 1] - x[i] + p[0];
        }
        dy[n - 1] = term(0, n - 2, n - 3, n - 1);
    }
}

/// Lotka–Volterra: `x' = αx − βxy`, `y' = δxy − γy`; `p = (α, β, γ, δ)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LotkaVolterra;

impl OdeRhs for LotkaVolterra {
    fn n_states(&self) -> usize {
        2
    }
    fn n_params(&self) -> usize {
        4
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
        dy[0] = p[0] * y[0] - p[1] * y[0] * y[1];
        dy[1] = p[3] * y[0] * y[1] - p[2] * y[1];
    }
}

/// Van der Pol's oscillator `y₁' = y₂`, `y₂' = μ(1 − y₁²)y₂ − y₁`; `p = (μ)`, stiff for
/// large `μ` (Hairer & Wanner 1996, IV.1, (1.5)).
#[derive(Clone, Copy, Debug, Default)]
pub struct VanDerPol;

impl OdeRhs for VanDerPol {
    fn n_states(&self) -> usize {
        2
    }
    fn n_params(&self) -> usize {
        1
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
        dy[0] = y[1];
        dy[1] = p[0] * (R::one() - y[0] * y[0]) * y[1] - y[0];
    }
}

/// HIRES, a plant-physiology model with 8 species (Schäfer 1975; the test set's HIRES,
/// Hairer & Wanner 1996, IV.10): on `[0, 321.8122]` from
/// `y₀ = (1, 0, 0, 0, 0, 0, 0, 0.0057)`. No parameters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hires;

impl OdeRhs for Hires {
    fn n_states(&self) -> usize {
        8
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, y: &[R], _p: &[R], f: &mut [R]) {
        f[0] = y[0] * -1.71 + y[1] * 0.43 + y[2] * 8.32 + 0.0007;
        f[1] = y[0] * 1.71 - y[1] * 8.75;
        f[2] = y[2] * -10.03 + y[3] * 0.43 + y[4] * 0.035;
        f[3] = y[1] * 8.32 + y[2] * 1.71 - y[3] * 1.12;
        f[4] = y[4] * -1.745 + (y[5] + y[6]) * 0.43;
        let r = y[5] * y[7] * 280.0;
        f[5] = -r + y[3] * 0.69 + y[4] * 1.71 - y[5] * 0.43 + y[6] * 0.69;
        f[6] = r - y[6] * 1.81;
        f[7] = -f[6];
    }
}

/// OREGO, the Oregonator model of the Belousov–Zhabotinskii reaction (Field & Noyes
/// 1974; the test set's OREGO, Hairer & Wanner 1996, IV.1, (1.4)): on `[0, 360]` from
/// `y₀ = (1, 2, 3)`. No parameters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Orego;

impl OdeRhs for Orego {
    fn n_states(&self) -> usize {
        3
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, y: &[R], _p: &[R], f: &mut [R]) {
        let (s, w, q) = (77.27, 0.161, 8.375e-6);
        f[0] = (y[1] - y[0] * y[1] + y[0] - y[0] * y[0] * q) * s;
        f[1] = (-y[1] - y[0] * y[1] + y[2]) / s;
        f[2] = (y[0] - y[2]) * w;
    }
}

/// A linear system `y' = A y` with `A` given column-major as the parameters (`n²` of
/// them): its solution is `exp(tA) y₀`.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    /// Dimension.
    pub n: usize,
}

impl OdeRhs for Linear {
    fn n_states(&self) -> usize {
        self.n
    }
    fn n_params(&self) -> usize {
        self.n * self.n
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
        let n = self.n;
        for (i, d) in dy.iter_mut().enumerate() {
            let mut s = R::zero();
            for j in 0..n {
                s += p[i + j * n] * y[j];
            }
            *d = s;
        }
    }
}

/// Logistic growth `y' = r y (1 − y/K)`; `p = (r, K)`; solution
/// `K / (1 + (K/y₀ − 1) e^{−rt})`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Logistic;

impl OdeRhs for Logistic {
    fn n_states(&self) -> usize {
        1
    }
    fn n_params(&self) -> usize {
        2
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
        dy[0] = p[0] * y[0] * (R::one() - y[0] / p[1]);
    }
}

/// A nonlinear, non-autonomous system with the manufactured solution
/// `y(t) = (cos t, sin t)`: `y₁' = y₁y₂ − sin t − cos t sin t`,
/// `y₂' = −y₁² + cos t + cos² t`, from `y₀ = (1, 0)` at `t = 0`. Used for convergence
/// orders: every elementary differential is exercised and the exact solution is known.
#[derive(Clone, Copy, Debug, Default)]
pub struct Manufactured;

impl OdeRhs for Manufactured {
    fn n_states(&self) -> usize {
        2
    }
    #[inline]
    fn rhs<R: Real>(&self, t: R, y: &[R], _p: &[R], dy: &mut [R]) {
        let (s, c) = (t.sin(), t.cos());
        dy[0] = y[0] * y[1] - s - c * s;
        dy[1] = -(y[0] * y[0]) + c + c * c;
    }
}

/// The Kepler problem `q'' = −q/|q|³` as a first-order system `y = (q₁, q₂, q₁', q₂')`
/// (Hairer, Nørsett & Wanner 1993, II.10): with [`Kepler::exact`]'s initial value it
/// is an ellipse of eccentricity `e` and period 2π, known in closed form through
/// Kepler's equation. No parameters.
#[derive(Clone, Copy, Debug)]
pub struct Kepler {
    /// Eccentricity (0 ≤ e < 1).
    pub e: f64,
}

impl Kepler {
    /// The exact solution at `t` (Newton on Kepler's equation `E − e sin E = t`).
    pub fn exact(&self, t: f64) -> [f64; 4] {
        let e = self.e;
        let mut ea = t;
        for _ in 0..60 {
            let d = (ea - e * ea.sin() - t) / (1.0 - e * ea.cos());
            ea -= d;
            if d.abs() < 1e-16 * (1.0 + ea.abs()) {
                break;
            }
        }
        let (s, c) = (ea.sin(), ea.cos());
        let b = (1.0 - e * e).sqrt();
        let edot = 1.0 / (1.0 - e * c);
        [c - e, b * s, -s * edot, b * c * edot]
    }
}

impl OdeRhs for Kepler {
    fn n_states(&self) -> usize {
        4
    }
    #[inline]
    fn rhs<R: Real>(&self, _t: R, y: &[R], _p: &[R], dy: &mut [R]) {
        let r2 = y[0] * y[0] + y[1] * y[1];
        let r3 = r2 * r2.sqrt();
        dy[0] = y[2];
        dy[1] = y[3];
        dy[2] = -y[0] / r3;
        dy[3] = -y[1] / r3;
    }
}

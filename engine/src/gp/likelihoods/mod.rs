//! Observation models `p(y | f)` for variational GPs, with their variational expectations
//! `E_{q(f)}[log p(y | f)]` under `q(f) = N(μ, v)` (Hensman, Matthews & Ghahramani 2015,
//! AISTATS, eq. 13).
//!
//! A likelihood implements [`Likelihood`]: the layout of its parameters `φ` (names,
//! transforms, defaults; the values, natural scale, are held by the model after the
//! kernel's, e.g. `noise_variance` of [`Gaussian`]) and `log_density`, generic over
//! [`Real`]. The expectation and its derivatives in `μ`, `v` and
//! `φ` then come from Gauss–Hermite quadrature ([`GaussHermite`]) with forward-mode dual
//! numbers at each node:
//!
//! ```text
//! E   = Σ_k ω_k ℓ(f_k),            f_k = μ + √(2v) x_k,  ω_k = w_k / √π
//! ∂E/∂μ = Σ_k ω_k ℓ'(f_k),  ∂E/∂v = Σ_k ω_k ℓ'(f_k) x_k / √(2v)
//! ```
//!
//! The Gaussian likelihood overrides this with its closed form.

mod bernoulli;
mod gaussian;
mod poisson;
mod student_t;

pub use bernoulli::{Bernoulli, Link};
pub use gaussian::Gaussian;
pub use poisson::Poisson;
pub use student_t::StudentT;

use std::fmt::Debug;

use super::quadrature::GaussHermite;
use crate::ad::{DualN, Real};
use crate::error::{Error, Result};
use crate::param::ParamLayout;

/// Most likelihood parameters supported by the default (dual-number) derivatives.
pub const MAX_LIKELIHOOD_PARAMS: usize = 7;

/// An observation model `p(y | f; φ)` (structure; the parameters `φ`, natural scale,
/// are passed to every method).
pub trait Likelihood: Clone + Debug + Send + Sync + 'static {
    /// The parameters: names, transforms and defaults (at most
    /// [`MAX_LIKELIHOOD_PARAMS`]).
    ///
    /// # Errors
    /// When names collide.
    fn layout(&self) -> Result<ParamLayout>;
    /// Number of parameters.
    fn n_params(&self) -> usize {
        self.layout().map_or(0, |l| l.len())
    }
    /// `log p(y | f; φ)`.
    fn log_density<R: Real>(&self, phi: &[R], y: f64, f: R) -> R;
    /// `E[y | f]` and `Var[y | f]`.
    fn conditional_mean_var(&self, phi: &[f64], f: f64) -> (f64, f64);

    /// Checks one observation (default: finite).
    fn check_observation(&self, y: f64) -> Result<()> {
        if y.is_finite() {
            Ok(())
        } else {
            Err(Error::NonFinite {
                op: "likelihood",
                index: 0,
                value: y,
                context: "observation".into(),
            })
        }
    }

    /// `E_{N(f | μ, v)}[log p(y | f)]`, returning `(E, ∂E/∂μ, ∂E/∂v)` and adding
    /// `∂E/∂φ` into `dphi`.
    fn variational_expectation(
        &self,
        phi: &[f64],
        y: f64,
        mu: f64,
        var: f64,
        quad: &GaussHermite,
        dphi: &mut [f64],
    ) -> (f64, f64, f64) {
        quadrature_expectation(self, phi, y, Marginal { mu, var }, quad, dphi)
    }

    /// Predictive mean and variance of `y` when `f ~ N(μ, v)`:
    /// `E[y] = E[E[y|f]]`, `Var[y] = E[Var[y|f]] + Var[E[y|f]]`.
    fn predict_mean_var(&self, phi: &[f64], mu: f64, var: f64, quad: &GaussHermite) -> (f64, f64) {
        let m = quad.expect(mu, var, |f| self.conditional_mean_var(phi, f).0);
        let m2 = quad.expect(mu, var, |f| self.conditional_mean_var(phi, f).0.powi(2));
        let ev = quad.expect(mu, var, |f| self.conditional_mean_var(phi, f).1);
        (m, ev + (m2 - m * m).max(0.0))
    }
}

/// `ℓ(f)`, `∂ℓ/∂f` and `∂ℓ/∂φ` at one point by forward mode (direction 0 is `f`).
fn density_grad<L: Likelihood>(l: &L, phi: &[f64], y: f64, f: f64, dphi: &mut [f64]) -> (f64, f64) {
    const C: usize = MAX_LIKELIHOOD_PARAMS + 1;
    let ph: Vec<DualN<C>> = phi
        .iter()
        .enumerate()
        .map(|(k, &v)| DualN::seed(v, k + 1))
        .collect();
    let v = l.log_density(&ph, y, DualN::seed(f, 0));
    for (k, d) in dphi.iter_mut().enumerate() {
        *d = v.d[k + 1];
    }
    (v.v, v.d[0])
}

/// A Gaussian marginal `q(f) = N(μ, v)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Marginal {
    pub mu: f64,
    pub var: f64,
}

/// The quadrature of the module docs.
pub(crate) fn quadrature_expectation<L: Likelihood>(
    l: &L,
    phi: &[f64],
    y: f64,
    q: Marginal,
    quad: &GaussHermite,
    dphi: &mut [f64],
) -> (f64, f64, f64) {
    let Marginal { mu, var } = q;
    let var = var.max(0.0);
    let s = (2.0 * var).sqrt();
    let norm = 0.5 * std::f64::consts::FRAC_2_SQRT_PI;
    let mut tmp = [0.0; MAX_LIKELIHOOD_PARAMS];
    let p = phi.len().min(MAX_LIKELIHOOD_PARAMS);
    let (mut e, mut dmu, mut dv_acc) = (0.0, 0.0, 0.0);
    for (x, wk) in quad.nodes().iter().zip(quad.weights()) {
        let om = wk * norm;
        let (lv, lf) = density_grad(l, phi, y, mu + s * x, &mut tmp[..p]);
        e += om * lv;
        dmu += om * lf;
        dv_acc += om * lf * x;
        for k in 0..p {
            dphi[k] += om * tmp[k];
        }
    }
    let dvar = if var > 1e-10 {
        dv_acc / s
    } else {
        // v → 0: ∂E/∂v → ½ ℓ''(μ) (Opper & Archambeau 2009, eq. 10), by a central
        // difference of ℓ'.
        let h = 1e-4 * mu.abs().max(1.0);
        let (_, lp) = density_grad(l, phi, y, mu + h, &mut tmp[..p]);
        let (_, lm) = density_grad(l, phi, y, mu - h, &mut tmp[..p]);
        0.25 * (lp - lm) / h
    };
    (e, dmu, dvar)
}

/// `ln Φ(z)` for the probit link, accurate in the far left tail.
pub(crate) fn log_normal_cdf<R: Real>(z: R) -> R {
    if z.value() > -20.0 {
        z.normal_cdf().ln()
    } else {
        // ln Φ(z) = −z²/2 − ln(−z) − ½ ln 2π + ln(1 − 1/z² + 3/z⁴ − 15/z⁶) (A&S 26.2.12).
        let z2 = z * z;
        let inv = z2.recip();
        z2 * -0.5 - (-z).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (R::one() - inv + inv * inv * 3.0 - inv * inv * inv * 15.0).ln()
    }
}

//! Gaussian noise `y = f + ε`, `ε ~ N(0, σ²)`, with the closed-form expectation
//! `E[log p] = −½ log 2πσ² − ((y − μ)² + v) / (2σ²)` and
//! `∂E/∂σ² = −1/(2σ²) + ((y − μ)² + v) / (2σ⁴)`.

use serde::{Deserialize, Serialize};

use super::Likelihood;
use crate::ad::Real;
use crate::error::Result;
use crate::gp::quadrature::GaussHermite;
use crate::param::{Param, ParamLayout};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Gaussian likelihood; parameter `noise_variance` (`σ²`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Gaussian;

impl Gaussian {
    /// The Gaussian likelihood (its variance is the parameter `noise_variance`).
    pub fn new() -> Self {
        Self
    }
}

impl Likelihood for Gaussian {
    fn layout(&self) -> Result<ParamLayout> {
        ParamLayout::new(vec![Param::positive("noise_variance", 1.0)])
    }
    fn n_params(&self) -> usize {
        1
    }
    fn log_density<R: Real>(&self, phi: &[R], y: f64, f: R) -> R {
        let s = phi[0];
        (s.ln() + LN_2PI) * -0.5 - (f - y).square() / (s * 2.0)
    }
    fn conditional_mean_var(&self, phi: &[f64], f: f64) -> (f64, f64) {
        (f, phi[0])
    }
    fn variational_expectation(
        &self,
        phi: &[f64],
        y: f64,
        mu: f64,
        var: f64,
        _quad: &GaussHermite,
        dphi: &mut [f64],
    ) -> (f64, f64, f64) {
        let s = phi[0];
        let r2 = (y - mu) * (y - mu) + var;
        dphi[0] += (-0.5 + r2 / (2.0 * s)) / s;
        (
            -0.5 * (LN_2PI + s.ln()) - r2 / (2.0 * s),
            (y - mu) / s,
            -0.5 / s,
        )
    }
    fn predict_mean_var(&self, phi: &[f64], mu: f64, var: f64, _: &GaussHermite) -> (f64, f64) {
        (mu, var + phi[0])
    }
}

//! Gaussian noise `y = f + ε`, `ε ~ N(0, σ²)`, with the closed-form expectation
//! `E[log p] = −½ log 2πσ² − ((y − μ)² + v) / (2σ²)`.

use serde::{Deserialize, Serialize};

use super::Likelihood;
use crate::ad::Real;
use crate::error::Result;
use crate::gp::quadrature::GaussHermite;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Gaussian likelihood; parameter `log σ²`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gaussian {
    log_variance: f64,
}

impl Gaussian {
    /// Noise variance `σ²`.
    pub fn new(variance: f64) -> Result<Self> {
        Ok(Self {
            log_variance: crate::gp::kernels::positive_log("gaussian", "variance", variance)?,
        })
    }
    /// `σ²`.
    pub fn variance(&self) -> f64 {
        self.log_variance.exp()
    }
}

impl Likelihood for Gaussian {
    fn n_params(&self) -> usize {
        1
    }
    fn param_names(&self) -> Vec<String> {
        vec!["log_variance".into()]
    }
    fn params(&self) -> Vec<f64> {
        vec![self.log_variance]
    }
    fn set_params(&mut self, phi: &[f64]) -> Result<()> {
        crate::gp::kernels::check_theta("gaussian", phi, 1)?;
        self.log_variance = phi[0];
        Ok(())
    }
    fn log_density<R: Real>(&self, phi: &[R], y: f64, f: R) -> R {
        let s = phi[0].exp();
        (phi[0] + LN_2PI) * -0.5 - (f - y).square() / (s * 2.0)
    }
    fn conditional_mean_var(&self, phi: &[f64], f: f64) -> (f64, f64) {
        (f, phi[0].exp())
    }
    fn variational_expectation(
        &self,
        phi: &[f64],
        y: f64,
        mu: f64,
        var: f64,
        _quad: &GaussHermite,
        w: f64,
        dphi: &mut [f64],
    ) -> (f64, f64, f64) {
        let s = phi[0].exp();
        let r2 = (y - mu) * (y - mu) + var;
        dphi[0] += w * (-0.5 + r2 / (2.0 * s));
        (
            -0.5 * (LN_2PI + phi[0]) - r2 / (2.0 * s),
            (y - mu) / s,
            -0.5 / s,
        )
    }
    fn predict_mean_var(&self, phi: &[f64], mu: f64, var: f64, _: &GaussHermite) -> (f64, f64) {
        (mu, var + phi[0].exp())
    }
}

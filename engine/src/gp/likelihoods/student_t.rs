//! Heavy-tailed noise: `y = f + σ t_ν` with Student's t (fixed degrees of freedom `ν`):
//! `log p = log Γ((ν+1)/2) − log Γ(ν/2) − ½ log(νπ) − log σ − (ν+1)/2 · log(1 + r²/ν)`,
//! `r = (y − f)/σ`.

use serde::{Deserialize, Serialize};

use super::Likelihood;
use crate::ad::Real;
use crate::ad::special::lgamma;
use crate::error::Result;
use crate::param::{Param, ParamLayout};

/// Student-t likelihood; parameter `scale` (`σ`), degrees of freedom `ν` fixed (structure).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudentT {
    nu: f64,
}

impl StudentT {
    /// Degrees of freedom `ν > 0` (the scale is the parameter `scale`).
    pub fn new(nu: f64) -> Result<Self> {
        crate::gp::kernels::positive_log("student_t", "nu", nu)?;
        Ok(Self { nu })
    }
    /// `ν`.
    pub fn nu(&self) -> f64 {
        self.nu
    }
}

impl Likelihood for StudentT {
    fn layout(&self) -> Result<ParamLayout> {
        ParamLayout::new(vec![Param::positive("scale", 1.0)])
    }
    fn n_params(&self) -> usize {
        1
    }
    fn log_density<R: Real>(&self, phi: &[R], y: f64, f: R) -> R {
        let nu = self.nu;
        let c =
            lgamma(0.5 * (nu + 1.0)) - lgamma(0.5 * nu) - 0.5 * (nu * std::f64::consts::PI).ln();
        let r = (-f + y) / phi[0];
        -phi[0].ln() - (r.square() / nu).ln_1p() * (0.5 * (nu + 1.0)) + c
    }
    fn conditional_mean_var(&self, phi: &[f64], f: f64) -> (f64, f64) {
        let s2 = phi[0] * phi[0];
        let v = if self.nu > 2.0 {
            s2 * self.nu / (self.nu - 2.0)
        } else {
            f64::INFINITY
        };
        (f, v)
    }
}

//! Binary classification: `p(y = 1 | f) = g(f)` with the logistic or the probit link.

use serde::{Deserialize, Serialize};

use super::{Likelihood, log_normal_cdf};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::param::ParamLayout;

/// Link from the latent `f` to `p(y = 1 | f)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Link {
    /// `σ(f) = 1 / (1 + e^{−f})`.
    Logit,
    /// `Φ(f)`, the standard normal CDF.
    Probit,
}

/// Bernoulli likelihood for labels `y ∈ {0, 1}`; no parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bernoulli {
    link: Link,
}

impl Bernoulli {
    /// With the given link.
    pub fn new(link: Link) -> Self {
        Self { link }
    }
}

impl Likelihood for Bernoulli {
    fn layout(&self) -> Result<ParamLayout> {
        Ok(ParamLayout::default())
    }
    fn n_params(&self) -> usize {
        0
    }
    fn log_density<R: Real>(&self, _: &[R], y: f64, f: R) -> R {
        match self.link {
            // log σ(f) = −softplus(−f), log(1 − σ(f)) = −softplus(f).
            Link::Logit => f * y - f.softplus(),
            Link::Probit => log_normal_cdf(if y > 0.5 { f } else { -f }),
        }
    }
    fn conditional_mean_var(&self, _: &[f64], f: f64) -> (f64, f64) {
        let p = match self.link {
            Link::Logit => f.sigmoid(),
            Link::Probit => f.normal_cdf(),
        };
        (p, p * (1.0 - p))
    }
    fn check_observation(&self, y: f64) -> Result<()> {
        if y == 0.0 || y == 1.0 {
            Ok(())
        } else {
            Err(Error::invalid_option("bernoulli", "y", y, "a label 0 or 1"))
        }
    }
}

//! Counts: `y ~ Poisson(e^f)`, `log p = y f − e^f − log y!`.

use serde::{Deserialize, Serialize};

use super::Likelihood;
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::param::ParamLayout;

/// Poisson likelihood with the exponential link; no parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Poisson;

impl Likelihood for Poisson {
    fn layout(&self) -> Result<ParamLayout> {
        Ok(ParamLayout::default())
    }
    fn n_params(&self) -> usize {
        0
    }
    fn log_density<R: Real>(&self, _: &[R], y: f64, f: R) -> R {
        f * y - f.exp() - crate::ad::special::lgamma(y + 1.0)
    }
    fn conditional_mean_var(&self, _: &[f64], f: f64) -> (f64, f64) {
        (f.exp(), f.exp())
    }
    fn check_observation(&self, y: f64) -> Result<()> {
        if y >= 0.0 && y.fract() == 0.0 && y.is_finite() {
            Ok(())
        } else {
            Err(Error::invalid_option(
                "poisson",
                "y",
                y,
                "a count (a non-negative integer)",
            ))
        }
    }
}

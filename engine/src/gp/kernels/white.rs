//! White noise `k(xᵢ, xⱼ) = σ² δᵢⱼ`: independent noise per *observation*.
//!
//! `K(X, X) = σ² I` (also when two observations share an input), and every
//! cross-covariance `K(X, Y)` between distinct sets is zero (the convention of GPflow and
//! GPyTorch), so the kernel adds noise to the training covariance without changing
//! predictions of the latent function.

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, check_theta, positive_log};
use crate::ad::Real;
use crate::error::Result;
use crate::gp::Inputs;

/// The white-noise kernel. Parameter: `log σ²`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct White {
    log_variance: f64,
}

impl White {
    /// Noise variance `σ²`.
    pub fn new(variance: f64) -> Result<Self> {
        Ok(Self {
            log_variance: positive_log("white", "variance", variance)?,
        })
    }
}

impl Kernel for White {
    fn n_params(&self) -> usize {
        1
    }
    fn param_names(&self) -> Vec<String> {
        vec!["log_variance".into()]
    }
    fn params(&self) -> Vec<f64> {
        vec![self.log_variance]
    }
    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        check_theta("white", theta, 1)?;
        self.log_variance = theta[0];
        Ok(())
    }
    /// `σ²` when the two points are equal, else 0 (a pointwise view; the matrix methods
    /// use observation identity instead, see the module docs).
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        if x.iter().zip(y).all(|(a, b)| a.value() == b.value()) {
            theta[0].exp()
        } else {
            R::zero()
        }
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let v = theta[0].exp();
        let sym = y.is_none();
        let m = y.map_or(x.n(), |y| y.n());
        for j in 0..m {
            for i in (if sym { j } else { 0 })..x.n() {
                out[(i, j)] = if sym && i == j { v } else { 0.0 };
            }
        }
    }
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        dtheta: &mut [f64],
        _dx: Option<&mut [f64]>,
        _dy: Option<&mut [f64]>,
    ) {
        if y.is_none() {
            let v = theta[0].exp();
            dtheta[0] += v * (0..x.n()).map(|i| kbar[(i, i)]).sum::<f64>();
        }
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let v = theta[0].exp();
        out.iter_mut().take(x.n()).for_each(|o| *o = v);
    }
    fn diag_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        dbar: &[f64],
        dtheta: &mut [f64],
        _: Option<&mut [f64]>,
    ) {
        dtheta[0] += theta[0].exp() * dbar.iter().take(x.n()).sum::<f64>();
    }
}

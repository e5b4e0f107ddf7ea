//! White noise `k(xᵢ, xⱼ) = σ² δᵢⱼ`: independent noise per *observation*.
//!
//! `K(X, X) = σ² I` (also when two observations share an input), and every
//! cross-covariance `K(X, Y)` between distinct sets is zero (the convention of GPflow and
//! GPyTorch), so the kernel adds noise to the training covariance without changing
//! predictions of the latent function.

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, KernelAdjoints, positive_layout};
use crate::ad::Real;
use crate::error::Result;
use crate::gp::Inputs;
use crate::param::ParamLayout;

/// The white-noise kernel (structure). Parameter: `variance` (absent in a unit-variance
/// factor of a product).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct White {
    variance: bool,
}

impl Default for White {
    fn default() -> Self {
        Self::new()
    }
}

impl White {
    /// White noise with its variance `σ²` as the parameter `variance`.
    pub fn new() -> Self {
        Self { variance: true }
    }
    fn var(&self, theta: &[f64]) -> f64 {
        if self.variance { theta[0] } else { 1.0 }
    }
}

impl Kernel for White {
    fn layout(&self) -> Result<ParamLayout> {
        if self.variance {
            positive_layout(vec!["variance".into()])
        } else {
            Ok(ParamLayout::default())
        }
    }
    fn n_params(&self) -> usize {
        usize::from(self.variance)
    }
    fn drop_variance(&mut self) -> bool {
        self.variance = false;
        true
    }
    /// `σ²` when the two points are equal, else 0 (a pointwise view; the matrix methods
    /// use observation identity instead, see the module docs).
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        if x.iter().zip(y).all(|(a, b)| a.value() == b.value()) {
            if self.variance { theta[0] } else { R::one() }
        } else {
            R::zero()
        }
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let v = self.var(theta);
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
        _theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        if y.is_none() && self.variance {
            adj.theta[0] += (0..x.n()).map(|i| kbar[(i, i)]).sum::<f64>();
        }
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let v = self.var(theta);
        out.iter_mut().take(x.n()).for_each(|o| *o = v);
    }
    fn diag_pullback(&self, _theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        if self.variance {
            adj.theta[0] += dbar.iter().take(x.n()).sum::<f64>();
        }
    }
}

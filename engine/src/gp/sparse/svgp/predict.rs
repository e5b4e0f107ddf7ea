//! Predictions of an [`Svgp`]: the latent function, and observations through the
//! likelihood.

use super::model::Svgp;
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::exact::{DenseMatrix, Prediction};
use crate::gp::kernels::Kernel;
use crate::gp::likelihoods::Likelihood;

impl<K: Kernel, L: Likelihood> Svgp<K, L> {
    /// Mean and variance of the latent function at `xs`:
    /// `μ = K_*u L_z⁻ᵀ m`, `v = k_** − ‖L_z⁻¹ K_u*‖² + ‖Sᵀ L_z⁻¹ K_u*‖²`.
    /// (`noise_variance` is NaN: the observation model is the likelihood's; use
    /// [`Svgp::predict_y`] for observations.)
    pub fn predict_f(&self, xs: &Inputs) -> Result<Prediction> {
        let (theta, _) = self.split_params();
        let st = self.batch_state(&theta, xs)?;
        let noise = f64::NAN;
        let var = st.var.iter().map(|v| v.max(0.0)).collect();
        let mean = st.mu.clone();
        self.release(st);
        Ok(Prediction {
            mean: DenseMatrix {
                rows: xs.n(),
                cols: 1,
                values: mean,
            },
            var,
            cov: None,
            noise_variance: noise,
        })
    }

    /// Predictive mean and variance of observations at `xs` (through the likelihood).
    pub fn predict_y(&self, xs: &Inputs) -> Result<(Vec<f64>, Vec<f64>)> {
        let (theta, phi) = self.split_params();
        let st = self.batch_state(&theta, xs)?;
        let out = (0..xs.n())
            .map(|i| {
                self.likelihood
                    .predict_mean_var(&phi, st.mu[i], st.var[i].max(0.0), &self.quad)
            })
            .unzip();
        self.release(st);
        Ok(out)
    }
}

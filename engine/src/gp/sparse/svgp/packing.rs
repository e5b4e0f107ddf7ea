//! Every parameter of an [`Svgp`] as one vector on the unconstrained scale, for an
//! optimiser: `θ` through each parameter's transform (`log` for the positive ones), the
//! inducing inputs `Z` (point-major), `m`, and the lower triangle of `S` column by column.

use super::gradient::ElboGradient;
use super::model::Svgp;
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::gp::likelihoods::Likelihood;
use crate::gp::params::natural_derivative;

impl<K: Kernel, L: Likelihood> Svgp<K, L> {
    /// Number of packed parameters (see [`Svgp::pack`]).
    pub fn n_packed(&self) -> usize {
        let m = self.z.n();
        self.layout.len() + m * self.z.d() + m + m * (m + 1) / 2
    }

    /// All parameters as one vector: `θ` on the unconstrained scale (kernel, likelihood),
    /// `Z` (point-major), `m`, and the lower triangle of `S` column by column.
    pub fn pack(&self) -> Vec<f64> {
        let m = self.z.n();
        let mut v = Vec::with_capacity(self.n_packed());
        // The layout's values are in their supports (checked when set).
        v.extend(self.layout.params().iter().map(|p| {
            p.transform
                .to_unconstrained("Svgp::pack", &p.name, p.value)
                .unwrap_or(f64::NAN)
        }));
        v.extend_from_slice(self.z.as_slice());
        v.extend_from_slice(&self.q_mu);
        for j in 0..m {
            for i in j..m {
                v.push(self.q_sqrt[(i, j)]);
            }
        }
        v
    }

    /// Inverse of [`Svgp::pack`].
    pub fn unpack(&mut self, v: &[f64]) -> Result<()> {
        crate::error::check_len("Svgp::unpack", "v", v.len(), self.n_packed())?;
        crate::error::check_finite("Svgp::unpack", "v", v)?;
        let (m, d) = (self.z.n(), self.z.d());
        let np = self.layout.len();
        let theta: Vec<f64> = self
            .layout
            .params()
            .iter()
            .zip(&v[..np])
            .map(|(p, &z)| p.transform.to_natural(z))
            .collect();
        self.set_params(&theta)?;
        let mut o = np;
        self.z = Inputs::new(m, d, v[o..o + m * d].to_vec())?;
        o += m * d;
        self.q_mu.copy_from_slice(&v[o..o + m]);
        o += m;
        for j in 0..m {
            for i in j..m {
                self.q_sqrt[(i, j)] = v[o];
                o += 1;
            }
        }
        Ok(())
    }

    /// Packs an [`ElboGradient`] like [`Svgp::pack`]: the gradient in the packed vector
    /// (`θ` by the chain rule through its transforms, at the model's current `θ`).
    pub fn pack_gradient(&self, g: &ElboGradient) -> Vec<f64> {
        let m = self.z.n();
        let mut v = Vec::with_capacity(self.n_packed());
        v.extend(
            self.layout
                .params()
                .iter()
                .zip(g.kernel.iter().chain(&g.likelihood))
                .map(|(p, gi)| gi * natural_derivative(&p.transform, p.value)),
        );
        v.extend(&g.z);
        v.extend(&g.q_mu);
        for j in 0..m {
            for i in j..m {
                v.push(g.q_sqrt[i + j * m]);
            }
        }
        v
    }
}

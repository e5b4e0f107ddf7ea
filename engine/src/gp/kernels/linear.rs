//! The linear (dot-product) kernel `k = Σ_d σ_d² x_d x'_d` (Rasmussen & Williams 2006,
//! eq. 4.22 with `Σ_p = diag(σ²)`), with one variance or one per dimension:
//! `∂k/∂σ_d² = x_d x'_d`.

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, KernelAdjoints, positive_layout, vector_names};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::param::ParamLayout;

/// The linear kernel (structure). Parameters: `variance` (one for every dimension; absent
/// in a unit-variance factor of a product) or `variance[0]`, …, `variance[d−1]` (ARD).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    /// `None`: one variance shared by every dimension; `Some(d)`: one per dimension.
    ard: Option<usize>,
    /// Whether the shared variance is a parameter (`false`: `σ² = 1`).
    variance: bool,
}

impl Default for Linear {
    /// One variance for every dimension.
    fn default() -> Self {
        Self::isotropic()
    }
}

impl Linear {
    /// One variance for every dimension (parameter `variance`).
    pub fn isotropic() -> Self {
        Self {
            ard: None,
            variance: true,
        }
    }
    /// One variance for each of `d ≥ 1` dimensions.
    pub fn ard(d: usize) -> Result<Self> {
        if d == 0 {
            return Err(Error::invalid_option(
                "linear",
                "d",
                d,
                "at least one input dimension for an ARD kernel",
            ));
        }
        Ok(Self {
            ard: Some(d),
            variance: true,
        })
    }
    /// `σ_d²` for each of `d` dimensions.
    fn vars(&self, theta: &[f64], d: usize) -> Vec<f64> {
        match (self.ard, self.variance) {
            (Some(_), _) => theta[..d].to_vec(),
            (None, true) => vec![theta[0]; d],
            (None, false) => vec![1.0; d],
        }
    }
    /// The θ index of dimension `k`'s variance (`None` without one).
    #[inline]
    fn slot(&self, k: usize) -> Option<usize> {
        match (self.ard, self.variance) {
            (Some(_), _) => Some(k),
            (None, true) => Some(0),
            (None, false) => None,
        }
    }
}

impl Kernel for Linear {
    fn layout(&self) -> Result<ParamLayout> {
        match (self.ard, self.variance) {
            (Some(d), _) => positive_layout(vector_names("variance", d, false)),
            (None, true) => positive_layout(vec!["variance".into()]),
            (None, false) => Ok(ParamLayout::default()),
        }
    }
    fn n_params(&self) -> usize {
        match (self.ard, self.variance) {
            (Some(d), _) => d,
            (None, v) => usize::from(v),
        }
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        match self.ard {
            Some(l) if l != d => Err(Error::ShapeMismatch {
                op: "linear",
                arg: "inputs",
                expected: format!("{l}-dimensional points"),
                found: format!("{d}-dimensional points"),
            }),
            _ => Ok(()),
        }
    }
    /// Only the isotropic kernel has one variance to drop.
    fn drop_variance(&mut self) -> bool {
        if self.ard.is_some() {
            return false;
        }
        self.variance = false;
        true
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let mut acc = R::zero();
        for k in 0..x.len() {
            let xy = x[k] * y[k];
            acc += match self.slot(k) {
                Some(i) => theta[i] * xy,
                None => xy,
            };
        }
        acc
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let v = self.vars(theta, x.d());
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        for j in 0..y.n() {
            for i in (if sym { j } else { 0 })..x.n() {
                let (xi, yj) = (x.point(i), y.point(j));
                out[(i, j)] = (0..x.d()).map(|k| v[k] * xi[k] * yj[k]).sum();
            }
        }
    }
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        let d = x.d();
        let v = self.vars(theta, d);
        let KernelAdjoints {
            theta: dtheta,
            x: mut dx,
            y: mut dy,
        } = adj;
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        for j in 0..y.n() {
            for i in (if sym { j } else { 0 })..x.n() {
                let w = kbar[(i, j)];
                if w == 0.0 {
                    continue;
                }
                let (xi, yj) = (x.point(i), y.point(j));
                for k in 0..d {
                    if let Some(s) = self.slot(k) {
                        dtheta[s] += w * xi[k] * yj[k];
                    }
                    if let Some(dx) = dx.as_deref_mut() {
                        dx[i * d + k] += w * v[k] * yj[k];
                        if sym {
                            dx[j * d + k] += w * v[k] * xi[k];
                        }
                    }
                    if !sym && let Some(dy) = dy.as_deref_mut() {
                        dy[j * d + k] += w * v[k] * xi[k];
                    }
                }
            }
        }
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let v = self.vars(theta, x.d());
        for (i, o) in out.iter_mut().enumerate().take(x.n()) {
            let xi = x.point(i);
            *o = (0..x.d()).map(|k| v[k] * xi[k] * xi[k]).sum();
        }
    }
    fn diag_pullback(&self, theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        let d = x.d();
        let v = self.vars(theta, d);
        let KernelAdjoints {
            theta: dtheta,
            x: mut dx,
            ..
        } = adj;
        for i in 0..x.n() {
            let xi = x.point(i);
            for k in 0..d {
                if let Some(s) = self.slot(k) {
                    dtheta[s] += dbar[i] * xi[k] * xi[k];
                }
                if let Some(dx) = dx.as_deref_mut() {
                    dx[i * d + k] += 2.0 * dbar[i] * v[k] * xi[k];
                }
            }
        }
    }
}

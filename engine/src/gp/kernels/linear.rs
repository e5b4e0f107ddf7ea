//! The linear (dot-product) kernel `k = Σ_d σ_d² x_d x'_d` (Rasmussen & Williams 2006,
//! eq. 4.22 with `Σ_p = diag(σ²)`), with one variance or one per dimension.

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, check_theta, positive_log};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::gp::Inputs;

/// The linear kernel. Parameters: `(log σ₁², …, log σ_L²)`, `L = 1` or `d`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    log_variances: Vec<f64>,
}

impl Linear {
    /// One variance for every dimension.
    pub fn new(variance: f64) -> Result<Self> {
        Self::ard(&[variance])
    }
    /// One variance per dimension.
    pub fn ard(variances: &[f64]) -> Result<Self> {
        if variances.is_empty() {
            return Err(Error::InvalidArgument {
                op: "linear",
                message: "need at least one variance".into(),
            });
        }
        Ok(Self {
            log_variances: variances
                .iter()
                .map(|&v| positive_log("linear", "variance", v))
                .collect::<Result<_>>()?,
        })
    }
    fn vars(&self, theta: &[f64], d: usize) -> Vec<f64> {
        let l = self.log_variances.len();
        (0..d)
            .map(|k| theta[if l == 1 { 0 } else { k }].exp())
            .collect()
    }
}

impl Kernel for Linear {
    fn n_params(&self) -> usize {
        self.log_variances.len()
    }
    fn param_names(&self) -> Vec<String> {
        (0..self.log_variances.len())
            .map(|k| format!("log_variance[{k}]"))
            .collect()
    }
    fn params(&self) -> Vec<f64> {
        self.log_variances.clone()
    }
    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        check_theta("linear", theta, self.n_params())?;
        self.log_variances.copy_from_slice(theta);
        Ok(())
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        let l = self.log_variances.len();
        if l == 1 || l == d {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                op: "linear",
                arg: "inputs",
                expected: format!("{l}-dimensional points"),
                found: format!("{d}-dimensional points"),
            })
        }
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let l = self.log_variances.len();
        let mut acc = R::zero();
        for k in 0..x.len() {
            acc += theta[if l == 1 { 0 } else { k }].exp() * x[k] * y[k];
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
        dtheta: &mut [f64],
        mut dx: Option<&mut [f64]>,
        mut dy: Option<&mut [f64]>,
    ) {
        let d = x.d();
        let l = self.log_variances.len();
        let v = self.vars(theta, d);
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
                    dtheta[if l == 1 { 0 } else { k }] += w * v[k] * xi[k] * yj[k];
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
    fn diag_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        dbar: &[f64],
        dtheta: &mut [f64],
        mut dx: Option<&mut [f64]>,
    ) {
        let d = x.d();
        let l = self.log_variances.len();
        let v = self.vars(theta, d);
        for i in 0..x.n() {
            let xi = x.point(i);
            for k in 0..d {
                dtheta[if l == 1 { 0 } else { k }] += dbar[i] * v[k] * xi[k] * xi[k];
                if let Some(dx) = dx.as_deref_mut() {
                    dx[i * d + k] += 2.0 * dbar[i] * v[k] * xi[k];
                }
            }
        }
    }
}

//! The periodic kernel (MacKay 1998, "Introduction to Gaussian processes", eq. 47;
//! Rasmussen & Williams 2006, eq. 4.31), with a lengthscale per dimension:
//! `k = σ² exp(−2 Σ_d sin²(π (x_d − x'_d) / p) / ℓ_d²)`.

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, check_theta, positive_log};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::gp::Inputs;

const PI: f64 = std::f64::consts::PI;

/// The periodic kernel with period `p`. Parameters: `(log ℓ₁, …, log ℓ_L, log σ², log p)`
/// with `L = 1` or `d`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Periodic {
    log_lengthscales: Vec<f64>,
    log_variance: f64,
    log_period: f64,
}

impl Periodic {
    /// Isotropic lengthscale `ℓ`, variance `σ²`, period `p`.
    pub fn new(lengthscale: f64, variance: f64, period: f64) -> Result<Self> {
        Self::ard(&[lengthscale], variance, period)
    }

    /// One lengthscale per input dimension.
    pub fn ard(lengthscales: &[f64], variance: f64, period: f64) -> Result<Self> {
        if lengthscales.is_empty() {
            return Err(Error::InvalidArgument {
                op: "periodic",
                message: "need at least one lengthscale".into(),
            });
        }
        Ok(Self {
            log_lengthscales: lengthscales
                .iter()
                .map(|&l| positive_log("periodic", "lengthscale", l))
                .collect::<Result<_>>()?,
            log_variance: positive_log("periodic", "variance", variance)?,
            log_period: positive_log("periodic", "period", period)?,
        })
    }

    /// `(1/ℓ_d², σ², p)` from `θ`.
    fn unpack(&self, theta: &[f64], d: usize) -> (Vec<f64>, f64, f64) {
        let l = self.log_lengthscales.len();
        let s = (0..d)
            .map(|k| (-2.0 * theta[if l == 1 { 0 } else { k }]).exp())
            .collect();
        (s, theta[l].exp(), theta[l + 1].exp())
    }
}

impl Kernel for Periodic {
    fn n_params(&self) -> usize {
        self.log_lengthscales.len() + 2
    }
    fn param_names(&self) -> Vec<String> {
        let mut n: Vec<String> = (0..self.log_lengthscales.len())
            .map(|k| format!("log_lengthscale[{k}]"))
            .collect();
        n.push("log_variance".into());
        n.push("log_period".into());
        n
    }
    fn params(&self) -> Vec<f64> {
        let mut p = self.log_lengthscales.clone();
        p.push(self.log_variance);
        p.push(self.log_period);
        p
    }
    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        check_theta("periodic", theta, self.n_params())?;
        let l = self.log_lengthscales.len();
        self.log_lengthscales.copy_from_slice(&theta[..l]);
        self.log_variance = theta[l];
        self.log_period = theta[l + 1];
        Ok(())
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        let l = self.log_lengthscales.len();
        if l == 1 || l == d {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                op: "periodic",
                arg: "inputs",
                expected: format!("{l}-dimensional points"),
                found: format!("{d}-dimensional points"),
            })
        }
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let l = self.log_lengthscales.len();
        let p = theta[l + 1].exp();
        let mut acc = R::zero();
        for k in 0..x.len() {
            let s = (theta[if l == 1 { 0 } else { k }] * -2.0).exp();
            acc += ((x[k] - y[k]) * PI / p).sin().square() * s;
        }
        theta[l].exp() * (acc * -2.0).exp()
    }

    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let d = x.d();
        let (s, var, p) = self.unpack(theta, d);
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        for j in 0..y.n() {
            for i in (if sym { j } else { 0 })..x.n() {
                let (xi, yj) = (x.point(i), y.point(j));
                let mut acc = 0.0;
                for k in 0..d {
                    let sn = (PI * (xi[k] - yj[k]) / p).sin();
                    acc += sn * sn * s[k];
                }
                out[(i, j)] = var * (-2.0 * acc).exp();
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
        let l = self.log_lengthscales.len();
        let (s, var, p) = self.unpack(theta, d);
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        for j in 0..y.n() {
            for i in (if sym { j } else { 0 })..x.n() {
                let w = kbar[(i, j)];
                if w == 0.0 {
                    continue;
                }
                let (xi, yj) = (x.point(i), y.point(j));
                let mut acc = 0.0;
                for k in 0..d {
                    let sn = (PI * (xi[k] - yj[k]) / p).sin();
                    acc += sn * sn * s[k];
                }
                let kv = var * (-2.0 * acc).exp();
                let wk = w * kv;
                dtheta[l] += wk;
                for k in 0..d {
                    let u = PI * (xi[k] - yj[k]) / p;
                    let sn = u.sin();
                    // ∂k/∂log ℓ_d = 4 k s_d sin² u_d; ∂k/∂Δ_d = −2 k s_d sin(2u_d) π/p;
                    // ∂k/∂log p = 2 k Σ_d s_d u_d sin(2u_d).
                    dtheta[if l == 1 { 0 } else { k }] += 4.0 * wk * s[k] * sn * sn;
                    let s2u = (2.0 * u).sin();
                    dtheta[l + 1] += 2.0 * wk * s[k] * u * s2u;
                    let gd = -2.0 * wk * s[k] * s2u * PI / p;
                    if let Some(dx) = dx.as_deref_mut() {
                        dx[i * d + k] += gd;
                        if sym {
                            dx[j * d + k] -= gd;
                        }
                    }
                    if !sym && let Some(dy) = dy.as_deref_mut() {
                        dy[j * d + k] -= gd;
                    }
                }
            }
        }
    }

    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let v = theta[self.log_lengthscales.len()].exp();
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
        let l = self.log_lengthscales.len();
        dtheta[l] += theta[l].exp() * dbar.iter().take(x.n()).sum::<f64>();
    }
}

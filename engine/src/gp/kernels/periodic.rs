//! The periodic kernel (MacKay 1998, "Introduction to Gaussian processes", eq. 47;
//! Rasmussen & Williams 2006, eq. 4.31), with a lengthscale per dimension:
//! `k = σ² exp(−2 Σ_d sin²(π (x_d − x'_d) / p) / ℓ_d²)`.
//!
//! With `u_d = π Δ_d / p`, `s_d = 1/ℓ_d²` and `k` the entry:
//! `∂k/∂σ² = k/σ²`, `∂k/∂ℓ_d = 4 k s_d sin² u_d / ℓ_d`,
//! `∂k/∂p = 2 k Σ_d s_d u_d sin(2u_d) / p`, `∂k/∂Δ_d = −2 k s_d sin(2u_d) π/p`.

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, KernelAdjoints, vector_names};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::param::{Param, ParamLayout};

const PI: f64 = std::f64::consts::PI;

/// The periodic kernel (structure). Parameters: `variance` (absent in a unit-variance
/// factor of a product), `lengthscale` or `lengthscale[i]` (ARD), `period`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Periodic {
    /// `None`: one lengthscale shared by every dimension; `Some(d)`: one per dimension.
    ard: Option<usize>,
    variance: bool,
}

impl Default for Periodic {
    /// The isotropic kernel.
    fn default() -> Self {
        Self::isotropic()
    }
}

impl Periodic {
    /// One lengthscale for every dimension (parameters `variance`, `lengthscale`,
    /// `period`).
    pub fn isotropic() -> Self {
        Self {
            ard: None,
            variance: true,
        }
    }

    /// One lengthscale for each of `d ≥ 1` input dimensions.
    pub fn ard(d: usize) -> Result<Self> {
        if d == 0 {
            return Err(Error::invalid_option(
                "periodic",
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

    /// Number of lengthscales (1 = isotropic).
    pub fn n_lengthscales(&self) -> usize {
        self.ard.unwrap_or(1)
    }

    /// `(1/ℓ_d², σ², p)` from `θ`.
    fn unpack(&self, theta: &[f64], d: usize) -> (Vec<f64>, f64, f64) {
        let v = usize::from(self.variance);
        let l = self.n_lengthscales();
        let s = (0..d)
            .map(|k| {
                let ell = theta[v + if l == 1 { 0 } else { k }];
                1.0 / (ell * ell)
            })
            .collect();
        let var = if self.variance { theta[0] } else { 1.0 };
        (s, var, theta[v + l])
    }
}

impl Kernel for Periodic {
    fn layout(&self) -> Result<ParamLayout> {
        let mut params = Vec::with_capacity(self.n_params());
        if self.variance {
            params.push(Param::positive("variance", 1.0));
        }
        for name in vector_names("lengthscale", self.n_lengthscales(), self.ard.is_none()) {
            params.push(Param::positive(name, 1.0));
        }
        params.push(Param::positive("period", 1.0));
        ParamLayout::new(params)
    }
    fn n_params(&self) -> usize {
        usize::from(self.variance) + self.n_lengthscales() + 1
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        match self.ard {
            Some(l) if l != d => Err(Error::ShapeMismatch {
                op: "periodic",
                arg: "inputs",
                expected: format!("{l}-dimensional points"),
                found: format!("{d}-dimensional points"),
            }),
            _ => Ok(()),
        }
    }
    fn drop_variance(&mut self) -> bool {
        self.variance = false;
        true
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let v = usize::from(self.variance);
        let l = self.n_lengthscales();
        let p = theta[v + l];
        let mut acc = R::zero();
        for k in 0..x.len() {
            let ell = theta[v + if l == 1 { 0 } else { k }];
            acc += ((x[k] - y[k]) * PI / p).sin().square() / ell.square();
        }
        let e = (acc * -2.0).exp();
        if self.variance { theta[0] * e } else { e }
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
        adj: KernelAdjoints<'_>,
    ) {
        let d = x.d();
        let v = usize::from(self.variance);
        let l = self.n_lengthscales();
        let (s, var, p) = self.unpack(theta, d);
        let ell: Vec<f64> = s.iter().map(|s| 1.0 / s.sqrt()).collect();
        let KernelAdjoints {
            theta: dtheta,
            x: mut dx,
            y: mut dy,
        } = adj;
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        let (mut dvar, mut dper) = (0.0, 0.0);
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
                let e = (-2.0 * acc).exp();
                let wk = w * var * e;
                dvar += w * e;
                for k in 0..d {
                    let u = PI * (xi[k] - yj[k]) / p;
                    let sn = u.sin();
                    // See the module docs for the derivatives.
                    dtheta[v + if l == 1 { 0 } else { k }] += 4.0 * wk * s[k] * sn * sn / ell[k];
                    let s2u = (2.0 * u).sin();
                    dper += 2.0 * wk * s[k] * u * s2u;
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
        if self.variance {
            dtheta[0] += dvar;
        }
        dtheta[v + l] += dper / p;
    }

    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let v = if self.variance { theta[0] } else { 1.0 };
        out.iter_mut().take(x.n()).for_each(|o| *o = v);
    }

    fn diag_pullback(&self, _theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        if self.variance {
            adj.theta[0] += dbar.iter().take(x.n()).sum::<f64>();
        }
    }
}

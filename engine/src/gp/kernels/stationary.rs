//! Stationary kernels with automatic relevance determination: `k = σ² f(r²)` with the
//! scaled squared distance `r² = Σ_d (x_d − x'_d)² / ℓ_d²` (Rasmussen & Williams 2006,
//! §4.2 and §5.1, eq. 5.2 for ARD).
//!
//! [`Stationary`] holds the lengthscales (one shared, or one per dimension) and the
//! variance, and implements the matrix loops and their analytic pullbacks once; a
//! [`Profile`] supplies `f(r²)`, its derivative and any extra shape parameters. With
//! `g = K̄ᵢⱼ σ² f'(r²ᵢⱼ)` and `Δ = xᵢ − yⱼ`:
//!
//! ```text
//! ∂/∂log σ²  += K̄ᵢⱼ kᵢⱼ
//! ∂/∂log ℓ_d += −2 g Δ_d² / ℓ_d²
//! ∂/∂xᵢ_d    +=  2 g Δ_d / ℓ_d²,     ∂/∂yⱼ_d −= 2 g Δ_d / ℓ_d²
//! ```

use std::fmt::Debug;

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, check_theta, positive_log};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::gp::Inputs;

/// The radial profile `f(r²)` of a stationary kernel, with optional extra shape
/// parameters (unconstrained, e.g. `log α` of the rational quadratic).
pub trait Profile: Clone + Debug + Send + Sync + 'static {
    /// Short name (`"squared_exponential"`).
    const NAME: &'static str;

    /// Names of the extra parameters.
    fn extra_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// Current extra parameters.
    fn extra(&self) -> Vec<f64> {
        Vec::new()
    }

    /// Sets the extra parameters (called with exactly `extra().len()` values).
    fn set_extra(&mut self, extra: &[f64]) {
        let _ = extra;
    }

    /// `f(r²)`, generic (for [`Kernel::eval`]).
    fn f<R: Real>(&self, r2: R, extra: &[R]) -> R;

    /// `(f(r²), f'(r²))`, adding `w ∂f/∂extra` into `dextra`. At `r² = 0` a profile that
    /// is not differentiable there (Matérn-1/2) returns a finite `f'`.
    fn f_grad(&self, r2: f64, extra: &[f64], w: f64, dextra: &mut [f64]) -> (f64, f64);

    /// `f(r²)` in `f64` (defaults to [`Profile::f_grad`]).
    fn f_value(&self, r2: f64, extra: &[f64]) -> f64 {
        let mut scratch = [0.0; 4];
        let n = extra.len().min(4);
        self.f_grad(r2, extra, 0.0, &mut scratch[..n]).0
    }
}

/// A stationary kernel `σ² f(r²)` with isotropic or ARD lengthscales.
///
/// Parameters: `(log ℓ₁, …, log ℓ_L, log σ², extra…)` with `L = 1` (isotropic) or `L = d`
/// (ARD).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stationary<P> {
    log_lengthscales: Vec<f64>,
    log_variance: f64,
    profile: P,
}

impl<P: Profile> Stationary<P> {
    /// Isotropic: one lengthscale for every dimension.
    pub fn with_profile(lengthscale: f64, variance: f64, profile: P) -> Result<Self> {
        Self::ard_with_profile(&[lengthscale], variance, profile)
    }

    /// ARD: one lengthscale per input dimension.
    pub fn ard_with_profile(lengthscales: &[f64], variance: f64, profile: P) -> Result<Self> {
        if lengthscales.is_empty() {
            return Err(Error::InvalidArgument {
                op: P::NAME,
                message: "need at least one lengthscale".into(),
            });
        }
        let log_lengthscales = lengthscales
            .iter()
            .map(|&l| positive_log(P::NAME, "lengthscale", l))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            log_lengthscales,
            log_variance: positive_log(P::NAME, "variance", variance)?,
            profile,
        })
    }

    /// Number of lengthscales (1 = isotropic).
    pub fn n_lengthscales(&self) -> usize {
        self.log_lengthscales.len()
    }

    /// The lengthscales `ℓ`.
    pub fn lengthscales(&self) -> Vec<f64> {
        self.log_lengthscales.iter().map(|v| v.exp()).collect()
    }

    /// The variance `σ²`.
    pub fn variance(&self) -> f64 {
        self.log_variance.exp()
    }

    /// The profile.
    pub fn profile(&self) -> &P {
        &self.profile
    }

    /// `1/ℓ_d²` for each of `d` dimensions.
    fn inv_sq(&self, theta: &[f64], d: usize) -> Vec<f64> {
        let l = self.log_lengthscales.len();
        (0..d)
            .map(|k| (-2.0 * theta[if l == 1 { 0 } else { k }]).exp())
            .collect()
    }
}

impl<P: Profile> Kernel for Stationary<P> {
    fn n_params(&self) -> usize {
        self.log_lengthscales.len() + 1 + self.profile.extra().len()
    }

    fn param_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (0..self.log_lengthscales.len())
            .map(|k| format!("log_lengthscale[{k}]"))
            .collect();
        names.push("log_variance".into());
        names.extend(self.profile.extra_names());
        names
    }

    fn params(&self) -> Vec<f64> {
        let mut p = self.log_lengthscales.clone();
        p.push(self.log_variance);
        p.extend(self.profile.extra());
        p
    }

    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        check_theta(P::NAME, theta, self.n_params())?;
        let l = self.log_lengthscales.len();
        self.log_lengthscales.copy_from_slice(&theta[..l]);
        self.log_variance = theta[l];
        self.profile.set_extra(&theta[l + 1..]);
        Ok(())
    }

    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let l = self.log_lengthscales.len();
        let mut r2 = R::zero();
        for k in 0..x.len() {
            let inv_l = (-theta[if l == 1 { 0 } else { k }]).exp();
            r2 += ((x[k] - y[k]) * inv_l).square();
        }
        theta[l].exp() * self.profile.f(r2, &theta[l + 1..])
    }

    fn check_dim(&self, d: usize) -> Result<()> {
        let l = self.log_lengthscales.len();
        if l == 1 || l == d {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                op: P::NAME,
                arg: "inputs",
                expected: format!("{l}-dimensional points (one per ARD lengthscale)"),
                found: format!("{d}-dimensional points"),
            })
        }
    }

    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let d = x.d();
        let s = self.inv_sq(theta, d);
        let l = self.log_lengthscales.len();
        let var = theta[l].exp();
        let extra = &theta[l + 1..];
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        let (xs, ys) = (x.as_slice(), y.as_slice());
        for j in 0..y.n() {
            let yj = &ys[j * d..(j + 1) * d];
            let start = if sym { j } else { 0 };
            let col = out.as_mut().col_mut(j).try_as_col_major_mut();
            match col {
                Some(col) => {
                    let col = col.as_slice_mut();
                    for i in start..x.n() {
                        let r2 = sq_dist(&xs[i * d..(i + 1) * d], yj, &s);
                        col[i] = var * self.profile.f_value(r2, extra);
                    }
                }
                None => {
                    for i in start..x.n() {
                        let r2 = sq_dist(&xs[i * d..(i + 1) * d], yj, &s);
                        out[(i, j)] = var * self.profile.f_value(r2, extra);
                    }
                }
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
        let s = self.inv_sq(theta, d);
        let l = self.log_lengthscales.len();
        let var = theta[l].exp();
        let extra = &theta[l + 1..];
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        let (xs, ys) = (x.as_slice(), y.as_slice());
        // Accumulate Σ g Δ_d² per dimension, then scale once.
        let mut acc_l = vec![0.0; d];
        let mut acc_var = 0.0;
        let (head, dextra) = dtheta.split_at_mut(l + 1);
        let want_x = dx.is_some();
        let want_y = if sym { want_x } else { dy.is_some() };
        let mut gy_col = vec![0.0; d];
        for j in 0..y.n() {
            let yj = &ys[j * d..(j + 1) * d];
            let start = if sym { j } else { 0 };
            gy_col.iter_mut().for_each(|v| *v = 0.0);
            for i in start..x.n() {
                let w = kbar[(i, j)];
                if w == 0.0 {
                    continue;
                }
                let xi = &xs[i * d..(i + 1) * d];
                let r2 = sq_dist(xi, yj, &s);
                let (f, fp) = self.profile.f_grad(r2, extra, w * var, dextra);
                acc_var += w * f;
                let g = w * var * fp;
                for k in 0..d {
                    let delta = xi[k] - yj[k];
                    acc_l[k] += g * delta * delta;
                    if want_x || want_y {
                        let t = 2.0 * g * delta * s[k];
                        if let Some(dx) = dx.as_deref_mut() {
                            dx[i * d + k] += t;
                        }
                        gy_col[k] -= t;
                    }
                }
            }
            if want_y {
                let target = if sym {
                    dx.as_deref_mut()
                } else {
                    dy.as_deref_mut()
                };
                if let Some(t) = target {
                    for k in 0..d {
                        t[j * d + k] += gy_col[k];
                    }
                }
            }
        }
        head[l] += acc_var * var;
        for k in 0..d {
            head[if l == 1 { 0 } else { k }] += -2.0 * acc_l[k] * s[k];
        }
    }

    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let l = self.log_lengthscales.len();
        let v = theta[l].exp() * self.profile.f_value(0.0, &theta[l + 1..]);
        out.iter_mut().take(x.n()).for_each(|o| *o = v);
    }

    fn diag_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        dbar: &[f64],
        dtheta: &mut [f64],
        _dx: Option<&mut [f64]>,
    ) {
        let l = self.log_lengthscales.len();
        let var = theta[l].exp();
        let w: f64 = dbar.iter().take(x.n()).sum();
        let (head, dextra) = dtheta.split_at_mut(l + 1);
        let (f, _) = self.profile.f_grad(0.0, &theta[l + 1..], w * var, dextra);
        head[l] += w * var * f;
    }
}

/// `Σ_k (x_k − y_k)² s_k`.
#[inline(always)]
fn sq_dist(x: &[f64], y: &[f64], s: &[f64]) -> f64 {
    let mut r2 = 0.0;
    for k in 0..x.len() {
        let t = x[k] - y[k];
        r2 += t * t * s[k];
    }
    r2
}

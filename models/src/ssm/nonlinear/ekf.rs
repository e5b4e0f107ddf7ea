//! The extended Kalman filter (Jazwinski 1970; Särkkä 2013, "Bayesian Filtering and
//! Smoothing", Alg. 5.4): the Kalman filter applied to the first-order linearisation of f
//! and h about the current estimate, with the Jacobians ∂f/∂x and ∂h/∂x computed exactly by
//! forward-mode automatic differentiation (dual numbers, one tangent per state component).
//!
//! On a linear model the EKF is the Kalman filter (checked by a test).
//!
//! ```
//! use mechml_models::ssm::{LinearGaussianSsm, Observations};
//! use mechml_models::ssm::nonlinear::{LinearAsNonlinear, ekf::ekf};
//! let lin = LinearGaussianSsm::time_invariant(1, 1, vec![0.9], vec![0.1], vec![1.0],
//!                                             vec![0.2], vec![0.0], vec![1.0])?;
//! let data = Observations::univariate(vec![0.1, 0.4, -0.2])?;
//! let out = ekf(&LinearAsNonlinear(&lin), &[], &data)?;
//! let kf = mechml_models::ssm::kalman::kalman_loglik(&lin, &data)?;
//! assert!((out.loglik - kf).abs() < 1e-12);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use mechml_engine::Result;
use mechml_engine::ad::{Dual, Real};

use super::{GaussianFilterOutput, NonlinearSsm, ObservedMoments, gaussian_update, observed};
use crate::ssm::model::Observations;

/// The Jacobian (column-major, `out x n`) of `g` at `x` by `n` forward passes.
pub fn jacobian<G>(x: &[f64], g: G) -> (Vec<f64>, Vec<f64>)
where
    G: Fn(&[Dual]) -> Vec<Dual>,
{
    let n = x.len();
    let mut value = Vec::new();
    let mut jac = Vec::new();
    for j in 0..n {
        let xd: Vec<Dual> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| Dual::dual(v, if i == j { 1.0 } else { 0.0 }))
            .collect();
        let out = g(&xd);
        if j == 0 {
            value = out.iter().map(|d| d.value()).collect();
            jac = vec![0.0; out.len() * n];
        }
        let m = out.len();
        for (i, d) in out.iter().enumerate() {
            jac[i + j * m] = d.tangent();
        }
    }
    if n == 0 {
        value = g(&[]).iter().map(|d| d.value()).collect();
    }
    (value, jac)
}

/// Runs the EKF with parameters `theta` over `data`.
pub fn ekf<M: NonlinearSsm>(
    model: &M,
    theta: &[f64],
    data: &Observations,
) -> Result<GaussianFilterOutput<f64>> {
    let n = model.n_state();
    let mo_all = model.n_obs();
    let thd: Vec<Dual> = theta.iter().map(|&v| Dual::dual(v, 0.0)).collect();
    let (mut m, mut p) = model.prior(theta);
    let mut out = GaussianFilterOutput {
        loglik: 0.0,
        filt_mean: Vec::with_capacity(data.n_steps * n),
        filt_cov: Vec::new(),
    };
    for t in 0..data.n_steps {
        // Update on the observed components.
        let y = data.y_at(t);
        let idx = observed(y);
        if !idx.is_empty() {
            let (hx, hj) = jacobian(&m, |x| model.observation(&thd, t, x));
            let r = model.obs_cov(theta, t);
            let mo = idx.len();
            // S = H P Hᵀ + R, C = P Hᵀ (observed rows).
            let mut c = vec![0.0; n * mo];
            for (a, &ia) in idx.iter().enumerate() {
                for i in 0..n {
                    c[i + a * n] = (0..n).map(|l| p[i + l * n] * hj[ia + l * mo_all]).sum();
                }
            }
            let mut s = vec![0.0; mo * mo];
            for (b, &ib) in idx.iter().enumerate() {
                for (a, &ia) in idx.iter().enumerate() {
                    s[a + b * mo] = r[ia + ib * mo_all]
                        + (0..n)
                            .map(|l| hj[ia + l * mo_all] * c[l + b * n])
                            .sum::<f64>();
                }
            }
            let yo: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
            let yhat: Vec<f64> = idx.iter().map(|&i| hx[i]).collect();
            let moments = ObservedMoments {
                y: &yo,
                yhat: &yhat,
                s: &s,
                c: &c,
            };
            out.loglik += gaussian_update(&mut m, &mut p, n, moments, t, "ekf")?;
        }
        out.filt_mean.extend_from_slice(&m);
        out.filt_cov.extend_from_slice(&p);
        // Predict: m ← f(m), P ← F P Fᵀ + Q.
        let u = data.u_at(t);
        let (fx, fj) = jacobian(&m, |x| model.transition(&thd, t, x, u));
        let q = model.process_cov(theta, t);
        let mut fp = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..n {
                fp[i + j * n] = (0..n).map(|l| fj[i + l * n] * p[l + j * n]).sum();
            }
        }
        for j in 0..n {
            for i in 0..n {
                p[i + j * n] =
                    q[i + j * n] + (0..n).map(|l| fp[i + l * n] * fj[j + l * n]).sum::<f64>();
            }
        }
        crate::ssm::dense::symmetrize_in_place(&mut p, n);
        m = fx;
    }
    if !out.loglik.is_finite() {
        return Err(mechml_engine::Error::NonFinite {
            op: "ekf",
            index: 0,
            value: out.loglik,
            context: "log-likelihood".into(),
        });
    }
    Ok(out)
}

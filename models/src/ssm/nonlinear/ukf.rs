//! The unscented Kalman filter (Julier & Uhlmann 1997; Wan & van der Merwe 2000, "The
//! unscented Kalman filter for nonlinear estimation", eqs. (15)–(18)): 2n + 1 sigma points
//! m ± √((n + λ) P) columns, λ = α²(n + κ) − n, weights W₀ᵐ = λ/(n + λ),
//! W₀ᶜ = W₀ᵐ + 1 − α² + β, Wᵢ = 1/(2(n + λ)), propagated through f and h.
//!
//! The code is generic over [`Real`]: run on a tape it gives the exact gradient of the UKF
//! log-likelihood in the parameters θ (used to fit [hybrid](super::hybrid) models). On a
//! linear model the unscented transform is exact and the UKF is the Kalman filter.
//!
//! ```
//! use mechml_models::ssm::{LinearGaussianSsm, Observations};
//! use mechml_models::ssm::nonlinear::{LinearAsNonlinear, ukf::{ukf, UkfOptions}};
//! let lin = LinearGaussianSsm::time_invariant(2, 1, vec![0.9, 0.1, -0.2, 0.8], vec![0.1, 0.0, 0.0, 0.1],
//!                                             vec![1.0, 0.5], vec![0.2], vec![0.0, 0.0], vec![1.0, 0.0, 0.0, 1.0])?;
//! let data = Observations::univariate(vec![0.1, 0.4, -0.2])?;
//! let out = ukf(&LinearAsNonlinear(&lin), &[] as &[f64], &data, &UkfOptions::default())?;
//! let kf = mechml_models::ssm::kalman::kalman_loglik(&lin, &data)?;
//! assert!((out.loglik - kf).abs() < 1e-12);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::{GaussianFilterOutput, NonlinearSsm, ObservedMoments, gaussian_update, observed};
use crate::ssm::dense::{cholesky_in_place, symmetrize_in_place};
use crate::ssm::model::Observations;

/// Sigma-point parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct UkfOptions {
    /// Spread α (0 < α ≤ 1).
    pub alpha: f64,
    /// Prior-knowledge parameter β (2 is optimal for Gaussians).
    pub beta: f64,
    /// Secondary scaling κ.
    pub kappa: f64,
}

impl Default for UkfOptions {
    fn default() -> Self {
        Self {
            alpha: 1.0,
            beta: 2.0,
            kappa: 0.0,
        }
    }
}

/// Sigma points (2n + 1, each of length n) of N(m, P).
fn sigma_points<R: Real>(m: &[R], p: &[R], n: usize, scale: f64, t: usize) -> Result<Vec<Vec<R>>> {
    let mut l: Vec<R> = p.iter().map(|&v| v * scale).collect();
    symmetrize_in_place(&mut l, n);
    // A tiny relative jitter keeps a singular (e.g. deterministic) direction factorable.
    let tr: f64 = (0..n)
        .map(|i| l[i + i * n].value().abs())
        .sum::<f64>()
        .max(1e-300);
    for i in 0..n {
        l[i + i * n] += tr * 1e-14;
    }
    cholesky_in_place(&mut l, n, "ukf").map_err(|_| Error::InvalidArgument {
        op: "ukf",
        message: format!("state covariance at step {t} is not positive semi-definite"),
    })?;
    let mut pts = Vec::with_capacity(2 * n + 1);
    pts.push(m.to_vec());
    for j in 0..n {
        pts.push((0..n).map(|i| m[i] + l[i + j * n]).collect());
    }
    for j in 0..n {
        pts.push((0..n).map(|i| m[i] - l[i + j * n]).collect());
    }
    Ok(pts)
}

/// Runs the UKF with parameters `theta` (any [`Real`]).
pub fn ukf<R: Real, M: NonlinearSsm>(
    model: &M,
    theta: &[R],
    data: &Observations,
    opts: &UkfOptions,
) -> Result<GaussianFilterOutput<R>> {
    let n = model.n_state();
    let nf = n as f64;
    let lambda = opts.alpha * opts.alpha * (nf + opts.kappa) - nf;
    if nf + lambda <= 0.0 {
        return Err(Error::invalid_option(
            "ukf",
            "alpha, kappa",
            format!(
                "α = {}, κ = {} (n + λ = {})",
                opts.alpha,
                opts.kappa,
                nf + lambda
            ),
            "n + λ = α² (n + κ) > 0: raise α or κ",
        ));
    }
    let wm0 = lambda / (nf + lambda);
    let wc0 = wm0 + 1.0 - opts.alpha * opts.alpha + opts.beta;
    let wi = 0.5 / (nf + lambda);
    let wm = |i: usize| if i == 0 { wm0 } else { wi };
    let wc = |i: usize| if i == 0 { wc0 } else { wi };
    let (mut m, mut p) = model.prior(theta);
    let mo_all = model.n_obs();
    let mut out = GaussianFilterOutput {
        loglik: R::zero(),
        filt_mean: Vec::with_capacity(data.n_steps * n),
        filt_cov: Vec::new(),
    };
    for t in 0..data.n_steps {
        let y = data.y_at(t);
        let idx = observed(y);
        if !idx.is_empty() {
            let pts = sigma_points(&m, &p, n, nf + lambda, t)?;
            let z: Vec<Vec<R>> = pts.iter().map(|x| model.observation(theta, t, x)).collect();
            let mo = idx.len();
            let mut yhat = vec![R::zero(); mo];
            for (i, zi) in z.iter().enumerate() {
                for (a, &ia) in idx.iter().enumerate() {
                    yhat[a] += zi[ia] * wm(i);
                }
            }
            let r = model.obs_cov(theta, t);
            let mut s = vec![R::zero(); mo * mo];
            for (b, &ib) in idx.iter().enumerate() {
                for (a, &ia) in idx.iter().enumerate() {
                    s[a + b * mo] = r[ia + ib * mo_all];
                }
            }
            let mut c = vec![R::zero(); n * mo];
            for (i, (xi, zi)) in pts.iter().zip(&z).enumerate() {
                for (b, &ib) in idx.iter().enumerate() {
                    let db = zi[ib] - yhat[b];
                    for (a, &ia) in idx.iter().enumerate() {
                        s[a + b * mo] += (zi[ia] - yhat[a]) * db * wc(i);
                    }
                    for k in 0..n {
                        c[k + b * n] += (xi[k] - m[k]) * db * wc(i);
                    }
                }
            }
            let yo: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
            let moments = ObservedMoments {
                y: &yo,
                yhat: &yhat,
                s: &s,
                c: &c,
            };
            out.loglik += gaussian_update(&mut m, &mut p, n, moments, t, "ukf")?;
        }
        out.filt_mean.extend_from_slice(&m);
        out.filt_cov.extend_from_slice(&p);
        // Predict through f.
        let u = data.u_at(t);
        let pts = sigma_points(&m, &p, n, nf + lambda, t)?;
        let fx: Vec<Vec<R>> = pts
            .iter()
            .map(|x| model.transition(theta, t, x, u))
            .collect();
        let mut mn = vec![R::zero(); n];
        for (i, f) in fx.iter().enumerate() {
            for k in 0..n {
                mn[k] += f[k] * wm(i);
            }
        }
        let mut pn = model.process_cov(theta, t);
        for (i, f) in fx.iter().enumerate() {
            for j in 0..n {
                let dj = f[j] - mn[j];
                for k in 0..n {
                    pn[k + j * n] += (f[k] - mn[k]) * dj * wc(i);
                }
            }
        }
        symmetrize_in_place(&mut pn, n);
        m = mn;
        p = pn;
    }
    if !out.loglik.value().is_finite() {
        return Err(Error::NonFinite {
            op: "ukf",
            index: 0,
            value: out.loglik.value(),
            context: "log-likelihood".into(),
        });
    }
    Ok(out)
}

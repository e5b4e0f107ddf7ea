//! The Rauch–Tung–Striebel smoother (Rauch, Tung & Striebel 1965; Särkkä 2013,
//! "Bayesian Filtering and Smoothing", Thm. 8.2): from the filter's moments, backwards,
//!
//! $$ J_t = P_{t|t} F_tᵀ P_{t+1|t}^{-1},\\quad
//!    m_{t|T} = m_{t|t} + J_t (m_{t+1|T} − m_{t+1|t}),\\quad
//!    P_{t|T} = P_{t|t} + J_t (P_{t+1|T} − P_{t+1|t}) J_tᵀ. $$
//!
//! A singular predicted covariance (a deterministic state component, e.g. a known initial
//! state) is handled with its pseudo-inverse, which is the limit of the smoother as the
//! singular directions become certain.
//!
//! ```
//! use mechml_engine::ssm::{LinearGaussianSsm, Observations, kalman::kalman_filter, smoother::rts_smoother};
//! let model = LinearGaussianSsm::time_invariant(1, 1, vec![1.0], vec![0.1], vec![1.0],
//!                                               vec![0.5], vec![0.0], vec![1.0])?;
//! let data = Observations::univariate(vec![0.3, f64::NAN, 0.1])?;
//! let filt = kalman_filter(&model, &data)?;
//! let sm = rts_smoother(&model, &filt)?;
//! // At the last step the smoother equals the filter.
//! assert!((sm.mean_at(2)[0] - filt.filt_mean_at(2)[0]).abs() < 1e-15);
//! // The missing step is informed by both neighbours.
//! assert!(sm.cov_at(1)[0] < filt.filt_cov_at(1)[0]);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::error::{Error, Result};
use faer::{Mat, Side};

use super::dense::{cholesky_in_place, solve_lower_in_place, solve_lower_t_in_place};
use super::kalman::FilterOutput;
use super::model::LinearGaussianSsm;

/// Smoothed moments m_{t|T}, P_{t|T}.
#[derive(Clone, Debug, PartialEq)]
pub struct SmootherOutput {
    /// State dimension.
    pub n: usize,
    /// Number of steps.
    pub n_steps: usize,
    /// Means, `T x n`.
    pub mean: Vec<f64>,
    /// Covariances, `T x (n x n)`.
    pub cov: Vec<f64>,
}

impl SmootherOutput {
    /// Smoothed mean at step t.
    pub fn mean_at(&self, t: usize) -> &[f64] {
        &self.mean[t * self.n..(t + 1) * self.n]
    }
    /// Smoothed covariance at step t.
    pub fn cov_at(&self, t: usize) -> &[f64] {
        let nn = self.n * self.n;
        &self.cov[t * nn..(t + 1) * nn]
    }
}

/// Runs the RTS smoother on the output of [`kalman_filter`](super::kalman::kalman_filter).
pub fn rts_smoother(
    model: &LinearGaussianSsm<f64>,
    filt: &FilterOutput<f64>,
) -> Result<SmootherOutput> {
    let n = filt.n;
    let nn = n * n;
    let t_len = filt.n_steps;
    if model.n_state() != n {
        return Err(Error::ShapeMismatch {
            op: "rts_smoother",
            arg: "model",
            expected: format!("state dimension {n}"),
            found: format!("state dimension {}", model.n_state()),
        });
    }
    let mut mean = vec![0.0; t_len * n];
    let mut cov = vec![0.0; t_len * nn];
    if t_len == 0 {
        return Ok(SmootherOutput {
            n,
            n_steps: 0,
            mean,
            cov,
        });
    }
    let last = t_len - 1;
    mean[last * n..].copy_from_slice(filt.filt_mean_at(last));
    cov[last * nn..].copy_from_slice(filt.filt_cov_at(last));
    let mut fp = vec![0.0; nn];
    let mut jt = vec![0.0; nn];
    let mut dm = vec![0.0; n];
    let mut dp = vec![0.0; nn];
    let mut tmp = vec![0.0; nn];
    for t in (0..last).rev() {
        let f = model.f.at(t);
        let pf = filt.filt_cov_at(t);
        let mf = filt.filt_mean_at(t);
        let pp = filt.pred_cov_at(t + 1);
        let mp = filt.pred_mean_at(t + 1);
        // fp = F P_f (n x n); Jᵀ = P_p⁻¹ F P_f.
        for j in 0..n {
            for i in 0..n {
                fp[i + j * n] = (0..n).map(|l| f[i + l * n] * pf[l + j * n]).sum();
            }
        }
        solve_spd_or_pinv(pp, n, &fp, &mut jt)?;
        // J = jtᵀ.
        let (ms_next, ps_next) = {
            let ms = &mean[(t + 1) * n..(t + 2) * n];
            let ps = &cov[(t + 1) * nn..(t + 2) * nn];
            (ms.to_vec(), ps.to_vec())
        };
        for i in 0..n {
            dm[i] = ms_next[i] - mp[i];
        }
        for i in 0..nn {
            dp[i] = ps_next[i] - pp[i];
        }
        for i in 0..n {
            let s: f64 = (0..n).map(|l| jt[l + i * n] * dm[l]).sum();
            mean[t * n + i] = mf[i] + s;
        }
        // tmp = J dP (n x n), J[i, l] = jt[l, i].
        for j in 0..n {
            for i in 0..n {
                tmp[i + j * n] = (0..n).map(|l| jt[l + i * n] * dp[l + j * n]).sum();
            }
        }
        for j in 0..n {
            for i in j..n {
                let s: f64 = (0..n).map(|l| tmp[i + l * n] * jt[l + j * n]).sum();
                let v = pf[i + j * n] + s;
                let v2 = pf[j + i * n] + s;
                cov[t * nn + i + j * n] = 0.5 * (v + v2);
                cov[t * nn + j + i * n] = 0.5 * (v + v2);
            }
        }
    }
    Ok(SmootherOutput {
        n,
        n_steps: t_len,
        mean,
        cov,
    })
}

/// X = A⁺ B for symmetric positive semi-definite A (`n x n`) and B (`n x n`): by Cholesky
/// when A is positive definite, else by the eigen-decomposition pseudo-inverse.
fn solve_spd_or_pinv(a: &[f64], n: usize, b: &[f64], x: &mut [f64]) -> Result<()> {
    let mut l = a.to_vec();
    if cholesky_in_place(&mut l, n, "rts_smoother").is_ok() {
        x.copy_from_slice(b);
        for j in 0..n {
            let col = &mut x[j * n..(j + 1) * n];
            solve_lower_in_place(&l, n, col);
            solve_lower_t_in_place(&l, n, col);
        }
        return Ok(());
    }
    let m = Mat::<f64>::from_fn(n, n, |i, j| 0.5 * (a[i + j * n] + a[j + i * n]));
    let eig = m
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| Error::NoConvergence {
            op: "rts_smoother",
            iterations: 0,
            detail: "eigen-decomposition of a predicted covariance failed".into(),
        })?;
    let u = eig.U();
    let s = eig.S().column_vector();
    let smax = (0..n).map(|i| s[i].abs()).fold(0.0, f64::max);
    let tol = smax * (n as f64) * f64::EPSILON * 16.0;
    for j in 0..n {
        for i in 0..n {
            let mut acc = 0.0;
            for k in 0..n {
                if s[k] > tol {
                    let ub: f64 = (0..n).map(|l| u[(l, k)] * b[l + j * n]).sum();
                    acc += u[(i, k)] * ub / s[k];
                }
            }
            x[i + j * n] = acc;
        }
    }
    Ok(())
}

//! Hybrid transitions: a mechanistic step plus a learned term,
//!
//! $$ x_{t+1} = Φ x_t + Γ u_t + g_w(x_t) + w_t, $$
//!
//! where Φ, Γ come from the exact discretisation of a physical model (e.g. an
//! energy-balance model, [`discretize`](crate::ssm::discretize())) and g_w is a small
//! multilayer perceptron written over [`Real`] ([`Mlp`]). The weights w are fitted by
//! maximising the unscented Kalman filter's log-likelihood, recorded on a tape and
//! differentiated exactly, with L-BFGS ([`fit_hybrid`]); a ridge penalty keeps the learned
//! term small where the data do not ask for it (a universal-differential-equation
//! approach in discrete time; Rackauckas et al. 2020, arXiv:2001.04385).
//!
//! ```
//! use mechml_models::ssm::nonlinear::hybrid::Mlp;
//! let net = Mlp::new(vec![2, 4, 2])?;
//! assert_eq!(net.n_params(), 2 * 4 + 4 + 4 * 2 + 2);
//! let w = net.init(1, 0.1);
//! let y = net.forward(&w, &[0.5, -0.3]);
//! assert_eq!(y.len(), 2);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use mechml_engine::Result;
use mechml_engine::ad::{Real, Tape};
use mechml_engine::optim::{LbfgsOptions, OptimResult, lbfgs};

use super::ukf::{UkfOptions, ukf};
use super::{NonlinearSsm, affine, constants};
use crate::ssm::model::Observations;

/// The network moved to the engine ([`mechml_engine::nn::Mlp`]); re-exported here so the
/// old path keeps working.
pub use mechml_engine::nn::Mlp;

/// A hybrid model: x' = Φ x + Γ u + S g_w(x) + w, y = H x + v, where S places the network's
/// outputs on the state components `learned_rows`. The parameters θ are the network's
/// weights.
#[derive(Clone, Debug, PartialEq)]
pub struct HybridSsm {
    /// State dimension n.
    pub n: usize,
    /// Observation dimension m.
    pub m: usize,
    /// Φ (`n x n`).
    pub phi: Vec<f64>,
    /// Γ (`n x k`).
    pub gamma: Vec<f64>,
    /// Q (`n x n`).
    pub q: Vec<f64>,
    /// H (`m x n`).
    pub h: Vec<f64>,
    /// R (`m x m`).
    pub r: Vec<f64>,
    /// Prior mean.
    pub m1: Vec<f64>,
    /// Prior covariance.
    pub p1: Vec<f64>,
    /// The learned term g (input n, output one value per entry of `learned_rows`).
    pub net: Mlp,
    /// The state components that receive the learned term (e.g. `[0]`: a learned
    /// feedback on the surface temperature only).
    pub learned_rows: Vec<usize>,
}

impl NonlinearSsm for HybridSsm {
    fn n_state(&self) -> usize {
        self.n
    }
    fn n_obs(&self) -> usize {
        self.m
    }
    fn transition<R: Real>(&self, theta: &[R], _t: usize, x: &[R], u: &[f64]) -> Vec<R> {
        let n = self.n;
        let g = self.net.forward(theta, x);
        let mut add = vec![R::zero(); n];
        for (k, &row) in self.learned_rows.iter().enumerate() {
            if let (Some(a), Some(&gk)) = (add.get_mut(row), g.get(k)) {
                *a += gk;
            }
        }
        (0..n)
            .map(|i| {
                let mut v = add[i];
                for j in 0..n {
                    v += x[j] * self.phi[i + j * n];
                }
                for (l, &ul) in u.iter().enumerate() {
                    v += self.gamma[i + l * n] * ul;
                }
                v
            })
            .collect()
    }
    fn observation<R: Real>(&self, _: &[R], _t: usize, x: &[R]) -> Vec<R> {
        affine(&self.h, self.m, &x[..self.n], None)
    }
    fn process_cov<R: Real>(&self, _: &[R], _t: usize) -> Vec<R> {
        constants(&self.q)
    }
    fn obs_cov<R: Real>(&self, _: &[R], _t: usize) -> Vec<R> {
        constants(&self.r)
    }
    fn prior<R: Real>(&self, _: &[R]) -> (Vec<R>, Vec<R>) {
        (constants(&self.m1), constants(&self.p1))
    }
}

/// UKF log-likelihood and its gradient in θ (recorded on `tape`).
pub fn ukf_loglik_grad<M: NonlinearSsm>(
    model: &M,
    theta: &[f64],
    data: &Observations,
    opts: &UkfOptions,
    tape: &mut Tape,
) -> Result<(f64, Vec<f64>)> {
    tape.clear();
    let tape: &Tape = tape;
    let th = tape.vars(theta);
    let out = ukf(model, &th, data, opts)?;
    let g = tape.gradient(&out.loglik)?;
    Ok((out.loglik.val(), g.wrt_slice(&th)))
}

/// Fits θ by maximising the UKF log-likelihood minus `ridge`·‖θ‖²/2, from `theta0`.
pub fn fit_hybrid<M: NonlinearSsm>(
    model: &M,
    data: &Observations,
    theta0: &[f64],
    ridge: f64,
    lbfgs_opts: &LbfgsOptions,
) -> Result<OptimResult> {
    let mut tape = Tape::with_capacity(1 << 16);
    let scale = 1.0 / data.n_observed().max(1) as f64;
    let opts = UkfOptions::default();
    let objective = |th: &[f64]| -> Result<(f64, Vec<f64>)> {
        match ukf_loglik_grad(model, th, data, &opts, &mut tape) {
            Ok((ll, g)) => {
                let pen: f64 = th.iter().map(|v| v * v).sum::<f64>() * 0.5 * ridge;
                Ok((
                    (-ll + pen) * scale,
                    g.iter()
                        .zip(th)
                        .map(|(gi, ti)| (-gi + ridge * ti) * scale)
                        .collect(),
                ))
            }
            Err(_) => Ok((1e30, vec![0.0; th.len()])),
        }
    };
    lbfgs(objective, theta0, lbfgs_opts)
}

//! [`TemporalGp`]: GP regression in time with a [`StateSpaceKernel`] (the Matérn kernels),
//! in `O(n)` by the engine's Kalman filter (likelihood, and its gradient by the filter's
//! hand-written adjoint) and RTS smoother (predictions; Rauch, Tung & Striebel 1965;
//! Särkkä 2013, Alg. 8.2).

use serde::{Deserialize, Serialize};

use super::filter::{TemporalData, log_likelihood, log_likelihood_and_grad};
use super::kernel::{StateSpaceKernel, process_noise_into};
use crate::error::{Error, Result};
use crate::optim::{LbfgsOptions, OptimResult, lbfgs};
use crate::param::{Param, ParamLayout};
use crate::ssm::{LinearGaussianSsm, Observations, Seq, kalman_filter, rts_smoother};

/// What [`TemporalGp::fit`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemporalFitReport {
    /// The optimiser's result (trace of `−log p(y)` over the unconstrained parameters
    /// [`TemporalGp::params`]).
    pub optim: OptimResult,
    /// The log marginal likelihood at the fitted parameters.
    pub lml: f64,
}

/// A temporal GP `y(t) = f(t) + ε`, `f ~ GP(0, k)` with a [`StateSpaceKernel`] `k`,
/// `ε ~ N(0, σ_n²)`, computed in state-space form.
///
/// The hyperparameters live in one place, the [`ParamLayout`] of [`TemporalGp::layout`]:
/// the kernel's (`"variance"`, `"lengthscale"` for a Matérn kernel, the order of
/// [`ExactGp`](crate::gp::ExactGp)) followed by `"noise_variance"`, positive ones on the log
/// scale. The kernel gives the structure only; `θ` gives the values.
///
/// ```
/// use mechml_engine::gp::{Matern32, TemporalGp};
/// let t: Vec<f64> = (0..1000).map(|i| i as f64 * 0.01).collect();
/// let y: Vec<f64> = t.iter().map(|v| (2.0 * v).sin()).collect();
/// // θ = (σ², ℓ, σ_n²), as for an exact GP.
/// let mut gp = TemporalGp::new(Matern32::isotropic(), &t, &y, &[1.0, 1.0, 0.01])?;
/// assert_eq!(gp.layout().names(), ["variance", "lengthscale", "noise_variance"]);
/// let (lml, grad) = gp.lml_and_grad(&gp.params())?;
/// assert!(lml.is_finite() && grad.iter().all(|g| g.is_finite()));
/// gp.fit(&Default::default())?;
/// let (mean, var) = gp.predict(&[5.005])?;
/// assert!((mean[0] - 10.01f64.sin()).abs() < 0.05 && var[0] < 0.01);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemporalGp<K> {
    kernel: K,
    layout: ParamLayout,
    t: Vec<f64>,
    y: Observations,
}

/// Checks a series: same lengths, finite, not empty.
pub(crate) fn check_series(op: &'static str, t: &[f64], y: &[f64]) -> Result<()> {
    crate::error::check_len(op, "y", y.len(), t.len())?;
    crate::error::check_finite(op, "t", t)?;
    crate::error::check_finite(op, "y", y)?;
    if t.is_empty() {
        return Err(Error::invalid_option(
            op,
            "t",
            "[]",
            "at least one observation",
        ));
    }
    Ok(())
}

/// The layout of a temporal GP at `theta`: the kernel's hyperparameters, then
/// `"noise_variance"` (checked: length, and each value in its support).
pub(crate) fn temporal_layout<K: StateSpaceKernel>(
    kernel: &K,
    theta: &[f64],
) -> Result<ParamLayout> {
    let mut params = kernel.hyperparameters()?;
    params.push(Param::positive("noise_variance", 1.0));
    let layout = ParamLayout::new(params)?;
    crate::gp::params::at_values("TemporalGp", layout, theta)
}

impl<K: StateSpaceKernel> TemporalGp<K> {
    /// From a kernel (its structure), observations `(t, y)` in any order (they are sorted
    /// by time) and the natural-scale hyperparameters `theta`: the kernel's, then the noise
    /// variance `σ_n²` (`(σ², ℓ, σ_n²)` for a Matérn kernel).
    ///
    /// # Errors
    /// Lengths that differ, non-finite or no observations, a value outside its support
    /// (e.g. a non-positive variance), or a kernel without a state-space form as configured.
    pub fn new(kernel: K, t: &[f64], y: &[f64], theta: &[f64]) -> Result<Self> {
        check_series("TemporalGp", t, y)?;
        let layout = temporal_layout(&kernel, theta)?;
        let mut idx: Vec<usize> = (0..t.len()).collect();
        idx.sort_by(|&a, &b| t[a].total_cmp(&t[b]));
        Ok(Self {
            kernel,
            layout,
            t: idx.iter().map(|&i| t[i]).collect(),
            y: Observations::univariate(idx.iter().map(|&i| y[i]).collect())?,
        })
    }

    /// The kernel: its structure (the values of its hyperparameters are those of
    /// [`TemporalGp::layout`]).
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    /// The named hyperparameters and their current values (natural scale).
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// The unconstrained parameters (`(log σ², log ℓ, log σ_n²)` for a Matérn kernel).
    pub fn params(&self) -> Vec<f64> {
        // Values are checked against their supports whenever they are set.
        self.layout.free_unconstrained().unwrap_or_default()
    }

    /// Sets the unconstrained parameters.
    ///
    /// # Errors
    /// A wrong length or a non-finite value.
    pub fn set_params(&mut self, params: &[f64]) -> Result<()> {
        crate::error::check_finite("TemporalGp::set_params", "params", params)?;
        self.layout.set_free_unconstrained(params)
    }

    /// The sorted times.
    pub fn times(&self) -> &[f64] {
        &self.t
    }

    /// The observations, in time order.
    pub fn observations(&self) -> &[f64] {
        &self.y.y
    }

    fn data<'a>(&'a self, theta: &'a [f64]) -> TemporalData<'a, K> {
        let p = theta.len() - 1;
        TemporalData {
            kernel: &self.kernel,
            theta: &theta[..p],
            noise: theta[p],
            t: &self.t,
            y: &self.y,
        }
    }

    /// `log p(y)` at the current parameters.
    pub fn log_marginal_likelihood(&self) -> Result<f64> {
        let theta = self.layout.values();
        log_likelihood(&self.data(&theta))
    }

    /// `log p(y)` and its gradient with respect to the unconstrained `params` in `O(n)`.
    ///
    /// # Errors
    /// A wrong length, non-finite parameters, or a non-finite likelihood or gradient.
    pub fn lml_and_grad(&self, params: &[f64]) -> Result<(f64, Vec<f64>)> {
        crate::error::check_finite("TemporalGp", "params", params)?;
        let theta = self.layout.natural(params)?;
        let (v, g) = log_likelihood_and_grad(&self.data(&theta))?;
        Ok((v, self.layout.chain_gradient(params, &g)?))
    }

    /// Maximises `log p(y)` by L-BFGS over the unconstrained parameters and keeps the
    /// result.
    pub fn fit(&mut self, opts: &LbfgsOptions) -> Result<TemporalFitReport> {
        let objective = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
            let (v, g) = self.lml_and_grad(z)?;
            Ok((-v, g.iter().map(|x| -x).collect()))
        };
        let optim = lbfgs(objective, &self.params(), opts)?;
        self.layout.set_free_unconstrained(&optim.x)?;
        Ok(TemporalFitReport {
            lml: -optim.value,
            optim,
        })
    }

    /// Posterior mean and variance of `f` at `t_star`, by filtering over the merged time
    /// grid (test times unobserved) and RTS smoothing back.
    pub fn predict(&self, t_star: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        crate::error::check_finite("TemporalGp::predict", "t_star", t_star)?;
        let theta = self.layout.values();
        let p = theta.len() - 1;
        let (kt, noise) = (&theta[..p], theta[p]);
        let q = self.kernel.state_dim();
        // Merged grid: (time, observation index or None, test index or None); at equal
        // times observations come first.
        let mut grid: Vec<(f64, Option<usize>, Option<usize>)> = self
            .t
            .iter()
            .enumerate()
            .map(|(k, &tk)| (tk, Some(k), None))
            .collect();
        grid.extend(
            t_star
                .iter()
                .enumerate()
                .map(|(j, &tj)| (tj, None, Some(j))),
        );
        grid.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.is_some().cmp(&a.1.is_some())));
        let n = grid.len();
        let pinf = self.kernel.stationary_covariance(kt);
        let mut f = vec![0.0; n * q * q];
        let mut qs = vec![0.0; n * q * q];
        let mut work = vec![0.0; q * q];
        for k in 0..n {
            let dt = if k + 1 < n {
                grid[k + 1].0 - grid[k].0
            } else {
                0.0
            };
            let fk = &mut f[k * q * q..(k + 1) * q * q];
            self.kernel.transition_into(kt, dt, fk)?;
            process_noise_into(fk, &pinf, q, &mut work, &mut qs[k * q * q..(k + 1) * q * q]);
        }
        let h = self.kernel.observation();
        let model = LinearGaussianSsm {
            f: Seq::varying(q, q, n, f)?,
            b: Seq::zeros(q, 0),
            c: Seq::zeros(q, 1),
            q: Seq::varying(q, q, n, qs)?,
            h: Seq::constant(1, q, h.clone())?,
            d: Seq::zeros(1, 1),
            r: Seq::constant(1, 1, vec![noise])?,
            m1: vec![0.0; q],
            p1: pinf,
        };
        let y: Vec<f64> = grid
            .iter()
            .map(|&(_, obs, _)| obs.map_or(f64::NAN, |o| self.y.y[o]))
            .collect();
        let data = Observations::univariate(y)?;
        let filt = kalman_filter(&model, &data)?;
        let smooth = rts_smoother(&model, &filt)?;
        let mut mean = vec![0.0; t_star.len()];
        let mut var = vec![0.0; t_star.len()];
        for (k, &(_, _, test)) in grid.iter().enumerate() {
            if let Some(j) = test {
                let (m, c) = (smooth.mean_at(k), smooth.cov_at(k));
                mean[j] = (0..q).map(|i| h[i] * m[i]).sum();
                let v: f64 = (0..q)
                    .map(|i| (0..q).map(|l| h[i] * c[i + l * q] * h[l]).sum::<f64>())
                    .sum();
                var[j] = v.max(0.0);
            }
        }
        Ok((mean, var))
    }
}

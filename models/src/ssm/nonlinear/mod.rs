//! Nonlinear state-space models and their filters:
//!
//! $$ x_1 \\sim N(m_1, P_1),\\quad x_{t+1} = f_θ(x_t, u_t, t) + w_t,\\ w_t \\sim N(0, Q_t),\\quad
//!    y_t = h_θ(x_t, t) + v_t,\\ v_t \\sim N(0, R_t). $$
//!
//! * [`ekf`]: the extended Kalman filter, with Jacobians of f and h from forward-mode AD;
//! * [`ukf`]: the unscented Kalman filter (generic over [`Real`],
//!   so its log-likelihood can be recorded on a tape and differentiated in θ);
//! * [`particle`]: the bootstrap particle filter with systematic resampling, parallel over
//!   particles and reproducible for any number of threads;
//! * [`hybrid`]: hybrid transitions, a discretised linear mechanistic step plus a learned
//!   term (a small neural network written over `Real`);
//! * [`hybrid_ode`]: hybrid transitions whose mechanistic part is a Runge–Kutta solve of
//!   a physical ODE with parameters fitted jointly with the learned term (a network or a
//!   GP residual).
//!
//! Missing observations (NaN) are skipped component-wise, as in the Kalman filter.
//!
//! ```
//! use mechml_engine::ad::Real;
//! use mechml_models::ssm::Observations;
//! use mechml_models::ssm::nonlinear::{NonlinearSsm, ekf::ekf};
//! /// x' = θ sin(x) + w, y = x + v.
//! struct Pendulum;
//! impl NonlinearSsm for Pendulum {
//!     fn n_state(&self) -> usize { 1 }
//!     fn n_obs(&self) -> usize { 1 }
//!     fn transition<R: Real>(&self, th: &[R], _: usize, x: &[R], _: &[f64]) -> Vec<R> { vec![th[0] * x[0].sin()] }
//!     fn observation<R: Real>(&self, _: &[R], _: usize, x: &[R]) -> Vec<R> { vec![x[0]] }
//!     fn process_cov<R: Real>(&self, _: &[R], _: usize) -> Vec<R> { vec![R::from_f64(0.01)] }
//!     fn obs_cov<R: Real>(&self, _: &[R], _: usize) -> Vec<R> { vec![R::from_f64(0.04)] }
//!     fn prior<R: Real>(&self, _: &[R]) -> (Vec<R>, Vec<R>) { (vec![R::from_f64(1.0)], vec![R::from_f64(0.1)]) }
//! }
//! let data = Observations::univariate(vec![1.0, 0.85, 0.7, 0.62])?;
//! let out = ekf(&Pendulum, &[0.95], &data)?;
//! assert!(out.loglik.is_finite() && out.filt_mean.len() == 4);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

pub mod ekf;
pub mod hybrid;
pub mod hybrid_ode;
pub mod particle;
pub mod ukf;

use mechml_engine::ad::Real;

use super::model::LinearGaussianSsm;

/// A nonlinear state-space model with parameters θ; every function is generic over the
/// scalar type so that Jacobians (dual numbers) and parameter gradients (tape) are exact.
pub trait NonlinearSsm: Sync {
    /// State dimension n.
    fn n_state(&self) -> usize;
    /// Observation dimension m.
    fn n_obs(&self) -> usize;
    /// f_θ(x_t, u_t, t): the mean of x_{t+1}.
    fn transition<R: Real>(&self, theta: &[R], t: usize, x: &[R], u: &[f64]) -> Vec<R>;
    /// h_θ(x_t, t): the mean of y_t.
    fn observation<R: Real>(&self, theta: &[R], t: usize, x: &[R]) -> Vec<R>;
    /// Q_t (`n x n`, column-major).
    fn process_cov<R: Real>(&self, theta: &[R], t: usize) -> Vec<R>;
    /// R_t (`m x m`).
    fn obs_cov<R: Real>(&self, theta: &[R], t: usize) -> Vec<R>;
    /// (m₁, P₁).
    fn prior<R: Real>(&self, theta: &[R]) -> (Vec<R>, Vec<R>);
}

/// `f64` values as constants of `R` (fixed covariances and priors of a model).
pub(crate) fn constants<R: Real>(v: &[f64]) -> Vec<R> {
    v.iter().map(|&x| R::from_f64(x)).collect()
}

/// `c + A x` for a column-major `A` with `rows` rows and `x.len()` columns (`c = 0` when
/// `None`): the linear parts of transitions and observations.
pub(crate) fn affine<R: Real>(a: &[f64], rows: usize, x: &[R], c: Option<&[f64]>) -> Vec<R> {
    (0..rows)
        .map(|i| {
            let mut v = c.map_or(R::zero(), |c| R::from_f64(c[i]));
            for (j, &xj) in x.iter().enumerate() {
                v += xj * a[i + j * rows];
            }
            v
        })
        .collect()
}

/// A linear-Gaussian model seen as a nonlinear one (no parameters): for checking that the
/// nonlinear filters reduce to the Kalman filter.
pub struct LinearAsNonlinear<'a>(pub &'a LinearGaussianSsm<f64>);

impl NonlinearSsm for LinearAsNonlinear<'_> {
    fn n_state(&self) -> usize {
        self.0.n_state()
    }
    fn n_obs(&self) -> usize {
        self.0.n_obs()
    }
    fn transition<R: Real>(&self, _: &[R], t: usize, x: &[R], u: &[f64]) -> Vec<R> {
        let m = self.0;
        let n = m.n_state();
        let (f, c, b) = (m.f.at(t), m.c.at(t), m.b.at(t));
        (0..n)
            .map(|i| {
                let mut v = R::from_f64(c[i]);
                for j in 0..n {
                    v += x[j] * f[i + j * n];
                }
                for (l, &ul) in u.iter().enumerate() {
                    v += b[i + l * n] * ul;
                }
                v
            })
            .collect()
    }
    fn observation<R: Real>(&self, _: &[R], t: usize, x: &[R]) -> Vec<R> {
        let m = self.0;
        affine(m.h.at(t), m.n_obs(), &x[..m.n_state()], Some(m.d.at(t)))
    }
    fn process_cov<R: Real>(&self, _: &[R], t: usize) -> Vec<R> {
        constants(self.0.q.at(t))
    }
    fn obs_cov<R: Real>(&self, _: &[R], t: usize) -> Vec<R> {
        constants(self.0.r.at(t))
    }
    fn prior<R: Real>(&self, _: &[R]) -> (Vec<R>, Vec<R>) {
        (constants(&self.0.m1), constants(&self.0.p1))
    }
}

/// Output of the Gaussian nonlinear filters (EKF, UKF).
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianFilterOutput<R = f64> {
    /// Log-likelihood (approximate for nonlinear models).
    pub loglik: R,
    /// Filtered means, `T x n`.
    pub filt_mean: Vec<R>,
    /// Filtered covariances, `T x (n x n)`.
    pub filt_cov: Vec<R>,
}

/// The observed components of y_t and the corresponding rows/columns.
pub(crate) fn observed(y: &[f64]) -> Vec<usize> {
    y.iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, _)| i)
        .collect()
}

/// The predicted moments of the observed components of y_t at one step.
pub(crate) struct ObservedMoments<'a, R> {
    /// The observed values.
    pub y: &'a [f64],
    /// Their predicted mean ŷ.
    pub yhat: &'a [R],
    /// Their predicted covariance S (`mo x mo`).
    pub s: &'a [R],
    /// The state–observation cross-covariance C (`n x mo`).
    pub c: &'a [R],
}

/// One Gaussian update of the predicted moments (m, P) of step `t` by the observed
/// components (Kalman gain K = C S⁻¹, m ← m + K (y − ŷ), P ← P − K S Kᵀ); returns the
/// log-density of the innovation.
pub(crate) fn gaussian_update<R: Real>(
    m: &mut [R],
    p: &mut [R],
    n: usize,
    obs: ObservedMoments<'_, R>,
    t: usize,
    op: &'static str,
) -> mechml_engine::Result<R> {
    let ObservedMoments { y, yhat, s, c } = obs;
    use super::dense::{chol_inverse_into, cholesky_in_place, symmetrize_in_place};
    let mo = y.len();
    let mut l = s.to_vec();
    symmetrize_in_place(&mut l, mo);
    let mut s_sym = l.clone();
    symmetrize_in_place(&mut s_sym, mo);
    cholesky_in_place(&mut l, mo, op).map_err(|_| mechml_engine::Error::InvalidArgument {
        op,
        message: format!("innovation covariance at step {t} is not positive definite; give the observations a positive noise variance"),
    })?;
    let mut sinv = vec![R::zero(); mo * mo];
    chol_inverse_into(&l, mo, &mut sinv);
    let e: Vec<R> = (0..mo).map(|a| R::from_f64(y[a]) - yhat[a]).collect();
    // K = C S⁻¹.
    let mut k = vec![R::zero(); n * mo];
    for b in 0..mo {
        for i in 0..n {
            let mut v = R::zero();
            for a in 0..mo {
                v += c[i + a * n] * sinv[a + b * mo];
            }
            k[i + b * n] = v;
        }
    }
    let mut quad = R::zero();
    let mut logdet = R::zero();
    for a in 0..mo {
        logdet += l[a + a * mo].ln();
        for b in 0..mo {
            quad += e[a] * sinv[a + b * mo] * e[b];
        }
    }
    for i in 0..n {
        for a in 0..mo {
            m[i] += k[i + a * n] * e[a];
        }
    }
    // P ← P − K S Kᵀ.
    for j in 0..n {
        for i in 0..n {
            let mut v = R::zero();
            for a in 0..mo {
                for b in 0..mo {
                    v += k[i + a * n] * s_sym[a + b * mo] * k[j + b * n];
                }
            }
            p[i + j * n] -= v;
        }
    }
    symmetrize_in_place(p, n);
    Ok((logdet * 2.0 + quad + super::kalman::LN_2PI * mo as f64) * -0.5)
}

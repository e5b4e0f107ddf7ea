//! The extended Kalman filter with multiplicative covariance inflation.

use faer::Mat;
use mechml_engine::linalg::Llt;
use mechml_engine::linalg::Par;
use mechml_engine::{Error, Result};

use crate::da::dynamics::{Model, jacobian};
use crate::da::obs::ObsModel;

/// The extended Kalman filter: mean, covariance, inflation ρ of the forecast covariance and
/// the model-noise variance q (`Q = q I`).
#[derive(Clone, Debug)]
pub struct ExtendedKf {
    mean: Vec<f64>,
    cov: Mat<f64>,
    inflation: f64,
    q: f64,
}

impl ExtendedKf {
    /// Starts at `N(x0, p0)`; `inflation ≥ 1` multiplies `M P Mᵀ` each step.
    pub fn new(x0: Vec<f64>, p0: Mat<f64>, inflation: f64, q: f64) -> Result<Self> {
        if !(inflation.is_finite() && inflation > 0.0) {
            return Err(Error::invalid_option(
                "ExtendedKf",
                "inflation",
                inflation,
                "finite and > 0",
            ));
        }
        if !(q.is_finite() && q >= 0.0) {
            return Err(Error::invalid_option(
                "ExtendedKf",
                "q",
                q,
                "finite and >= 0",
            ));
        }
        Ok(Self {
            mean: x0,
            cov: p0,
            inflation,
            q,
        })
    }

    /// The current mean.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }
    /// The current covariance.
    pub fn cov(&self) -> &Mat<f64> {
        &self.cov
    }
    /// `sqrt(mean_i P_ii)`.
    pub fn spread(&self) -> f64 {
        let n = self.mean.len();
        ((0..n).map(|i| self.cov[(i, i)]).sum::<f64>().max(0.0) / n as f64).sqrt()
    }

    /// `m ← M(m)`, `P ← ρ M' P M'ᵀ + Q`.
    pub fn forecast<M: Model + ?Sized>(&mut self, model: &M) {
        let jac = jacobian(model, &self.mean);
        model.step(&mut self.mean);
        let mp = &jac * &self.cov;
        let p = &mp * jac.transpose();
        let n = self.mean.len();
        self.cov = Mat::from_fn(n, n, |i, j| {
            self.inflation * 0.5 * (p[(i, j)] + p[(j, i)]) + if i == j { self.q } else { 0.0 }
        });
    }

    /// The Kalman update linearised at the forecast (Joseph form).
    pub fn analyse(&mut self, obs: &ObsModel, y: &[f64]) -> Result<()> {
        obs.check_y(y, "ExtendedKf::analyse")?;
        let n = self.mean.len();
        let h = obs.operator.jacobian(&self.mean);
        let pht = &self.cov * h.transpose();
        let mut s = &h * &pht;
        for j in 0..obs.n_obs() {
            s[(j, j)] += obs.noise_var[j];
        }
        let llt = Llt::factor_named("ExtendedKf", s.as_ref(), Par::Seq)?;
        let mut kt = pht.transpose().to_owned();
        llt.solve_in_place(kt.as_mut(), Par::Seq);
        let k = kt.transpose().to_owned();
        let hx = obs.operator.eval(&self.mean)?;
        for i in 0..n {
            self.mean[i] += (0..y.len())
                .map(|j| k[(i, j)] * (y[j] - hx[j]))
                .sum::<f64>();
        }
        // Joseph form (I − KH) P (I − KH)ᵀ + K R Kᵀ.
        let mut ikh = Mat::<f64>::identity(n, n);
        ikh -= &k * &h;
        let mut p = &(&ikh * &self.cov) * ikh.transpose();
        for j in 0..obs.n_obs() {
            for b in 0..n {
                for a in 0..n {
                    p[(a, b)] += k[(a, j)] * obs.noise_var[j] * k[(b, j)];
                }
            }
        }
        self.cov = p;
        Ok(())
    }
}

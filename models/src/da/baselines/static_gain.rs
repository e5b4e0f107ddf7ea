//! A filter with a static background covariance: optimal interpolation and its scaled
//! variant (the closed form of 3D-Var for a linear observation operator).

use faer::Mat;
use mechml_engine::Result;
use mechml_engine::linalg::Llt;
use mechml_engine::linalg::Par;

use crate::da::dynamics::Model;
use crate::da::obs::ObsModel;

/// Forecast the estimate with the model; analyse with the BLUE for a static `B`.
#[derive(Clone, Debug)]
pub struct StaticGainFilter {
    mean: Vec<f64>,
    b: Mat<f64>,
    /// The gain and the analysis spread, cached for a linear operator.
    cache: Option<(Mat<f64>, f64)>,
    last_spread: f64,
}

impl StaticGainFilter {
    /// Optimal interpolation: `B = B_c` (the climatological covariance), starting at `x0`.
    pub fn optimal_interpolation(x0: Vec<f64>, b: Mat<f64>) -> Self {
        let n = b.nrows();
        let spread = ((0..n).map(|i| b[(i, i)]).sum::<f64>() / n as f64).sqrt();
        Self {
            mean: x0,
            b,
            cache: None,
            last_spread: spread,
        }
    }

    /// The current estimate.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The spread of the last analysis, `sqrt(mean_i [(I − KH)B]_ii)` (the forecast spread is
    /// that of B).
    pub fn spread(&self) -> f64 {
        self.last_spread
    }

    /// The spread of B.
    pub fn background_spread(&self) -> f64 {
        let n = self.b.nrows();
        ((0..n).map(|i| self.b[(i, i)]).sum::<f64>() / n as f64).sqrt()
    }

    /// Advances the estimate by one model step.
    pub fn forecast<M: Model + ?Sized>(&mut self, model: &M) {
        model.step(&mut self.mean);
    }

    /// The BLUE update with the static B (linearised at the forecast for a nonlinear h).
    pub fn analyse(&mut self, obs: &ObsModel, y: &[f64]) -> Result<()> {
        obs.check_y(y, "StaticGainFilter::analyse")?;
        let linear = obs.operator.is_linear();
        let (k, spread) = match (&self.cache, linear) {
            (Some(c), true) => c.clone(),
            _ => {
                let c = gain(&self.b, obs, &self.mean)?;
                if linear {
                    self.cache = Some(c.clone());
                }
                c
            }
        };
        let hx = obs.operator.eval(&self.mean)?;
        let d: Vec<f64> = y.iter().zip(&hx).map(|(a, b)| a - b).collect();
        for i in 0..self.mean.len() {
            self.mean[i] += (0..d.len()).map(|j| k[(i, j)] * d[j]).sum::<f64>();
        }
        self.last_spread = spread;
        Ok(())
    }
}

/// `K = B Hᵀ (H B Hᵀ + R)^{-1}` and `sqrt(mean diag (I − KH) B)`.
pub(crate) fn gain(b: &Mat<f64>, obs: &ObsModel, x: &[f64]) -> Result<(Mat<f64>, f64)> {
    let h = obs.operator.jacobian(x);
    let bht = b * h.transpose();
    let mut s = &h * &bht;
    for j in 0..obs.n_obs() {
        s[(j, j)] += obs.noise_var[j];
    }
    let llt = Llt::factor_named("StaticGainFilter", s.as_ref(), Par::Seq)?;
    // K = B Hᵀ S⁻¹ = (S⁻¹ H B)ᵀ.
    let mut kt = bht.transpose().to_owned();
    llt.solve_in_place(kt.as_mut(), Par::Seq);
    let k = kt.transpose().to_owned();
    let n = b.nrows();
    let khb = &k * bht.transpose();
    let tr: f64 = (0..n).map(|i| b[(i, i)] - khb[(i, i)]).sum();
    Ok((k, (tr.max(0.0) / n as f64).sqrt()))
}

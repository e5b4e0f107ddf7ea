//! 3D-Var with a static, scaled climatological background covariance.

use faer::Mat;
use mechml_engine::linalg::Llt;
use mechml_engine::linalg::Par;
use mechml_engine::optim::{LbfgsOptions, lbfgs};
use mechml_engine::{Error, Result};

use super::static_gain::gain;
use crate::da::dynamics::Model;
use crate::da::obs::ObsModel;

/// 3D-Var (see the [module docs](super)): the estimate, `B`, its Cholesky factor and the
/// L-BFGS options of the inner minimisation.
#[derive(Clone, Debug)]
pub struct Var3d {
    mean: Vec<f64>,
    b: Mat<f64>,
    l: Mat<f64>,
    /// Options of the minimisation in the control variable.
    pub lbfgs: LbfgsOptions,
    spread: Option<f64>,
    /// Iterations of the last minimisation.
    pub last_iterations: usize,
}

impl Var3d {
    /// 3D-Var with background covariance `b` (e.g. `s B_c`), starting at `x0`.
    pub fn new(x0: Vec<f64>, b: Mat<f64>) -> Result<Self> {
        let llt = Llt::factor_named("Var3d", b.as_ref(), Par::Seq)?;
        let l = llt.l().to_owned();
        Ok(Self {
            mean: x0,
            b,
            l,
            lbfgs: LbfgsOptions {
                grad_tol: 1e-8,
                record_params: false,
                ..LbfgsOptions::default()
            },
            spread: None,
            last_iterations: 0,
        })
    }

    /// The current estimate.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The spread of the linearised analysis covariance `(I − KH)B` at the last analysis.
    pub fn spread(&self) -> Option<f64> {
        self.spread
    }

    /// Advances the estimate by one model step.
    pub fn forecast<M: Model + ?Sized>(&mut self, model: &M) {
        model.step(&mut self.mean);
    }

    /// Minimises the 3D-Var cost with the forecast as background.
    pub fn analyse(&mut self, obs: &ObsModel, y: &[f64]) -> Result<()> {
        obs.check_y(y, "Var3d::analyse")?;
        let n = self.mean.len();
        let xf = self.mean.clone();
        let l = &self.l;
        let op = &obs.operator;
        let to_x = |v: &[f64]| -> Vec<f64> {
            (0..n)
                .map(|i| xf[i] + (0..=i).map(|k| l[(i, k)] * v[k]).sum::<f64>())
                .collect()
        };
        let cost = |v: &[f64]| -> Result<(f64, Vec<f64>)> {
            let x = to_x(v);
            let hx = op.eval(&x)?;
            let mut z = vec![0.0; hx.len()];
            let mut j = 0.5 * v.iter().map(|a| a * a).sum::<f64>();
            for k in 0..hx.len() {
                let d = y[k] - hx[k];
                j += 0.5 * d * d / obs.noise_var[k];
                z[k] = -d / obs.noise_var[k];
            }
            let mut hz = vec![0.0; n];
            op.adjoint_add(&x, &z, &mut hz);
            // ∇_v = v + Lᵀ Hᵀ R⁻¹ (h(x) − y).
            let g: Vec<f64> = (0..n)
                .map(|k| v[k] + (k..n).map(|i| l[(i, k)] * hz[i]).sum::<f64>())
                .collect();
            Ok((j, g))
        };
        let res = lbfgs(cost, &vec![0.0; n], &self.lbfgs)?;
        if !res.converged() {
            return Err(Error::NoConvergence {
                op: "Var3d::analyse",
                iterations: res.iterations,
                detail: format!("{:?}: raise the L-BFGS limits", res.termination),
            });
        }
        self.last_iterations = res.iterations;
        self.mean = to_x(&res.x);
        self.spread = Some(gain(&self.b, obs, &self.mean)?.1);
        Ok(())
    }
}

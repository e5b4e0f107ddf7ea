//! The benchmark workload `kalman/ebm2box_T10000` of WORKLOADS.md section 6: the two-box
//! EBM of section 3b (C, C_D, λ, γ, F, σ) observed with noise variance R, discretised
//! exactly over one year, prior N(0, I), constant forcing F (input u = 1).
//!
//! Shared by the benchmarks and the examples; the reference tests build the same model
//! independently.

use mechml_engine::Result;
use mechml_engine::ad::{Real, Tape, Var};

use super::model::{EbmData, EbmPrior, KBoxEbm};
use crate::ssm::loglik_op::{KalmanGradient, kalman_loglik_tape};
use crate::ssm::model::Observations;

/// θ₀ = (C, C_D, λ, γ, F, σ, R) of the workload.
pub const THETA0: [f64; 7] = [8.0, 100.0, 1.3, 0.7, 3.7, 0.5, 0.1];

/// The workload's data from the column `y` (u = 1 at every step, no known variance).
pub fn workload_data(y: Vec<f64>) -> Result<EbmData> {
    let t = y.len();
    EbmData::new(
        Observations::new(t, 1, y, 1, vec![1.0; t])?,
        vec![0.0; t],
        1.0,
    )
}

/// Parses the workload's CSV (`y` column).
pub fn parse_workload_csv(text: &str) -> Result<EbmData> {
    let mut y = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let v: f64 = line.trim().parse().map_err(|_| {
            mechml_engine::Error::invalid_option(
                "parse_workload_csv",
                format!("y (line {})", i + 1),
                format!("{line:?}"),
                "a number",
            )
        })?;
        y.push(v);
    }
    workload_data(y)
}

fn params<R: Real>(theta: &[R]) -> Vec<R> {
    // C1, C2, κ1, κ2, ε, σ_ξ, F, σ_T, T0
    vec![
        theta[0],
        theta[1],
        theta[2],
        theta[3],
        R::one(),
        theta[5],
        theta[4],
        theta[6].sqrt(),
        R::zero(),
    ]
}

fn prior() -> EbmPrior {
    EbmPrior::Fixed {
        mean: vec![0.0, 0.0],
        cov: vec![1.0, 0.0, 0.0, 1.0],
    }
}

/// The log-likelihood at θ in plain `f64`.
pub fn loglik(theta: &[f64], data: &EbmData) -> Result<f64> {
    let ebm = KBoxEbm::new(2, false, false)?;
    let p = ebm.params_from_slice(&params(theta))?;
    let model = ebm.state_space(&p, data, &prior())?;
    crate::ssm::kalman::kalman_loglik(&model, &data.obs)
}

/// The log-likelihood recorded on `tape` as a function of θ (scalar ops for the
/// discretisation, one block for the filter).
pub fn loglik_tape<'t, S: Real + Send + 'static>(
    tape: &'t Tape<S>,
    theta: &[Var<'t, S>],
    data: &EbmData,
    method: KalmanGradient,
) -> Result<Var<'t, S>> {
    let ebm = KBoxEbm::new(2, false, false)?;
    let p = ebm.params_from_slice(&params(theta))?;
    let model = ebm.state_space(&p, data, &prior())?;
    kalman_loglik_tape(tape, &model, &data.obs, method)
}

//! The state-space log marginal likelihood as one tape block ([`temporal_lml_var`]).

use super::filter::{TemporalData, log_likelihood, log_likelihood_and_grad};
use super::kernel::StateSpaceKernel;
use super::model::{check_series, temporal_layout};
use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::{Tape, Var, VarVec};
use crate::error::{Error, Result};
use crate::param::ParamLayout;
use crate::ssm::Observations;

struct TemporalLmlOp<K> {
    kernel: K,
    layout: ParamLayout,
    z: Vec<f64>,
    t: Vec<f64>,
    y: Observations,
}

impl<K: StateSpaceKernel> BlockOp for TemporalLmlOp<K> {
    fn name(&self) -> &'static str {
        "temporal_gp_lml"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut a) = inputs.arg(0) {
            let theta = self.layout.natural(&self.z)?;
            let p = theta.len() - 1;
            let (_, grad) = log_likelihood_and_grad(&TemporalData {
                kernel: &self.kernel,
                theta: &theta[..p],
                noise: theta[p],
                t: &self.t,
                y: &self.y,
            })?;
            let grad = self.layout.chain_gradient(&self.z, &grad)?;
            for (ak, gk) in a.iter_mut().zip(&grad) {
                *ak += g[0] * gk;
            }
        }
        Ok(())
    }
}

/// The state-space log marginal likelihood as one tape block in the unconstrained
/// parameters `params` of [`TemporalGp::params`](super::TemporalGp::params) (for a Matérn
/// kernel `(log σ², log ℓ, log σ_n²)`); `t` must be non-decreasing. The pullback runs the
/// filter's adjoint (`O(n)`).
///
/// # Errors
/// A wrong number of parameters, times out of order, non-finite data, or a non-finite
/// likelihood.
pub fn temporal_lml_var<'t, K: StateSpaceKernel>(
    tape: &'t Tape,
    kernel: &K,
    params: &VarVec<'t>,
    t: &[f64],
    y: &[f64],
) -> Result<Var<'t>> {
    const OP: &str = "temporal_lml";
    crate::ad::varmat::check_tape(OP, tape, &[params.tape()])?;
    let names = kernel.hyperparameters()?;
    crate::error::check_len(OP, "params", params.len(), names.len() + 1)?;
    let layout = temporal_layout(kernel, &vec![1.0; names.len() + 1])?;
    check_series(OP, t, y)?;
    if let Some(k) = t.windows(2).position(|w| w[1] < w[0]) {
        return Err(Error::invalid_option(
            OP,
            format!("t[{}]", k + 1),
            t[k + 1],
            format!("≥ t[{k}] = {} (times must be non-decreasing)", t[k]),
        ));
    }
    let z = params.values().to_vec();
    crate::error::check_finite(OP, "params", &z)?;
    let theta = layout.natural(&z)?;
    let p = theta.len() - 1;
    let y = Observations::univariate(y.to_vec())?;
    let value = log_likelihood(&TemporalData {
        kernel,
        theta: &theta[..p],
        noise: theta[p],
        t,
        y: &y,
    })?;
    let start = tape.push_block(
        TemporalLmlOp {
            kernel: kernel.clone(),
            layout,
            z,
            t: t.to_vec(),
            y,
        },
        &[params.arg()],
        1,
    )?;
    Ok(VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value)))
}

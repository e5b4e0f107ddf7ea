//! The log-likelihood of a family at θ, its gradient in the unconstrained coordinates z
//! (the filter as one tape block), and the observed information −∇²_z ℓ from exact
//! Hessian–vector products (forward over reverse).

use mechml_engine::Result;
use mechml_engine::ad::{Dual, Tape, Var};
use mechml_engine::param::ParamLayout;

use super::problem::ParametricSsm;
use crate::ssm::loglik_op::{KalmanGradient, kalman_loglik_tape};

/// −ℓ(θ(z)) and its gradient in z.
pub(super) fn neg_loglik_grad<M: ParametricSsm>(
    model: &M,
    layout: &ParamLayout,
    tape: &mut Tape,
    z: &[f64],
) -> Result<(f64, Vec<f64>)> {
    tape.clear();
    let tape: &Tape = tape;
    let zv = tape.vars(z);
    let th = layout.natural(&zv)?;
    let ssm = model.build(&th)?;
    let ll = kalman_loglik_tape(tape, &ssm, model.observations(), model.kalman_gradient())?;
    let g = tape.gradient(&ll)?;
    Ok((-ll.val(), zv.iter().map(|v| -g.wrt(v)).collect()))
}

/// The log-likelihood at natural parameters θ (plain `f64`).
pub fn loglik_at<M: ParametricSsm>(model: &M, theta: &[f64]) -> Result<f64> {
    let ssm = model.build(theta)?;
    crate::ssm::kalman::kalman_loglik(&ssm, model.observations())
}

/// The observed information −∇²_z ℓ at the free unconstrained coordinates `z` of
/// `layout` (k x k, column-major, symmetrised), from k exact Hessian–vector products with
/// the filter block differentiated by `method`.
pub fn observed_information<M: ParametricSsm>(
    model: &M,
    layout: &ParamLayout,
    z: &[f64],
    method: KalmanGradient,
) -> Result<Vec<f64>> {
    let k = z.len();
    let mut h = vec![0.0; k * k];
    for j in 0..k {
        let tape: Tape<Dual> = Tape::with_capacity_generic(4096);
        let zv: Vec<Var<'_, Dual>> = z
            .iter()
            .enumerate()
            .map(|(i, &x)| tape.var(Dual::dual(x, if i == j { 1.0 } else { 0.0 })))
            .collect();
        let th = layout.natural(&zv)?;
        let ssm = model.build(&th)?;
        let ll = kalman_loglik_tape(&tape, &ssm, model.observations(), method)?;
        let adj = tape.gradient(&ll)?;
        for (i, v) in zv.iter().enumerate() {
            h[i + j * k] = -adj.wrt(v).tangent();
        }
    }
    for j in 0..k {
        for i in 0..j {
            let s = 0.5 * (h[i + j * k] + h[j + i * k]);
            h[i + j * k] = s;
            h[j + i * k] = s;
        }
    }
    Ok(h)
}

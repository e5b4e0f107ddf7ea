//! The Kalman-filter log-likelihood as ONE block on the tape.
//!
//! [`kalman_loglik_tape`] takes a model whose matrices are tape variables (built from
//! parameters by any tape computation, e.g. an exact discretisation), runs the filter in
//! plain arithmetic of the tape's scalar type, and records a single block with the
//! model's matrices as arguments. Its pullback computes the gradient with respect to every
//! matrix either
//!
//! * with the hand-written adjoint of [`adjoint`](super::adjoint) ([`KalmanGradient::Adjoint`],
//!   the default), reusing the moments saved by the forward pass, or
//! * by recording the filter on a local tape and sweeping it backwards
//!   ([`KalmanGradient::Recorded`]), the reference "recorded pass".
//!
//! Both work on `Tape<f64>` (gradients) and on `Tape<Dual>` (exact Hessian–vector products
//! by forward over reverse: the filter and its adjoint then run in dual arithmetic).
//!
//! ```
//! use mechml_engine::ad::Tape;
//! use mechml_engine::ssm::{LinearGaussianSsm, Observations};
//! use mechml_engine::ssm::loglik_op::{kalman_loglik_tape, KalmanGradient};
//!
//! let tape = Tape::new();
//! let phi = tape.var(0.8);
//! let q = tape.var(0.3);
//! let c = |x: f64| mechml_engine::ad::Var::constant(x);
//! let model = LinearGaussianSsm::time_invariant(1, 1, vec![phi], vec![q], vec![c(1.0)],
//!                                               vec![c(0.5)], vec![c(0.0)], vec![c(1.0)])?;
//! let data = Observations::univariate(vec![0.3, -0.2, 0.4, f64::NAN, 0.1])?;
//! let ll = kalman_loglik_tape(&tape, &model, &data, KalmanGradient::Adjoint)?;
//! let g = tape.gradient(&ll)?;
//! let (d_phi, d_q) = (g.wrt(&phi), g.wrt(&q));
//! assert!(d_phi.is_finite() && d_q.is_finite());
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use std::borrow::Cow;

use crate::ad::{BlockArg, BlockOp, InputAdjoints, Real, Tape, Var, VarVec};
use crate::error::Result;

use super::adjoint::{SsmGradient, Trace, adjoint_from_trace, forward_for_adjoint};
use super::kalman::dispatch_forward;
use super::model::{LinearGaussianSsm, Observations};

/// How the block's pullback differentiates the filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KalmanGradient {
    /// The hand-written reverse pass (about 2–3 filter passes in all).
    #[default]
    Adjoint,
    /// Record the filter's scalar operations on a local tape and sweep it backwards.
    Recorded,
}

/// The filter block: saved inputs and, for the adjoint, the forward moments.
struct KalmanLoglikOp<S> {
    model: LinearGaussianSsm<S>,
    data: Observations,
    trace: Option<Trace<S>>,
    method: KalmanGradient,
}

/// The nine model parts in block-argument order.
pub(crate) fn parts<R: Real>(m: &LinearGaussianSsm<R>) -> [&[R]; 9] {
    [
        m.f.data(),
        m.b.data(),
        m.c.data(),
        m.q.data(),
        m.h.data(),
        m.d.data(),
        m.r.data(),
        &m.m1,
        &m.p1,
    ]
}

fn add_into<S: Real>(inputs: &mut InputAdjoints<'_, S>, k: usize, g: &[S]) {
    if let Some(mut a) = inputs.arg(k) {
        for (x, &v) in a.iter_mut().zip(g) {
            *x += v;
        }
    }
}

impl<S: Real + Send + 'static> BlockOp<S> for KalmanLoglikOp<S> {
    fn name(&self) -> &'static str {
        "kalman_loglik"
    }

    fn pullback(&self, out_adj: &[S], inputs: &mut InputAdjoints<'_, S>) -> Result<()> {
        let g = out_adj[0];
        let grad = match (self.method, &self.trace) {
            (KalmanGradient::Adjoint, Some(trace)) => {
                adjoint_from_trace(&self.model, &self.data, trace, g)?
            }
            _ => recorded_gradient(&self.model, &self.data, g)?,
        };
        for (k, part) in parts(&grad).iter().enumerate() {
            add_into(inputs, k, part);
        }
        Ok(())
    }
}

/// The gradient by recording the filter on a local tape of scalar type `S`.
fn recorded_gradient<S: Real>(
    model: &LinearGaussianSsm<S>,
    data: &Observations,
    g: S,
) -> Result<SsmGradient<S>> {
    let tape: Tape<S> = Tape::with_capacity_generic(256 * data.n_steps.max(1));
    let local = model.map(|x| tape.var(x));
    let ll = dispatch_forward(&local, data, None)?;
    let adj = match ll.slot_if_var() {
        Some(slot) => tape.reverse(&[(slot, g)])?,
        None => tape.reverse(&[])?,
    };
    Ok(local.map(|v| adj.wrt(&v)))
}

/// The argument of one model part: scattered slots, or a constant when no entry is on
/// the tape.
pub(crate) fn block_arg<S: Real>(xs: &[Var<'_, S>]) -> BlockArg<'static> {
    if xs.iter().all(|x| x.is_constant()) {
        BlockArg::Constant { len: xs.len() }
    } else {
        // Constants point at slot 0, whose adjoint is discarded.
        BlockArg::Slots(Cow::Owned(xs.iter().map(|x| x.slot()).collect()))
    }
}

/// Records log p(y_{1:T}) under `model` (entries on `tape` or constants) as one block.
pub fn kalman_loglik_tape<'t, S: Real + Send + 'static>(
    tape: &'t Tape<S>,
    model: &LinearGaussianSsm<Var<'t, S>>,
    data: &Observations,
    method: KalmanGradient,
) -> Result<Var<'t, S>> {
    let values: LinearGaussianSsm<S> = model.map(|v| v.val());
    values.check(data)?;
    let (ll, trace) = match method {
        KalmanGradient::Adjoint => {
            let (ll, trace) = forward_for_adjoint(&values, data)?;
            (ll, Some(trace))
        }
        KalmanGradient::Recorded => (dispatch_forward(&values, data, None)?, None),
    };
    let args: Vec<BlockArg<'static>> = parts(model).iter().map(|p| block_arg(p)).collect();
    let op = KalmanLoglikOp {
        model: values,
        data: data.clone(),
        trace,
        method,
    };
    let start = tape.push_block(op, &args, 1)?;
    Ok(VarVec::from_block(tape, start, vec![ll])
        .get(0)
        .unwrap_or_else(|| Var::constant(ll)))
}

//! The gradient of the diffuse log-likelihood ([`diffuse_kalman_loglik_grad`]) and its
//! tape block ([`diffuse_kalman_loglik_tape`]).

use super::head::{add_seq, diffuse_head, head, seq_until, tail};
use super::{DiffuseInit, diffuse_kalman_loglik};
use crate::ad::{BlockArg, BlockOp, InputAdjoints, Real, Tape, Var, VarVec};
use crate::error::Result;
use crate::ssm::adjoint::{SsmGradient, kalman_loglik_grad};
use crate::ssm::model::{LinearGaussianSsm, Observations};

/// Value and gradient (scaled by the output adjoint `g`) of the diffuse log-likelihood
/// with respect to every model matrix, `m₁` and `P₁ = P*` (see the [module docs](super)).
///
/// # Errors
/// Those of [`diffuse_kalman_loglik`].
pub fn diffuse_kalman_loglik_grad<R: Real>(
    model: &LinearGaussianSsm<R>,
    init: &DiffuseInit,
    data: &Observations,
    g: R,
) -> Result<(R, SsmGradient<R>)> {
    let h = diffuse_head(model, init, data)?;
    let d = h.steps;
    let n = model.n_state();
    let mut grad = crate::ssm::adjoint::zeros_like(model);
    // The tail by the hand-written adjoint, giving the adjoints of (m, P*) after the head.
    let (mut total, mbar, pbar) = if d < data.n_steps {
        let (tm, td) = tail(model, data, &h)?;
        let (ll, tg) = kalman_loglik_grad(&tm, &td, g)?;
        add_seq(&mut grad.f, &tg.f, d);
        add_seq(&mut grad.b, &tg.b, d);
        add_seq(&mut grad.c, &tg.c, d);
        add_seq(&mut grad.q, &tg.q, d);
        add_seq(&mut grad.h, &tg.h, d);
        add_seq(&mut grad.d, &tg.d, d);
        add_seq(&mut grad.r, &tg.r, d);
        (ll, tg.m1, tg.p1)
    } else {
        (R::zero(), vec![R::zero(); n], vec![R::zero(); n * n])
    };
    total += h.loglik;
    if d > 0 {
        // The head recorded on a local tape and swept back from (ḡ, m̄, P̄*).
        let head_model = LinearGaussianSsm {
            f: seq_until(&model.f, d)?,
            b: seq_until(&model.b, d)?,
            c: seq_until(&model.c, d)?,
            q: seq_until(&model.q, d)?,
            h: seq_until(&model.h, d)?,
            d: seq_until(&model.d, d)?,
            r: seq_until(&model.r, d)?,
            m1: model.m1.clone(),
            p1: model.p1.clone(),
        };
        let hg = recorded_head_gradient(&head_model, init, data, d, g, &mbar, &pbar)?;
        add_seq(&mut grad.f, &hg.f, 0);
        add_seq(&mut grad.b, &hg.b, 0);
        add_seq(&mut grad.c, &hg.c, 0);
        add_seq(&mut grad.q, &hg.q, 0);
        add_seq(&mut grad.h, &hg.h, 0);
        add_seq(&mut grad.d, &hg.d, 0);
        add_seq(&mut grad.r, &hg.r, 0);
        grad.m1 = hg.m1;
        grad.p1 = hg.p1;
    } else {
        grad.m1 = mbar;
        grad.p1 = pbar;
    }
    Ok((total, grad))
}

/// The adjoints of the head's inputs from those of its outputs `(log L, m, P*)`.
fn recorded_head_gradient<S: Real>(
    model: &LinearGaussianSsm<S>,
    init: &DiffuseInit,
    data: &Observations,
    d: usize,
    g: S,
    mbar: &[S],
    pbar: &[S],
) -> Result<SsmGradient<S>> {
    let tape: Tape<S> = Tape::with_capacity_generic(1024 * d.max(1));
    let local = model.map(|x| tape.var(x));
    let out = head(&local, init, data, Some(d))?;
    let mut seeds = Vec::new();
    let mut seed = |v: &Var<'_, S>, s: S| {
        if let Some(slot) = v.slot_if_var() {
            seeds.push((slot, s));
        }
    };
    seed(&out.loglik, g);
    for (v, &s) in out.mean.iter().zip(mbar) {
        seed(v, s);
    }
    for (v, &s) in out.cov.iter().zip(pbar) {
        seed(v, s);
    }
    let adj = tape.reverse(&seeds)?;
    Ok(local.map(|v| adj.wrt(&v)))
}

/// The diffuse filter block: saved inputs.
struct DiffuseLoglikOp<S> {
    model: LinearGaussianSsm<S>,
    init: DiffuseInit,
    data: Observations,
}

impl<S: Real + Send + 'static> BlockOp<S> for DiffuseLoglikOp<S> {
    fn name(&self) -> &'static str {
        "diffuse_kalman_loglik"
    }

    fn pullback(&self, out_adj: &[S], inputs: &mut InputAdjoints<'_, S>) -> Result<()> {
        let (_, grad) =
            diffuse_kalman_loglik_grad(&self.model, &self.init, &self.data, out_adj[0])?;
        for (k, part) in crate::ssm::loglik_op::parts(&grad).iter().enumerate() {
            if let Some(mut a) = inputs.arg(k) {
                for (x, &v) in a.iter_mut().zip(part.iter()) {
                    *x += v;
                }
            }
        }
        Ok(())
    }
}

/// Records the diffuse log-likelihood under `model` (entries on `tape` or constants) as
/// one block, differentiated as [`diffuse_kalman_loglik_grad`]; works on `Tape<f64>` and
/// on `Tape<Dual>` (Hessian–vector products).
///
/// # Errors
/// Those of [`diffuse_kalman_loglik`].
pub fn diffuse_kalman_loglik_tape<'t, S: Real + Send + 'static>(
    tape: &'t Tape<S>,
    model: &LinearGaussianSsm<Var<'t, S>>,
    init: &DiffuseInit,
    data: &Observations,
) -> Result<Var<'t, S>> {
    let values: LinearGaussianSsm<S> = model.map(|v| v.val());
    let ll = diffuse_kalman_loglik(&values, init, data)?;
    let args: Vec<BlockArg<'static>> = crate::ssm::loglik_op::parts(model)
        .iter()
        .map(|p| crate::ssm::loglik_op::block_arg(p))
        .collect();
    let op = DiffuseLoglikOp {
        model: values,
        init: init.clone(),
        data: data.clone(),
    };
    let start = tape.push_block(op, &args, 1)?;
    Ok(VarVec::from_block(tape, start, vec![ll])
        .get(0)
        .unwrap_or_else(|| Var::constant(ll)))
}

//! Fused operations: a routine written once over [`Real`] that records itself as **one
//! block** when it runs on a `Tape<f64>`, and as ordinary scalar arithmetic on every other
//! scalar type.
//!
//! Generic model code (an ODE right-hand side `fn rhs<R: Real>`) cannot call a block
//! operation directly: it does not know whether `R` is a tape variable. It calls
//! [`Real::fused`] instead. For `f64`, dual numbers and [`Tangent`](super::Tangent) this
//! runs [`FusedOp::eval`] (scalar operations); for a [`Var`] on a `Tape<f64>` it computes
//! the outputs in `f64` with [`FusedOp::record`] and pushes the returned [`BlockOp`] as one
//! tape record, so the reverse sweep runs its hand-written pullback instead of one scalar
//! entry per multiply–add. Variables on a `Tape<Dual>` (Hessian–vector products) take the
//! scalar path, so second derivatives stay exact.
//!
//! The dense layers of [`nn`](crate::nn) use it; so can any user operation.
//!
//! ```
//! use mechml_engine::ad::{BlockOp, FusedOp, InputAdjoints, Real, Tape};
//! use mechml_engine::Result;
//!
//! /// y = Σ xᵢ², fused.
//! struct SumSq;
//! struct SumSqBlock(Vec<f64>);
//! impl BlockOp for SumSqBlock {
//!     fn name(&self) -> &'static str { "sum_sq" }
//!     fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
//!         if let Some(mut a) = inputs.arg(0) {
//!             for (a, x) in a.iter_mut().zip(&self.0) { *a += 2.0 * x * g[0]; }
//!         }
//!         Ok(())
//!     }
//! }
//! impl FusedOp for SumSq {
//!     type Block = SumSqBlock;
//!     fn name(&self) -> &'static str { "sum_sq" }
//!     fn n_out(&self) -> usize { 1 }
//!     fn eval<R: Real>(&self, args: &[&[R]], out: &mut [R]) {
//!         out[0] = args[0].iter().fold(R::zero(), |s, &x| s + x * x);
//!     }
//!     fn record(&self, args: &[&[f64]], out: &mut [f64]) -> SumSqBlock {
//!         self.eval(args, out);
//!         SumSqBlock(args[0].to_vec())
//!     }
//! }
//!
//! fn f<R: Real>(x: &[R]) -> R {
//!     let mut y = [R::zero()];
//!     R::fused(&SumSq, &[x], &mut y);
//!     y[0]
//! }
//! assert_eq!(f(&[1.0, 2.0]), 5.0);
//! let tape = Tape::new();
//! let x = tape.vars(&[1.0, 2.0]);
//! let y = f(&x);
//! assert_eq!(tape.stats().n_blocks, 1);
//! let g = tape.gradient(&y)?;
//! assert_eq!((g.wrt(&x[0]), g.wrt(&x[1])), (2.0, 4.0));
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use std::borrow::Cow;

use super::block::{BlockArg, BlockOp};
use super::real::Real;
use super::var::Var;
use super::varmat::VarVec;
use crate::error::Error;

/// An operation with a generic definition and a fused `f64` block (see the module doc).
pub trait FusedOp {
    /// The block recorded on a `Tape<f64>`: holds what its pullback needs.
    type Block: BlockOp<f64> + Send + 'static;

    /// A short name for error messages.
    fn name(&self) -> &'static str;

    /// Number of outputs.
    fn n_out(&self) -> usize;

    /// `out = op(args)` over any [`Real`]: the reference definition, used off the tape
    /// and on tapes of other scalar types.
    fn eval<R: Real>(&self, args: &[&[R]], out: &mut [R]);

    /// `out = op(args)` on plain `f64` (what [`Real::fused`] runs for `f64`). The default
    /// is [`FusedOp::eval`]; override it with a faster kernel that agrees with `eval` to
    /// rounding, and return the same values from [`FusedOp::record`].
    #[inline]
    fn eval_f64(&self, args: &[&[f64]], out: &mut [f64]) {
        self.eval(args, out);
    }

    /// `out = op(args)` in `f64`, returning the block whose pullback adds `Jᵀ·out_adj` into
    /// the arguments' adjoints (argument `k` of the block is `args[k]`).
    fn record(&self, args: &[&[f64]], out: &mut [f64]) -> Self::Block;
}

/// Records `op` on the `Tape<f64>` of the first variable among `args` (the override of
/// [`Real::fused_on_tape`] for `f64`). Constants inside an otherwise variable argument are
/// lifted to leaves; an argument of constants only is a constant block argument.
pub(crate) fn record_on_tape<'t, K: FusedOp>(
    op: &K,
    args: &[&[Var<'t, f64>]],
    out: &mut [Var<'t, f64>],
) {
    let n_out = op.n_out();
    let vals: Vec<Vec<f64>> = args
        .iter()
        .map(|a| a.iter().map(|v| v.val()).collect())
        .collect();
    let refs: Vec<&[f64]> = vals.iter().map(Vec::as_slice).collect();
    let mut y = vec![0.0; n_out];
    let tape = args.iter().flat_map(|a| a.iter()).find_map(|v| v.tape());
    let Some(tape) = tape else {
        op.eval_f64(&refs, &mut y);
        for (o, v) in out.iter_mut().zip(y) {
            *o = Var::constant(v);
        }
        return;
    };
    let mut block_args = Vec::with_capacity(args.len());
    for a in args {
        if a.iter().all(|v| v.is_constant()) {
            block_args.push(BlockArg::Constant { len: a.len() });
            continue;
        }
        let mut slots = Vec::with_capacity(a.len());
        for v in a.iter() {
            match v.tape() {
                Some(t) if std::ptr::eq(t, tape) => slots.push(v.slot()),
                Some(_) => {
                    tape.fail(Error::MixedTapes { op: op.name() });
                    slots.push(tape.var(v.val()).slot());
                }
                None => slots.push(tape.var(v.val()).slot()),
            }
        }
        let contiguous = slots.windows(2).all(|w| w[1] == w[0] + 1);
        block_args.push(match (contiguous, slots.first()) {
            (true, Some(&start)) => BlockArg::Range {
                start,
                len: slots.len() as u32,
            },
            _ => BlockArg::Slots(Cow::Owned(slots)),
        });
    }
    let block = op.record(&refs, &mut y);
    let start = match tape.push_block(block, &block_args, n_out) {
        Ok(s) => s,
        Err(e) => {
            tape.fail(e);
            None
        }
    };
    let outv = VarVec::from_block(tape, start, y);
    for (i, o) in out.iter_mut().enumerate() {
        if let Some(v) = outv.get(i) {
            *o = v;
        }
    }
}

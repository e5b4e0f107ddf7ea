//! Block operations: one tape record for a primitive with many inputs and outputs.
//!
//! A block computes its outputs in plain `f64` (with faer for dense work), keeps whatever
//! its pullback needs, and is recorded with [`Tape::push_block`](super::Tape::push_block).
//! Its outputs occupy contiguous slots, exposed as a [`VarVec`](super::VarVec) or
//! [`VarMat`](super::VarMat). During the reverse sweep, [`BlockOp::pullback`] receives the
//! adjoints of the outputs and *adds* the vector–Jacobian product into the adjoints of each
//! argument.
//!
//! # Adding a primitive
//! ```
//! use mechml_engine::ad::{BlockArg, BlockOp, InputAdjoints, Tape, VarVec};
//! use mechml_engine::Result;
//!
//! /// y_i = x_i³, as one block.
//! struct Cube { x: Vec<f64> }
//!
//! impl BlockOp for Cube {
//!     fn name(&self) -> &'static str { "cube" }
//!     fn pullback(&self, out_adj: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
//!         if let Some(mut x_adj) = inputs.arg(0) {
//!             for ((a, &g), &x) in x_adj.iter_mut().zip(out_adj).zip(&self.x) {
//!                 *a += 3.0 * x * x * g;
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! fn cube<'t>(tape: &'t Tape, x: &VarVec<'t>) -> Result<VarVec<'t>> {
//!     let values: Vec<f64> = x.values().iter().map(|v| v * v * v).collect();
//!     let start = tape.push_block(Cube { x: x.values().to_vec() }, &[x.arg()], values.len())?;
//!     Ok(VarVec::from_block(tape, start, values))
//! }
//!
//! let tape = Tape::new();
//! let x = tape.var_vec(&[1.0, 2.0]);
//! let y = cube(&tape, &x)?;
//! let s = tape.sum(&y)?;
//! let g = tape.gradient(&s)?;
//! assert_eq!(g.wrt_vec(&x), vec![3.0, 12.0]);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};

use super::real::Real;
use super::tape::ArgRec;
use crate::error::{Error, Result};

/// A primitive recorded as one tape entry.
///
/// `pullback` must only *add* into the argument adjoints (several blocks may feed the same
/// input) and must not assume the output adjoints are non-zero. It may be called several
/// times on one recording (one call per reverse sweep), so it takes `&self`.
pub trait BlockOp<S = f64> {
    /// A short name for error messages (`"cholesky"`).
    fn name(&self) -> &'static str;

    /// Adds `Jᵀ out_adj` into the adjoint of each argument (`inputs.arg(k)`; `None` for a
    /// constant argument, whose adjoint need not be computed).
    fn pullback(&self, out_adj: &[S], inputs: &mut InputAdjoints<'_, S>) -> Result<()>;

    /// Writes `J in_tan` into `out_tan` (forward mode on a recorded tape; used by
    /// [`Tape::forward`](super::Tape::forward)). Optional: the default says the block does
    /// not support it.
    fn pushforward(&self, _inputs: &InputTangents<'_, S>, _out_tan: &mut [S]) -> Result<()> {
        Err(Error::Unsupported {
            op: self.name(),
            reason: "this block has no pushforward (forward mode over a tape)".into(),
        })
    }
}

/// One argument of a block, as given to [`Tape::push_block`](super::Tape::push_block).
#[derive(Clone, Debug)]
pub enum BlockArg<'a> {
    /// Contiguous slots `start .. start + len` (a [`VarVec`](super::VarVec) or
    /// [`VarMat`](super::VarMat) on the tape).
    Range {
        /// First slot.
        start: u32,
        /// Number of slots.
        len: u32,
    },
    /// Scattered slots (e.g. scalar [`Var`](super::Var)s from different operations).
    Slots(Cow<'a, [u32]>),
    /// A constant of the given length: no adjoint is computed for it.
    Constant {
        /// Number of scalars.
        len: usize,
    },
}

impl BlockArg<'_> {
    /// Whether no adjoint is wanted for this argument.
    pub fn is_constant(&self) -> bool {
        matches!(self, BlockArg::Constant { .. })
    }
    /// Number of scalars in the argument.
    pub fn len(&self) -> usize {
        match self {
            BlockArg::Range { len, .. } => *len as usize,
            BlockArg::Slots(s) => s.len(),
            BlockArg::Constant { len } => *len,
        }
    }
    /// Whether the argument has no scalars.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The argument adjoints handed to [`BlockOp::pullback`].
pub struct InputAdjoints<'a, S> {
    lower: &'a mut [S],
    args: &'a [ArgRec],
    arg_slots: &'a [u32],
    gather: &'a mut Vec<S>,
    scratch: &'a mut Vec<f64>,
}

impl<'a, S: Real> InputAdjoints<'a, S> {
    pub(crate) fn new(
        lower: &'a mut [S],
        args: &'a [ArgRec],
        arg_slots: &'a [u32],
        gather: &'a mut Vec<S>,
        scratch: &'a mut Vec<f64>,
    ) -> Self {
        Self {
            lower,
            args,
            arg_slots,
            gather,
            scratch,
        }
    }

    /// The adjoint of argument `k` (as [`InputAdjoints::arg`]) together with an `f64`
    /// work buffer of `len` entries owned by the tape and reused across blocks and sweeps
    /// (its contents are unspecified). Large pullbacks use it to avoid allocating — and
    /// page-faulting — fresh matrices on every sweep.
    pub fn arg_with_scratch(
        &mut self,
        k: usize,
        len: usize,
    ) -> (Option<ArgAdj<'_, S>>, &mut [f64]) {
        if self.scratch.len() < len {
            self.scratch.resize(len, 0.0);
        }
        let scratch = &mut self.scratch[..len];
        let arg = match self.args.get(k) {
            Some(ArgRec::Range { start, len }) => {
                let s = *start as usize;
                Some(ArgAdj::Direct(&mut self.lower[s..s + *len as usize]))
            }
            Some(ArgRec::List { offset, len }) => {
                let slots = &self.arg_slots[*offset as usize..(*offset + *len) as usize];
                self.gather.clear();
                self.gather.resize(slots.len(), S::zero());
                Some(ArgAdj::Gathered {
                    buf: self.gather,
                    slots,
                    dst: self.lower,
                })
            }
            _ => None,
        };
        (arg, scratch)
    }

    /// Number of arguments.
    pub fn n_args(&self) -> usize {
        self.args.len()
    }

    /// Whether argument `k` wants an adjoint.
    pub fn is_active(&self, k: usize) -> bool {
        matches!(
            self.args.get(k),
            Some(ArgRec::Range { .. } | ArgRec::List { .. })
        )
    }

    /// The adjoint of argument `k`, to be *added* into; `None` if it is constant (or `k` is
    /// out of range). Borrow one argument at a time: two arguments may alias the same slots.
    pub fn arg(&mut self, k: usize) -> Option<ArgAdj<'_, S>> {
        match self.args.get(k)? {
            ArgRec::Range { start, len } => {
                let s = *start as usize;
                Some(ArgAdj::Direct(&mut self.lower[s..s + *len as usize]))
            }
            ArgRec::List { offset, len } => {
                let slots = &self.arg_slots[*offset as usize..(*offset + *len) as usize];
                self.gather.clear();
                self.gather.resize(slots.len(), S::zero());
                Some(ArgAdj::Gathered {
                    buf: self.gather,
                    slots,
                    dst: self.lower,
                })
            }
            ArgRec::Constant => None,
        }
    }
}

/// Mutable access to one argument's adjoint; scattered arguments are written back when it
/// is dropped.
pub enum ArgAdj<'a, S: Real> {
    /// The argument's slots are contiguous: a direct view.
    Direct(&'a mut [S]),
    /// The argument's slots are scattered: a zeroed buffer added into `dst` on drop.
    Gathered {
        /// Local buffer.
        buf: &'a mut Vec<S>,
        /// Destination slots.
        slots: &'a [u32],
        /// All adjoints below the block.
        dst: &'a mut [S],
    },
}

impl<S: Real> Deref for ArgAdj<'_, S> {
    type Target = [S];
    fn deref(&self) -> &[S] {
        match self {
            ArgAdj::Direct(s) => s,
            ArgAdj::Gathered { buf, .. } => buf,
        }
    }
}

impl<S: Real> DerefMut for ArgAdj<'_, S> {
    fn deref_mut(&mut self) -> &mut [S] {
        match self {
            ArgAdj::Direct(s) => s,
            ArgAdj::Gathered { buf, .. } => buf,
        }
    }
}

impl<S: Real> Drop for ArgAdj<'_, S> {
    fn drop(&mut self) {
        if let ArgAdj::Gathered { buf, slots, dst } = self {
            for (&s, &b) in slots.iter().zip(buf.iter()) {
                dst[s as usize] += b;
            }
        }
    }
}

/// The argument tangents handed to [`BlockOp::pushforward`].
pub struct InputTangents<'a, S> {
    lower: &'a [S],
    args: &'a [ArgRec],
    arg_slots: &'a [u32],
}

impl<'a, S: Real> InputTangents<'a, S> {
    pub(crate) fn new(lower: &'a [S], args: &'a [ArgRec], arg_slots: &'a [u32]) -> Self {
        Self {
            lower,
            args,
            arg_slots,
        }
    }
    /// The tangent of argument `k`; `None` for a constant argument (zero tangent).
    pub fn arg(&self, k: usize) -> Option<Cow<'a, [S]>> {
        match self.args.get(k)? {
            ArgRec::Range { start, len } => {
                let s = *start as usize;
                Some(Cow::Borrowed(&self.lower[s..s + *len as usize]))
            }
            ArgRec::List { offset, len } => {
                let slots = &self.arg_slots[*offset as usize..(*offset + *len) as usize];
                Some(Cow::Owned(
                    slots.iter().map(|&s| self.lower[s as usize]).collect(),
                ))
            }
            ArgRec::Constant => None,
        }
    }
}

/// The record of a leaf vector/matrix of independent variables: nothing to propagate.
pub(crate) struct Leaf;

impl<S: Real> BlockOp<S> for Leaf {
    fn name(&self) -> &'static str {
        "leaf"
    }
    fn pullback(&self, _: &[S], _: &mut InputAdjoints<'_, S>) -> Result<()> {
        Ok(())
    }
    fn pushforward(&self, _: &InputTangents<'_, S>, _: &mut [S]) -> Result<()> {
        Ok(())
    }
}

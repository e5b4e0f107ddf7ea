//! The non-finite check mode and deferred errors: a failure while recording is kept and
//! returned by [`Tape::check`] and the sweeps.

use super::storage::{ArgRec, Tape, TapeInner};
use crate::ad::real::Real;
use crate::error::{Error, Result};

impl<S: Real> Tape<S> {
    /// Turns the non-finite check mode on or off. When on:
    ///
    /// * a scalar operation whose value or partial derivative is NaN or infinite (`ln` of
    ///   a negative number; `sqrt` at 0, whose derivative is infinite) records an
    ///   [`Error::NonFinite`] naming the operation and the tape entry;
    /// * so does a block (built-in or added through [`Tape::push_block`]) with a
    ///   non-finite output, when its outputs are wrapped by
    ///   [`VarVec::from_block`](crate::ad::VarVec::from_block) /
    ///   [`VarMat::from_block`](crate::ad::VarMat::from_block), naming the block and the output;
    ///
    /// and [`Tape::check`] and [`Tape::gradient`] then return the first such error. During
    /// a sweep, a block whose pullback (or pushforward) leaves a non-finite adjoint (or
    /// tangent) in one of its arguments (outputs) makes the sweep return an
    /// [`Error::NonFinite`] naming the block. Off by default: the checks cost a test per
    /// entry.
    pub fn set_check_finite(&self, on: bool) {
        self.inner.borrow_mut().check_finite = on;
    }

    /// Whether the non-finite check mode is on.
    pub fn check_finite_enabled(&self) -> bool {
        self.inner.borrow().check_finite
    }

    /// The first deferred error (non-finite value in check mode, mixed tapes), if any.
    pub fn check(&self) -> Result<()> {
        match &self.inner.borrow().error {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        }
    }

    /// Records an error to be returned by [`Tape::check`] / [`Tape::gradient`]; the first
    /// one wins.
    #[cold]
    #[inline(never)]
    pub(crate) fn fail(&self, e: Error) {
        let mut inner = self.inner.borrow_mut();
        if inner.error.is_none() {
            inner.error = Some(e);
        }
    }
}

impl<S: Real> TapeInner<S> {
    #[cold]
    #[inline(never)]
    pub(super) fn record_non_finite(&mut self, value: f64, op: &'static str, partial: bool) {
        if self.error.is_none() {
            let index = self.entries.len();
            let context = if partial {
                format!(
                    "partial derivative of tape entry {index}: the operation is not \
                     differentiable at its argument"
                )
            } else {
                format!("tape entry {index}")
            };
            self.error = Some(Error::NonFinite {
                op,
                index,
                value,
                context,
            });
        }
    }
}

/// In check mode, after a block's pullback: the first non-finite adjoint among the slots
/// of the block's arguments, as an error naming the block.
#[cold]
pub(super) fn check_args_finite<S: Real>(
    adj: &[S],
    args: &[ArgRec],
    arg_slots: &[u32],
    op: &'static str,
    sweep: &str,
) -> Result<()> {
    for (k, a) in args.iter().enumerate() {
        let bad = match *a {
            ArgRec::Range { start, len } => (start..start + len)
                .map(|s| s as usize)
                .find(|&s| !adj[s].value().is_finite()),
            ArgRec::List { offset, len } => arg_slots[offset as usize..(offset + len) as usize]
                .iter()
                .map(|&s| s as usize)
                .find(|&s| s != 0 && !adj[s].value().is_finite()),
            ArgRec::Constant => None,
        };
        if let Some(s) = bad {
            return Err(Error::NonFinite {
                op,
                index: s,
                value: adj[s].value(),
                context: format!(
                    "adjoint of argument {k} (slot {s}) after the {sweep} (check mode)"
                ),
            });
        }
    }
    Ok(())
}

//! Recording block operations: one record per primitive with many inputs and outputs,
//! outputs in contiguous slots; each block closes the current segment of scalar entries.

use super::storage::{ArgRec, BlockRecord, MAX_SLOTS, Segment, Tape};
use crate::ad::block::{BlockArg, BlockOp, Leaf};
use crate::ad::real::Real;
use crate::error::{Error, Result};

impl<S: Real> Tape<S> {
    /// Records a block: `op` with arguments `args`, producing `n_out` outputs in contiguous
    /// slots. Returns the first output slot, or `None` when every argument is constant (then
    /// nothing is recorded and the outputs are constants).
    ///
    /// This is the public extension point for new primitives; see
    /// [`BlockOp`] for the contract of the pullback.
    pub fn push_block<B: BlockOp<S> + Send + 'static>(
        &self,
        op: B,
        args: &[BlockArg<'_>],
        n_out: usize,
    ) -> Result<Option<u32>> {
        if args.iter().all(|a| a.is_constant()) {
            return Ok(None);
        }
        self.push_block_boxed(Box::new(op), args, n_out, false)
            .map(Some)
    }

    fn push_block_boxed(
        &self,
        op: Box<dyn BlockOp<S> + Send>,
        args: &[BlockArg<'_>],
        n_out: usize,
        is_leaf: bool,
    ) -> Result<u32> {
        let mut inner = self.inner.borrow_mut();
        let start = inner.n_slots();
        if start + n_out as u64 > MAX_SLOTS {
            return Err(Error::Unsupported {
                op: op.name(),
                reason: "tape is full (2^32 slots)".into(),
            });
        }
        let arg_start = inner.arg_table.len();
        for a in args {
            let rec = match a {
                BlockArg::Range { start: s, len } => {
                    if u64::from(*s) + u64::from(*len) > start {
                        return Err(Error::UnknownVariable {
                            slot: (*s + *len) as usize,
                            n_slots: start as usize,
                        });
                    }
                    ArgRec::Range {
                        start: *s,
                        len: *len,
                    }
                }
                BlockArg::Slots(slots) => {
                    if let Some(&bad) = slots.iter().find(|&&s| u64::from(s) >= start) {
                        return Err(Error::UnknownVariable {
                            slot: bad as usize,
                            n_slots: start as usize,
                        });
                    }
                    let offset = inner.arg_slots.len() as u32;
                    inner.arg_slots.extend_from_slice(slots);
                    ArgRec::List {
                        offset,
                        len: slots.len() as u32,
                    }
                }
                BlockArg::Constant { .. } => ArgRec::Constant,
            };
            inner.arg_table.push(rec);
        }
        let args_range = arg_start..inner.arg_table.len();
        inner.blocks.push(BlockRecord {
            op,
            args: args_range,
            out_start: start as u32,
            n_out: n_out as u32,
            is_leaf,
        });
        let entry_start = inner.entries.len() as u32;
        let offset = (start + n_out as u64 - u64::from(entry_start)) as u32;
        inner.offset = offset;
        inner.segments.push(Segment {
            entry_start,
            offset,
        });
        Ok(start as u32)
    }

    /// Validates the outputs of a block being wrapped as a vector or matrix (called by
    /// `VarVec::from_block` / `VarMat::from_block`): `start` must be the first output slot
    /// of a recorded block with `values.len()` outputs, and in check mode the values must
    /// be finite. Records a deferred error (returned by [`Tape::check`] and the sweeps)
    /// and returns `false` when the outputs cannot be used as slots.
    pub(crate) fn accept_block_outputs(&self, start: u32, values: &[S], what: &str) -> bool {
        let mut inner = self.inner.borrow_mut();
        let blocks = &inner.blocks;
        let first = blocks.partition_point(|b| b.out_start < start);
        let same_start = blocks[first..]
            .iter()
            .take_while(|b| b.out_start == start)
            .filter(|b| !b.is_leaf);
        let mut last = None;
        let mut found = None;
        for rec in same_start {
            last = Some(rec);
            if rec.n_out as usize == values.len() {
                found = Some(rec);
            }
        }
        let error = match (found, last) {
            (Some(rec), _) => {
                if !inner.check_finite {
                    return true;
                }
                let Some(k) = values.iter().position(|v| !v.value().is_finite()) else {
                    return true;
                };
                // The slots are fine; only the value is bad.
                let e = Error::NonFinite {
                    op: rec.op.name(),
                    index: start as usize + k,
                    value: values[k].value(),
                    context: format!("output {k} of the block (check mode)"),
                };
                if inner.error.is_none() {
                    inner.error = Some(e);
                }
                return true;
            }
            (None, Some(rec)) => Error::ShapeMismatch {
                op: rec.op.name(),
                arg: "block outputs",
                expected: format!("len {} (the n_out given to push_block)", rec.n_out),
                found: format!("len {} wrapped by {what}", values.len()),
            },
            (None, None) => Error::invalid_option(
                "from_block",
                "start",
                start,
                format!(
                    "the first output slot of a block on this tape, as returned by \
                     Tape::push_block ({what})"
                ),
            ),
        };
        if inner.error.is_none() {
            inner.error = Some(error);
        }
        false
    }

    /// Reserves `n` contiguous slots for independent variables (a leaf vector or matrix)
    /// without a scalar entry each. Returns the first slot.
    pub(crate) fn push_leaf_block(&self, n: usize) -> Result<u32> {
        self.push_block_boxed(Box::new(Leaf), &[], n, true)
    }
}

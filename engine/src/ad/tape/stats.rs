//! What a tape holds: counts and bytes ([`TapeStats`]).

use super::storage::{ArgRec, BlockRecord, Entry, Segment, Tape, TapeInner};
use crate::ad::real::Real;

/// Statistics of what is recorded on a tape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TapeStats {
    /// Number of slots (differentiable scalars), including the reserved slot 0.
    pub n_slots: usize,
    /// Number of scalar entries (including leaves and the reserved entry 0).
    pub n_scalar_entries: usize,
    /// Number of blocks (including leaf vectors/matrices).
    pub n_blocks: usize,
    /// Bytes held by scalar entries (24 per entry for `f64`).
    pub scalar_bytes: usize,
    /// Bytes reserved by the tape's own buffers (scalar entries, segment, block and
    /// argument tables, and the work buffers of the reverse sweep), recorded or not. It stays
    /// the same when a cleared tape records the same computation again: the tape reuses its
    /// storage instead of reallocating. (Block operations' saved data is held by the blocks
    /// themselves and not counted.)
    pub reserved_bytes: usize,
}

/// Bytes per scalar tape entry for the scalar type `S` (24 for `f64`).
pub const fn scalar_entry_bytes<S>() -> usize {
    std::mem::size_of::<Entry<S>>()
}

impl<S: Real> std::fmt::Debug for Tape<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tape({:?})", self.stats())
    }
}

impl<S: Real> Tape<S> {
    /// What is recorded so far.
    pub fn stats(&self) -> TapeStats {
        let inner = self.inner.borrow();
        TapeStats {
            n_slots: inner.n_slots() as usize,
            n_scalar_entries: inner.entries.len(),
            n_blocks: inner.blocks.len(),
            scalar_bytes: inner.entries.len() * scalar_entry_bytes::<S>(),
            reserved_bytes: inner.reserved_bytes()
                + self.scratch.borrow().capacity() * std::mem::size_of::<f64>()
                + self.gather.borrow().capacity() * std::mem::size_of::<S>(),
        }
    }

    /// Number of slots recorded so far.
    pub fn n_slots(&self) -> usize {
        self.inner.borrow().n_slots() as usize
    }
}

impl<S: Real> TapeInner<S> {
    /// Bytes reserved by the vectors of the recording.
    pub(super) fn reserved_bytes(&self) -> usize {
        use std::mem::size_of;
        self.entries.capacity() * size_of::<Entry<S>>()
            + self.segments.capacity() * size_of::<Segment>()
            + self.blocks.capacity() * size_of::<BlockRecord<S>>()
            + self.arg_table.capacity() * size_of::<ArgRec>()
            + self.arg_slots.capacity() * size_of::<u32>()
    }
}

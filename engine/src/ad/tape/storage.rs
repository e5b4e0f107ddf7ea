//! The tape's storage: scalar entries (structure of arrays), segments, block records and
//! argument tables, and the [`Tape`] value that owns them.

use std::cell::RefCell;
use std::ops::Range;

use crate::ad::block::BlockOp;
use crate::ad::real::Real;
use crate::error::Error;
use crate::linalg::Par;

/// Where a run of scalar entries starts and how its entry indices map to slots.
#[derive(Clone, Copy, Debug)]
pub(super) struct Segment {
    /// Index of the first scalar entry of the segment.
    pub(super) entry_start: u32,
    /// `slot = entry + offset` for entries of this segment.
    pub(super) offset: u32,
}

/// One argument of a recorded block.
#[derive(Clone, Debug)]
pub(crate) enum ArgRec {
    /// Contiguous slots `start .. start + len`.
    Range { start: u32, len: u32 },
    /// Scattered slots, stored in `TapeInner::arg_slots[offset .. offset + len]`.
    List { offset: u32, len: u32 },
    /// A constant argument (no adjoint wanted).
    Constant,
}

/// One recorded block: the operation (with its saved data), its arguments
/// (`TapeInner::arg_table[args]`) and its outputs (`n_out` slots from `out_start`).
pub(super) struct BlockRecord<S> {
    pub(super) op: Box<dyn BlockOp<S> + Send>,
    pub(super) args: Range<usize>,
    pub(super) out_start: u32,
    pub(super) n_out: u32,
    pub(super) is_leaf: bool,
}

/// One scalar entry: the slots of its two parents and the partial derivatives with
/// respect to them (24 bytes for `S = f64`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry<S> {
    pub(super) parents: [u32; 2],
    pub(super) partials: [S; 2],
}

/// Everything recorded (behind the tape's `RefCell`).
pub(super) struct TapeInner<S> {
    pub(super) entries: Vec<Entry<S>>,
    /// `slot = entry index + offset` for entries pushed now (the last segment's offset).
    pub(super) offset: u32,
    /// One segment per run of scalar entries: the first, then one after each block.
    pub(super) segments: Vec<Segment>,
    /// Block `j` sits between segments `j` and `j + 1`.
    pub(super) blocks: Vec<BlockRecord<S>>,
    pub(super) arg_table: Vec<ArgRec>,
    pub(super) arg_slots: Vec<u32>,
    pub(super) check_finite: bool,
    /// The first deferred error.
    pub(super) error: Option<Error>,
    pub(super) par: Par,
}

/// Largest slot count a tape accepts (slots are `u32`).
pub(super) const MAX_SLOTS: u64 = u32::MAX as u64 - 1;

/// A reverse-mode tape over scalar type `S` (`f64` for gradients; a dual number for
/// forward-over-reverse Hessian-vector products).
///
/// Create variables with [`Tape::var`] / [`Tape::var_vec`] / [`Tape::var_mat`], compute
/// with them (operators, [`Real`] methods, block operations), then call
/// [`Tape::gradient`]. See the [module docs](crate::ad) for an example.
pub struct Tape<S = f64> {
    pub(super) inner: RefCell<TapeInner<S>>,
    /// Work space lent to block pullbacks, kept across sweeps and `clear`.
    pub(super) scratch: RefCell<Vec<f64>>,
    /// Buffer for the adjoint of a scattered block argument (a [`Tape::stack`]), kept
    /// across sweeps and `clear` so the reverse sweep does not allocate.
    pub(super) gather: RefCell<Vec<S>>,
    /// Incremented by [`Tape::clear`]: adjoints remember the recording they came from.
    pub(super) generation: u64,
}

impl<S: Real> Default for Tape<S> {
    fn default() -> Self {
        Self::with_capacity_generic(1024)
    }
}

impl Tape<f64> {
    /// An empty tape of `f64` (the usual reverse mode).
    pub fn new() -> Self {
        Self::with_capacity_generic(1024)
    }

    /// An empty tape with room for `n` scalar entries before it reallocates.
    pub fn with_capacity(n: usize) -> Self {
        Self::with_capacity_generic(n)
    }
}

/// Marks a leaf in `push_entry`.
pub(super) const LEAF: u32 = u32::MAX;

impl<S: Real> Tape<S> {
    /// An empty tape over any scalar type (e.g. `Tape::<Dual>::with_capacity_generic(n)`
    /// for forward-over-reverse).
    pub fn with_capacity_generic(n: usize) -> Self {
        let mut inner = TapeInner {
            entries: Vec::with_capacity(n.max(1)),
            offset: 0,
            segments: Vec::with_capacity(8),
            blocks: Vec::new(),
            arg_table: Vec::new(),
            arg_slots: Vec::new(),
            check_finite: false,
            error: None,
            par: Par::Seq,
        };
        inner.reset();
        Self {
            inner: RefCell::new(inner),
            scratch: RefCell::new(Vec::new()),
            gather: RefCell::new(Vec::new()),
            generation: 0,
        }
    }

    /// Forgets everything recorded, keeping the allocated capacity.
    ///
    /// Takes `&mut self`, so no variable of the old recording can outlive it.
    pub fn clear(&mut self) {
        self.inner.get_mut().reset();
        self.generation = self.generation.wrapping_add(1);
    }

    /// Identifies this tape and its current recording, for [`Adjoints::is_from`].
    pub(super) fn identity(&self) -> (usize, u64) {
        (std::ptr::from_ref(self) as usize, self.generation)
    }

    /// Sets the parallelism used by dense block operations on this tape (default
    /// `Par::Seq`).
    pub fn set_par(&self, par: Par) {
        self.inner.borrow_mut().par = par;
    }

    /// The parallelism used by dense block operations on this tape.
    pub fn par(&self) -> Par {
        self.inner.borrow().par
    }
}

impl<S: Real> TapeInner<S> {
    /// Number of slots so far.
    #[inline]
    pub(super) fn n_slots(&self) -> u64 {
        self.entries.len() as u64 + u64::from(self.offset)
    }

    /// Makes room for more entries; `false` (with an error recorded) when the tape is full.
    #[cold]
    #[inline(never)]
    pub(super) fn grow(&mut self, op: &'static str) -> bool {
        if self.n_slots() >= MAX_SLOTS {
            if self.error.is_none() {
                self.error = Some(Error::Unsupported {
                    op,
                    reason: "tape is full (2^32 slots)".into(),
                });
            }
            return false;
        }
        self.entries.reserve(self.entries.len().max(1024));
        true
    }

    /// Forgets the recording (keeping capacity); slot 0 is the constants' dummy.
    pub(super) fn reset(&mut self) {
        self.entries.clear();
        self.offset = 0;
        self.segments.clear();
        self.blocks.clear();
        self.arg_table.clear();
        self.arg_slots.clear();
        self.error = None;
        // Slot 0: a dummy, the slot of constants; its adjoint is discarded.
        self.entries.push(Entry {
            parents: [0, 0],
            partials: [S::zero(), S::zero()],
        });
        self.segments.push(Segment {
            entry_start: 0,
            offset: 0,
        });
    }
}

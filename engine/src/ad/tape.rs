//! The reverse-mode tape (Wengert list).
//!
//! # Layout
//! Every differentiable quantity owns one *slot*: an index into the adjoint vector of the
//! reverse sweep. Slots are created in program order by two kinds of record:
//!
//! * **scalar entries** (one per elementary operation), stored structure-of-arrays: two
//!   parent slots (`[u32; 2]`, 8 bytes) and two partial derivatives (`[S; 2]`, 16 bytes for
//!   `S = f64`). A scalar entry costs **24 bytes** on the tape, plus 8 bytes of adjoint
//!   during the sweep, and never allocates (the vectors grow geometrically and keep their
//!   capacity across [`Tape::clear`]). Unary operations point their unused parent at their
//!   own slot with a zero partial, and leaves both, so the sweep has no branches.
//! * **blocks** ([`BlockOp`]): one record for a primitive with many inputs and
//!   outputs, whose outputs occupy a contiguous run of slots and whose pullback adds into the
//!   adjoints of its inputs.
//!
//! Scalar entries between two blocks form a *segment*; inside a segment the slot of entry
//! `i` is `i + offset`, so the reverse sweep over a segment is one tight loop.
//!
//! The tape is a value owned by the caller (no global or thread-local state): independent
//! tapes can live on several threads, each `Tape<f64>` is `Send`.

use std::cell::RefCell;
use std::ops::Range;

use super::block::{BlockArg, BlockOp, InputAdjoints, InputTangents, Leaf};
use super::real::Real;
use super::var::Var;
use crate::error::{Error, Result};

/// Where a run of scalar entries starts and how its entry indices map to slots.
#[derive(Clone, Copy, Debug)]
struct Segment {
    /// Index of the first scalar entry of the segment.
    entry_start: u32,
    /// `slot = entry + offset` for entries of this segment.
    offset: u32,
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

struct BlockRecord<S> {
    op: Box<dyn BlockOp<S> + Send>,
    args: Range<usize>,
    out_start: u32,
    n_out: u32,
    is_leaf: bool,
}

/// One scalar entry: the slots of its two parents and the partial derivatives with
/// respect to them (24 bytes for `S = f64`).
#[derive(Clone, Copy, Debug)]
struct Entry<S> {
    parents: [u32; 2],
    partials: [S; 2],
}

struct TapeInner<S> {
    entries: Vec<Entry<S>>,
    /// `slot = entry index + offset` for entries pushed now (the last segment's offset).
    offset: u32,
    segments: Vec<Segment>,
    blocks: Vec<BlockRecord<S>>,
    arg_table: Vec<ArgRec>,
    arg_slots: Vec<u32>,
    check_finite: bool,
    error: Option<Error>,
    par: faer::Par,
}

/// Largest slot count a tape accepts (slots are `u32`).
const MAX_SLOTS: u64 = u32::MAX as u64 - 1;

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

/// A reverse-mode tape over scalar type `S` (`f64` for gradients; a dual number for
/// forward-over-reverse Hessian-vector products).
///
/// Create variables with [`Tape::var`] / [`Tape::var_vec`] / [`Tape::var_mat`], compute
/// with them (operators, [`Real`] methods, block operations), then call
/// [`Tape::gradient`]. See the [module docs](super) for an example.
pub struct Tape<S = f64> {
    inner: RefCell<TapeInner<S>>,
    /// Work space lent to block pullbacks, kept across sweeps and `clear`.
    scratch: RefCell<Vec<f64>>,
    /// Buffer for the adjoint of a scattered block argument (a [`Tape::stack`]), kept
    /// across sweeps and `clear` so the reverse sweep does not allocate.
    gather: RefCell<Vec<S>>,
    /// Incremented by [`Tape::clear`]: adjoints remember the recording they came from.
    generation: u64,
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

impl<S: Real> std::fmt::Debug for Tape<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tape({:?})", self.stats())
    }
}

/// Bytes per scalar tape entry for the scalar type `S` (24 for `f64`).
pub const fn scalar_entry_bytes<S>() -> usize {
    std::mem::size_of::<Entry<S>>()
}

/// Marks a leaf in `push_entry`.
const LEAF: u32 = u32::MAX;

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
            par: faer::Par::Seq,
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
    fn identity(&self) -> (usize, u64) {
        (std::ptr::from_ref(self) as usize, self.generation)
    }

    /// Turns the non-finite check mode on or off. When on:
    ///
    /// * a scalar operation whose value or partial derivative is NaN or infinite (`ln` of
    ///   a negative number; `sqrt` at 0, whose derivative is infinite) records an
    ///   [`Error::NonFinite`] naming the operation and the tape entry;
    /// * so does a block (built-in or added through [`Tape::push_block`]) with a
    ///   non-finite output, when its outputs are wrapped by
    ///   [`VarVec::from_block`](super::VarVec::from_block) /
    ///   [`VarMat::from_block`](super::VarMat::from_block), naming the block and the output;
    ///
    /// and [`Tape::check`] and [`Tape::gradient`] then return the first such error. During
    /// a sweep, a block whose pullback (or pushforward) leaves a non-finite adjoint (or
    /// tangent) in one of its arguments (outputs) makes the sweep return an
    /// [`Error::NonFinite`] naming the block. Off by default: the checks cost a test per
    /// entry.
    pub fn set_check_finite(&self, on: bool) {
        self.inner.borrow_mut().check_finite = on;
    }

    /// Sets the parallelism used by dense block operations on this tape (default
    /// `Par::Seq`).
    pub fn set_par(&self, par: faer::Par) {
        self.inner.borrow_mut().par = par;
    }

    /// The parallelism used by dense block operations on this tape.
    pub fn par(&self) -> faer::Par {
        self.inner.borrow().par
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

    /// A new independent variable with value `x`.
    pub fn var(&self, x: S) -> Var<'_, S> {
        let slot = self.push_leaf(&x);
        Var::from_parts(self, slot, x)
    }

    /// New independent variables, one per value (contiguous slots).
    pub fn vars(&self, xs: &[S]) -> Vec<Var<'_, S>> {
        xs.iter().map(|&x| self.var(x)).collect()
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

    /// Pushes a unary entry (one parent) and returns its slot.
    ///
    /// The unused second parent points at the entry's own slot with partial 0: its adjoint
    /// has already been read when the sweep reaches the entry, so the dummy update creates
    /// no dependency between iterations (a shared dummy slot would serialise the sweep).
    #[inline(always)]
    pub(crate) fn push_unary(&self, p0: u32, w0: S, value: &S, op: &'static str) -> u32 {
        self.push_entry(p0, w0, None, value, op)
    }

    /// Pushes a binary entry (two parents) and returns its slot.
    #[inline(always)]
    pub(crate) fn push_binary(
        &self,
        p0: u32,
        w0: S,
        p1: u32,
        w1: S,
        value: &S,
        op: &'static str,
    ) -> u32 {
        self.push_entry(p0, w0, Some((p1, w1)), value, op)
    }

    /// A leaf (independent variable): both parents are the entry itself, partials 0.
    #[inline(always)]
    pub(crate) fn push_leaf(&self, value: &S) -> u32 {
        self.push_entry(LEAF, S::zero(), None, value, "var")
    }

    #[inline(always)]
    fn push_entry(&self, p0: u32, w0: S, p1: Option<(u32, S)>, value: &S, op: &'static str) -> u32 {
        let mut inner = self.inner.borrow_mut();
        if inner.entries.len() == inner.entries.capacity() && !inner.grow(op) {
            return 0;
        }
        if inner.check_finite {
            let (w1, has_p1) = p1.map_or((S::zero(), false), |(_, w)| (w, true));
            if !value.value().is_finite() {
                inner.record_non_finite(value.value(), op, false);
            } else if p0 != LEAF && !w0.value().is_finite() {
                inner.record_non_finite(w0.value(), op, true);
            } else if has_p1 && !w1.value().is_finite() {
                inner.record_non_finite(w1.value(), op, true);
            }
        }
        let slot = inner.entries.len() as u32 + inner.offset;
        let entry = match (p0, p1) {
            (LEAF, _) => Entry {
                parents: [slot, slot],
                partials: [S::zero(), S::zero()],
            },
            (_, None) => Entry {
                parents: [p0, slot],
                partials: [w0, S::zero()],
            },
            (_, Some((p1, w1))) => Entry {
                parents: [p0, p1],
                partials: [w0, w1],
            },
        };
        inner.entries.push(entry);
        slot
    }

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
            (None, None) => Error::InvalidArgument {
                op: "from_block",
                message: format!(
                    "{what}: slot {start} is not the first output of a block on this tape \
                     (pass the slot returned by Tape::push_block)"
                ),
            },
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

    /// Reverse sweep: the adjoint of every slot, given seeds `(slot, adjoint)`.
    ///
    /// Returns the first deferred error instead, if one was recorded.
    pub fn reverse(&self, seeds: &[(u32, S)]) -> Result<Adjoints<S>> {
        let mut adj = Adjoints::default();
        self.reverse_into(seeds, &mut adj)?;
        Ok(adj)
    }

    /// Like [`Tape::reverse`], reusing the storage of `out`.
    pub fn reverse_into(&self, seeds: &[(u32, S)], out: &mut Adjoints<S>) -> Result<()> {
        self.check()?;
        let inner = self.inner.borrow();
        let n = inner.n_slots() as usize;
        out.tape = self.identity();
        let adj = &mut out.adj;
        adj.clear();
        adj.resize(n, S::zero());
        for &(slot, s) in seeds {
            let slot = slot as usize;
            if slot >= n {
                return Err(Error::UnknownVariable { slot, n_slots: n });
            }
            adj[slot] += s;
        }
        let mut gather = self.gather.borrow_mut();
        let mut scratch = self.scratch.borrow_mut();
        let check_finite = inner.check_finite;
        let n_entries = inner.entries.len();
        for j in (0..inner.segments.len()).rev() {
            let seg = inner.segments[j];
            let end = inner
                .segments
                .get(j + 1)
                .map_or(n_entries, |s| s.entry_start as usize);
            let begin = seg.entry_start as usize;
            let entries = &inner.entries[begin..end];
            let base = begin + seg.offset as usize;
            for (k, e) in entries.iter().enumerate().rev() {
                let a = adj[base + k];
                let [p0, p1] = e.parents;
                let [w0, w1] = e.partials;
                adj[p0 as usize] += w0 * a;
                adj[p1 as usize] += w1 * a;
            }
            if j > 0 {
                let rec = &inner.blocks[j - 1];
                if rec.is_leaf {
                    continue;
                }
                let start = rec.out_start as usize;
                let (lower, upper) = adj.split_at_mut(start);
                let out_adj = &upper[..rec.n_out as usize];
                if out_adj.iter().all(|a| a.is_exact_zero()) {
                    continue;
                }
                let args = &inner.arg_table[rec.args.clone()];
                let mut inputs =
                    InputAdjoints::new(lower, args, &inner.arg_slots, &mut gather, &mut scratch);
                rec.op.pullback(out_adj, &mut inputs)?;
                if check_finite {
                    check_args_finite(lower, args, &inner.arg_slots, rec.op.name(), "pullback")?;
                }
            }
        }
        adj[0] = S::zero();
        Ok(())
    }

    /// Forward (tangent) sweep: given tangents of some slots (usually the independent
    /// variables), the tangent of every slot. Blocks must implement
    /// [`BlockOp::pushforward`].
    pub fn forward(&self, seeds: &[(u32, S)]) -> Result<Adjoints<S>> {
        self.check()?;
        let inner = self.inner.borrow();
        let n = inner.n_slots() as usize;
        let mut tan = vec![S::zero(); n];
        for &(slot, s) in seeds {
            let slot = slot as usize;
            if slot >= n {
                return Err(Error::UnknownVariable { slot, n_slots: n });
            }
            tan[slot] += s;
        }
        let n_entries = inner.entries.len();
        for j in 0..inner.segments.len() {
            if j > 0 {
                let rec = &inner.blocks[j - 1];
                if !rec.is_leaf {
                    let start = rec.out_start as usize;
                    let (lower, upper) = tan.split_at_mut(start);
                    let out = &mut upper[..rec.n_out as usize];
                    let inputs = InputTangents::new(
                        lower,
                        &inner.arg_table[rec.args.clone()],
                        &inner.arg_slots,
                    );
                    rec.op.pushforward(&inputs, out)?;
                    if inner.check_finite
                        && let Some(k) = out.iter().position(|t| !t.value().is_finite())
                    {
                        return Err(Error::NonFinite {
                            op: rec.op.name(),
                            index: start + k,
                            value: out[k].value(),
                            context: format!(
                                "tangent of output {k} after the pushforward (check mode)"
                            ),
                        });
                    }
                }
            }
            let seg = inner.segments[j];
            let end = inner
                .segments
                .get(j + 1)
                .map_or(n_entries, |s| s.entry_start as usize);
            let begin = seg.entry_start as usize;
            let off = seg.offset as usize;
            for k in begin.max(1)..end {
                let Entry {
                    parents: [p0, p1],
                    partials: [w0, w1],
                } = inner.entries[k];
                let slot = (k + off) as u32;
                // Leaves (both parents = own slot) keep their seeds.
                if p0 != slot {
                    let t1 = if p1 == slot {
                        S::zero()
                    } else {
                        w1 * tan[p1 as usize]
                    };
                    tan[slot as usize] = w0 * tan[p0 as usize] + t1;
                }
            }
        }
        tan[0] = S::zero();
        Ok(Adjoints {
            adj: tan,
            tape: self.identity(),
        })
    }
}

impl<S: Real> TapeInner<S> {
    /// Number of slots so far.
    #[inline]
    fn n_slots(&self) -> u64 {
        self.entries.len() as u64 + u64::from(self.offset)
    }

    /// Makes room for more entries; `false` (with an error recorded) when the tape is full.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, op: &'static str) -> bool {
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

    #[cold]
    #[inline(never)]
    fn record_non_finite(&mut self, value: f64, op: &'static str, partial: bool) {
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

    /// Bytes reserved by the vectors of the recording.
    fn reserved_bytes(&self) -> usize {
        use std::mem::size_of;
        self.entries.capacity() * size_of::<Entry<S>>()
            + self.segments.capacity() * size_of::<Segment>()
            + self.blocks.capacity() * size_of::<BlockRecord<S>>()
            + self.arg_table.capacity() * size_of::<ArgRec>()
            + self.arg_slots.capacity() * size_of::<u32>()
    }

    fn reset(&mut self) {
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

/// The adjoints (or tangents) of every slot after a sweep.
///
/// They remember the tape and the recording (between two [`Tape::clear`]s) they came from:
/// [`Adjoints::wrt`] and its siblings read a slot without checking (fast, never panics, but
/// meaningless for a variable of another tape or recording), [`Adjoints::try_wrt`] and
/// [`Adjoints::is_from`] check.
#[derive(Clone, Debug)]
pub struct Adjoints<S = f64> {
    pub(crate) adj: Vec<S>,
    /// Address of the tape and its generation when the sweep ran.
    pub(crate) tape: (usize, u64),
}

impl<S> Default for Adjoints<S> {
    fn default() -> Self {
        Self {
            adj: Vec::new(),
            tape: (0, 0),
        }
    }
}

impl<S: Real> Adjoints<S> {
    /// Whether these adjoints come from a sweep over `tape`'s current recording (not from
    /// another tape, nor from before a [`Tape::clear`]). Variables on `tape` can then be
    /// read with [`Adjoints::wrt`] and its siblings. A tape is identified by its address, so
    /// one that was moved since the sweep (while no variable borrowed it) counts as another.
    pub fn is_from(&self, tape: &Tape<S>) -> bool {
        self.tape == tape.identity()
    }

    /// The adjoint of a scalar variable (zero for constants).
    ///
    /// Does not check that `x` is on the tape the adjoints come from: for a variable of
    /// another tape the result is meaningless (zero if its slot is out of range). Use
    /// [`Adjoints::try_wrt`] or [`Adjoints::is_from`] where that can happen.
    pub fn wrt(&self, x: &Var<'_, S>) -> S {
        match x.slot_if_var() {
            Some(s) => self.adj.get(s as usize).copied().unwrap_or_else(S::zero),
            None => S::zero(),
        }
    }

    /// The adjoint of a scalar variable (zero for constants), checking that it belongs to
    /// the tape and recording these adjoints come from.
    ///
    /// # Errors
    /// [`Error::MixedTapes`] for a variable of another tape, or of the same tape after a
    /// [`Tape::clear`]; [`Error::UnknownVariable`] if its slot is out of range.
    pub fn try_wrt(&self, x: &Var<'_, S>) -> Result<S> {
        let Some(tape) = x.tape() else {
            return Ok(S::zero());
        };
        if !self.is_from(tape) {
            return Err(Error::MixedTapes {
                op: "Adjoints::try_wrt",
            });
        }
        let s = x.slot() as usize;
        self.adj.get(s).copied().ok_or(Error::UnknownVariable {
            slot: s,
            n_slots: self.adj.len(),
        })
    }
    /// The adjoints of several scalar variables.
    pub fn wrt_slice(&self, xs: &[Var<'_, S>]) -> Vec<S> {
        xs.iter().map(|x| self.wrt(x)).collect()
    }
    /// The adjoints of a contiguous run of slots (zeros where out of range).
    pub fn slots(&self, start: u32, len: usize) -> Vec<S> {
        let s = start as usize;
        if s + len <= self.adj.len() {
            self.adj[s..s + len].to_vec()
        } else {
            vec![S::zero(); len]
        }
    }
    /// The adjoints of a contiguous run of slots, borrowed (empty if out of range).
    pub fn slots_ref(&self, start: u32, len: usize) -> &[S] {
        let s = start as usize;
        self.adj.get(s..s + len).unwrap_or(&[])
    }
    /// All adjoints, indexed by slot.
    pub fn as_slice(&self) -> &[S] {
        &self.adj
    }
}

/// In check mode, after a block's pullback: the first non-finite adjoint among the slots
/// of the block's arguments, as an error naming the block.
#[cold]
fn check_args_finite<S: Real>(
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

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Tape<f64>>();
}

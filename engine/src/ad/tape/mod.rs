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
//! * **blocks** ([`BlockOp`](crate::ad::BlockOp)): one record for a primitive with many inputs and
//!   outputs, whose outputs occupy a contiguous run of slots and whose pullback adds into the
//!   adjoints of its inputs.
//!
//! Scalar entries between two blocks form a *segment*; inside a segment the slot of entry
//! `i` is `i + offset`, so the reverse sweep over a segment is one tight loop.
//!
//! The tape is a value owned by the caller (no global or thread-local state): independent
//! tapes can live on several threads, each `Tape<f64>` is `Send`.
//!
//! # Files
//! * `storage`: the layout (scalar entries, segments, block records, argument tables), the
//!   [`Tape`] value that owns it, creating and clearing;
//! * `record`: recording scalar operations and independent variables;
//! * `blocks`: recording block operations (each one closes a segment);
//! * `sweep`: the reverse sweep ([`Tape::reverse`]) and the forward (tangent) sweep;
//! * `adjoints`: [`Adjoints`], what a sweep returns;
//! * `check`: the non-finite check mode and deferred errors;
//! * `stats`: [`TapeStats`], what is recorded and what it costs.

mod adjoints;
mod blocks;
mod check;
mod record;
mod stats;
mod storage;
mod sweep;

pub use adjoints::Adjoints;
pub use stats::{TapeStats, scalar_entry_bytes};
pub(crate) use storage::ArgRec;
pub use storage::Tape;

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Tape<f64>>();
}

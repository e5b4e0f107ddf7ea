//! [`Adjoints`]: the adjoint (or tangent) of every slot after a sweep.

use super::storage::Tape;
use crate::ad::real::Real;
use crate::ad::var::Var;
use crate::error::{Error, Result};

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

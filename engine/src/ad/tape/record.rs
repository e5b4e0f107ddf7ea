//! Recording scalar operations: one entry of two parents and two partials each, pushed
//! without allocation (the inner loop of every scalar computation on a tape).

use super::storage::{Entry, LEAF, Tape};
use crate::ad::real::Real;
use crate::ad::var::Var;

impl<S: Real> Tape<S> {
    /// A new independent variable with value `x`.
    pub fn var(&self, x: S) -> Var<'_, S> {
        let slot = self.push_leaf(&x);
        Var::from_parts(self, slot, x)
    }

    /// New independent variables, one per value (contiguous slots).
    pub fn vars(&self, xs: &[S]) -> Vec<Var<'_, S>> {
        xs.iter().map(|&x| self.var(x)).collect()
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
}

//! The sweeps: reverse (adjoints, segment by segment, blocks' pullbacks between them) and
//! forward (tangents, blocks' pushforwards).

use super::adjoints::Adjoints;
use super::check::check_args_finite;
use super::storage::{Entry, Tape};
use crate::ad::block::{InputAdjoints, InputTangents};
use crate::ad::real::Real;
use crate::error::{Error, Result};

impl<S: Real> Tape<S> {
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
    /// [`BlockOp::pushforward`](crate::ad::BlockOp::pushforward).
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

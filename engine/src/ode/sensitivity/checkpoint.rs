//! Checkpoints of a forward solve for the adjoints: the accepted step grid and the state
//! at every `K`-th step, with `K` doubled (every other checkpoint dropped) whenever the
//! number kept exceeds its budget.
//!
//! Memory law. For `N` accepted steps and a budget of `B` checkpoints the store holds at
//! most `B` states; a backward pass then replays one segment of at most `2N/B` steps at a
//! time, so the peak is `O(B·n + (N/B)·s·n)` numbers for `n` states and `s` stages:
//! `O(√N)` states with `B ∝ √N` ([`Checkpointing::Auto`]), at the price of one extra
//! forward pass (each accepted step is replayed once). The step grid `(t, h)` is kept for
//! every step so that the replay takes bit-identical steps: 2 numbers per step, whatever
//! `n` ([`AdjointInfo::grid_f64`](super::AdjointInfo::grid_f64)). [`Checkpointing::All`]
//! keeps every state (no thinning; memory `O(N)` states), [`Checkpointing::Every`]`(k)` the
//! state at every `k`-th step (no thinning; memory `O(N/k)` states, segments of `k`
//! steps).

use crate::ode::driver::StepObserver;
use crate::solver::Checkpointing;

/// The forward pass's record.
#[derive(Clone, Debug, Default)]
pub(crate) struct Checkpoints {
    n: usize,
    /// `(t, h)` of every accepted step.
    pub steps: Vec<(f64, f64)>,
    /// Step index of each checkpoint: its state is the state at the start of that step.
    pub index: Vec<usize>,
    /// The checkpoint states, `n` each.
    pub states: Vec<f64>,
    stride: usize,
    policy: Option<usize>,
    auto: bool,
    peak: usize,
}

impl Checkpoints {
    /// An empty record for `n` states.
    pub(crate) fn new(n: usize, policy: Checkpointing) -> Self {
        let (cap, auto) = match policy {
            Checkpointing::All | Checkpointing::Every(_) => (None, false),
            Checkpointing::Budget(b) => (Some(b.max(2)), false),
            Checkpointing::Auto => (Some(8), true),
        };
        let stride = match policy {
            Checkpointing::Every(k) => k.max(1),
            _ => 1,
        };
        Self {
            n,
            steps: Vec::new(),
            index: Vec::new(),
            states: Vec::new(),
            stride,
            policy: cap,
            auto,
            peak: 0,
        }
    }

    /// Number of checkpoints kept.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// State of checkpoint `j`.
    pub(crate) fn state(&self, j: usize) -> &[f64] {
        &self.states[j * self.n..(j + 1) * self.n]
    }

    /// Step range `[first, end)` covered by checkpoint `j`.
    pub(crate) fn segment(&self, j: usize) -> std::ops::Range<usize> {
        let end = self.index.get(j + 1).copied().unwrap_or(self.steps.len());
        self.index[j]..end
    }

    /// Consecutive segments merged until each group spans at least `min_len` steps (the
    /// last may be shorter): `(first checkpoint, step range)`, in forward order. A group
    /// is replayed from its first checkpoint; the replay retraces the forward steps bit
    /// for bit, so the checkpoints inside it are not needed.
    pub(crate) fn groups(&self, min_len: usize) -> Vec<(usize, std::ops::Range<usize>)> {
        let mut out: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
        for j in 0..self.len() {
            let seg = self.segment(j);
            match out.last_mut() {
                Some((_, r)) if r.len() < min_len => r.end = seg.end,
                _ => out.push((j, seg)),
            }
        }
        out
    }

    /// Largest number of state entries (`f64`) held in checkpoints at any time.
    pub(crate) fn peak_f64(&self) -> usize {
        self.peak
    }

    /// Numbers held by the step grid (2 per step, 1 per checkpoint index).
    pub(crate) fn grid_f64(&self) -> usize {
        2 * self.steps.len() + self.index.len()
    }

    fn cap(&self) -> Option<usize> {
        if self.auto {
            // Keep about 2√N checkpoints: segments of about √N steps.
            let n = self.steps.len() as f64;
            Some((2.0 * n.sqrt()).ceil() as usize + 8)
        } else {
            self.policy
        }
    }

    /// Drops every other checkpoint (doubling the stride).
    fn thin(&mut self) {
        let n = self.n;
        let stride2 = 2 * self.stride;
        let mut keep_i = Vec::with_capacity(self.index.len() / 2 + 1);
        let mut keep_s = Vec::with_capacity(self.states.len() / 2 + n);
        for (j, &i) in self.index.iter().enumerate() {
            if i.is_multiple_of(stride2) {
                keep_i.push(i);
                keep_s.extend_from_slice(&self.states[j * n..(j + 1) * n]);
            }
        }
        self.index = keep_i;
        self.states = keep_s;
        self.stride = stride2;
    }
}

impl StepObserver<f64> for Checkpoints {
    fn on_step(&mut self, index: usize, t: f64, h: f64, y: &[f64], _y_new: &[f64]) {
        self.steps.push((t, h));
        if index.is_multiple_of(self.stride) {
            self.index.push(index);
            self.states.extend_from_slice(y);
            // The budget never shrinks, so it can only be exceeded just after a push.
            if let Some(cap) = self.cap()
                && self.index.len() > cap
            {
                self.thin();
            }
            self.peak = self.peak.max(self.states.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_a_regular_grid_within_budget() {
        let mut c = Checkpoints::new(2, Checkpointing::Budget(10));
        for i in 0..1000 {
            let y = [i as f64, -(i as f64)];
            c.on_step(i, i as f64, 1.0, &y, &y);
        }
        assert!(c.len() <= 10 && c.len() >= 5, "{}", c.len());
        for j in 0..c.len() {
            let i = c.index[j];
            assert_eq!(c.state(j), &[i as f64, -(i as f64)]);
            assert_eq!(i % c.stride, 0);
        }
        assert_eq!(c.index[0], 0);
        assert_eq!(c.segment(c.len() - 1).end, 1000);

        // Auto: about 2√N checkpoints.
        let mut a = Checkpoints::new(1, Checkpointing::Auto);
        for i in 0..10_000 {
            a.on_step(i, i as f64, 1.0, &[0.0], &[0.0]);
        }
        let b = (2.0 * 100.0f64).ceil() as usize + 8;
        assert!(a.len() <= b && a.len() >= b / 2 - 8, "{}", a.len());
        let longest = (0..a.len()).map(|j| a.segment(j).len()).max().unwrap();
        assert!(longest <= 2 * 10_000 / (b / 2), "{longest}");

        // Groups cover the steps in order, each from its first checkpoint.
        let mut all = Checkpoints::new(1, Checkpointing::All);
        for i in 0..100 {
            all.on_step(i, i as f64, 1.0, &[0.0], &[0.0]);
        }
        let g = all.groups(16);
        assert_eq!(g.len(), 7);
        let mut next = 0;
        for (j, r) in &g {
            assert_eq!((all.index[*j], r.start), (next, next));
            assert!(r.len() == 16 || r.end == 100);
            next = r.end;
        }
        assert_eq!(next, 100);
    }
}

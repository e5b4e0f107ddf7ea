//! One generic explicit Runge–Kutta stepper over any [`ButcherTableau`] and any scalar
//! type (`f64` for solves, dual numbers for forward sensitivities).
//!
//! FSAL tableaus reuse the last stage of an accepted step as the first of the next (and
//! keep it across rejected attempts); extra dense-output stages are evaluated only when a
//! dense value is asked for inside a step.

use super::one_step::{Attempt, OneStep, Step, StepAttempt};
use super::solution::OdeStats;
use super::system::OdeSystem;
use super::tableau::ButcherTableau;
use crate::ad::Real;
use crate::error::Result;

/// Systems up to this size take the register-blocked stage loop.
const SMALL: usize = 8;
/// Longest row of `A` for the register-blocked loop.
const MAX_ROW: usize = 32;

/// The explicit Runge–Kutta method of a tableau, with its stage storage.
pub struct ExplicitRk<T> {
    tab: &'static ButcherTableau,
    fsal: bool,
    n: usize,
    /// Stage derivatives, stage `i` at `k[i·n..(i+1)·n]` (extra dense stages after the
    /// method's).
    k: Vec<T>,
    ytmp: Vec<T>,
    /// `k[0]` holds `F(t, y)` of the current point.
    k0_valid: bool,
    /// The extra dense stages of the last computed step are in `k`.
    extra_valid: bool,
    w: Vec<f64>,
    kval: Vec<f64>,
    yval: Vec<f64>,
}

impl<T: Real> ExplicitRk<T> {
    /// A stepper for `n` states.
    pub fn new(tab: &'static ButcherTableau, n: usize) -> Self {
        let total = tab.total_stages();
        Self {
            tab,
            fsal: tab.is_fsal(),
            n,
            k: vec![T::zero(); total * n],
            ytmp: vec![T::zero(); n],
            k0_valid: false,
            extra_valid: false,
            w: vec![0.0; total],
            kval: Vec::new(),
            yval: Vec::new(),
        }
    }

    /// The tableau.
    pub fn tableau(&self) -> &'static ButcherTableau {
        self.tab
    }

    /// The stage derivatives of the last computed step (method stages, then extra dense
    /// stages where computed).
    pub fn stages(&self) -> &[T] {
        &self.k
    }

    /// Evaluates stage `i` (of the extended tableau) of the step `(t, h, y)`.
    #[inline]
    fn stage<S: OdeSystem<T> + ?Sized>(&mut self, sys: &mut S, t: f64, h: f64, y: &[T], i: usize) {
        let n = self.n;
        let s = self.tab.stages();
        let (row, c): (&[f64], f64) = if i < s {
            (self.tab.a[i], self.tab.c[i])
        } else {
            match &self.tab.dense {
                Some(d) => (d.extra_a[i - s], d.extra_c[i - s]),
                None => (&[], 0.0),
            }
        };
        let (done, rest) = self.k.split_at_mut(i * n);
        if n <= SMALL && row.len() <= MAX_ROW {
            // Small systems: one pass over the components, the stage sum in registers.
            let mut ha = [0.0; MAX_ROW];
            for (d, &a) in ha.iter_mut().zip(row) {
                *d = h * a;
            }
            let ha = &ha[..row.len()];
            for m in 0..n {
                let mut acc = y[m];
                for (j, &c) in ha.iter().enumerate() {
                    acc += done[j * n + m] * c;
                }
                self.ytmp[m] = acc;
            }
            sys.eval(t + c * h, &self.ytmp, &mut rest[..n]);
            return;
        }
        // ytmp = y + h Σⱼ aᵢⱼ kⱼ, the first term fused with the copy.
        let mut first = true;
        for (j, &a) in row.iter().enumerate() {
            if a != 0.0 {
                let ha = h * a;
                let kj = &done[j * n..(j + 1) * n];
                if first {
                    for ((yt, &yv), &kv) in self.ytmp.iter_mut().zip(y).zip(kj) {
                        *yt = yv + kv * ha;
                    }
                    first = false;
                } else {
                    for (yt, &kv) in self.ytmp.iter_mut().zip(kj) {
                        *yt += kv * ha;
                    }
                }
            }
        }
        if first {
            self.ytmp.copy_from_slice(y);
        }
        sys.eval(t + c * h, &self.ytmp, &mut rest[..n]);
    }

    /// Computes the extra dense stages of the step `(t, h, y)` if they are missing.
    fn ensure_extra<S: OdeSystem<T> + ?Sized>(
        &mut self,
        sys: &mut S,
        t: f64,
        h: f64,
        y: &[T],
        stats: &mut OdeStats,
    ) {
        if self.extra_valid {
            return;
        }
        let (s, total) = (self.tab.stages(), self.tab.total_stages());
        for i in s..total {
            self.stage(sys, t, h, y, i);
            stats.n_rhs += 1;
        }
        self.extra_valid = true;
    }

    /// Computes `y_new` and the stages of the step `(t, h, y)` (no error estimate):
    /// the replay used by the adjoints. `k[0]` must hold `F(t, y)` or it is evaluated.
    pub(crate) fn replay<S: OdeSystem<T> + ?Sized>(
        &mut self,
        sys: &mut S,
        t: f64,
        h: f64,
        y: &[T],
        y_new: &mut [T],
        with_extra: bool,
    ) -> usize {
        let n = self.n;
        let s = self.tab.stages();
        let mut evals = 0;
        if !self.k0_valid {
            sys.eval(t, y, &mut self.k[..n]);
            evals += 1;
        }
        for i in 1..s {
            self.stage(sys, t, h, y, i);
            evals += 1;
        }
        self.combine(h, y, y_new);
        self.extra_valid = false;
        if with_extra {
            for i in s..self.tab.total_stages() {
                self.stage(sys, t, h, y, i);
                evals += 1;
            }
            self.extra_valid = true;
        }
        self.k0_valid = false;
        evals
    }

    /// Forgets the first stage (the next replayed step starts from another state).
    pub(crate) fn reset_first_stage(&mut self) {
        self.k0_valid = false;
        self.extra_valid = false;
    }

    /// After [`ExplicitRk::replay`], prepares the next replayed step from `y_new`: FSAL
    /// tableaus copy their last stage into the first (saving an evaluation).
    pub(crate) fn advance_replay(&mut self) {
        if self.fsal {
            let n = self.n;
            let s = self.tab.stages();
            let (first, rest) = self.k.split_at_mut(n);
            first.copy_from_slice(&rest[(s - 2) * n..(s - 1) * n]);
            self.k0_valid = true;
        }
    }

    /// The step `(t, h, y)`: stages, `y_new` and the error estimate. The slices are
    /// separate arguments (not a [`StepAttempt`]) so that the compiler knows they do not
    /// alias, which keeps the stage loops as tight as they are written.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn attempt_slices<S: OdeSystem<T> + ?Sized>(
        &mut self,
        sys: &mut S,
        t: f64,
        h: f64,
        y: &[T],
        y_new: &mut [T],
        err: &mut [f64],
        stats: &mut OdeStats,
    ) -> Attempt {
        let n = self.n;
        let s = self.tab.stages();
        if !self.k0_valid {
            sys.eval(t, y, &mut self.k[..n]);
            stats.n_rhs += 1;
            self.k0_valid = true;
        }
        for i in 1..s {
            self.stage(sys, t, h, y, i);
        }
        stats.n_rhs += s - 1;
        self.combine(h, y, y_new);
        self.extra_valid = false;
        match self.tab.b_err {
            Some(e) => {
                err.fill(0.0);
                for (i, &ei) in e.iter().enumerate() {
                    if ei != 0.0 {
                        let he = h * ei;
                        for (er, kv) in err.iter_mut().zip(&self.k[i * n..(i + 1) * n]) {
                            *er += he * kv.value();
                        }
                    }
                }
            }
            None => err.fill(0.0),
        }
        Attempt::Done
    }

    /// `y_new = y + h Σ bᵢ kᵢ` (for FSAL tableaus, the last stage's argument).
    fn combine(&mut self, h: f64, y: &[T], y_new: &mut [T]) {
        let n = self.n;
        if self.fsal {
            y_new.copy_from_slice(&self.ytmp);
            return;
        }
        y_new.copy_from_slice(y);
        for (i, &b) in self.tab.b.iter().enumerate() {
            if b != 0.0 {
                let hb = h * b;
                for (yn, &kv) in y_new.iter_mut().zip(&self.k[i * n..(i + 1) * n]) {
                    *yn += kv * hb;
                }
            }
        }
    }
}

impl<T: Real, S: OdeSystem<T> + ?Sized> OneStep<T, S> for ExplicitRk<T> {
    fn error_order(&self) -> f64 {
        self.tab.error_order()
    }

    fn init(&mut self, sys: &mut S, t0: f64, y0: &[T], stats: &mut OdeStats) {
        sys.eval(t0, y0, &mut self.k[..self.n]);
        stats.n_rhs += 1;
        self.k0_valid = true;
        self.extra_valid = false;
    }

    fn f0(&self) -> &[T] {
        &self.k[..self.n]
    }

    #[inline]
    fn attempt(&mut self, sys: &mut S, step: StepAttempt<'_, T>, stats: &mut OdeStats) -> Attempt {
        let StepAttempt {
            t,
            h,
            y,
            y_new,
            err,
            ..
        } = step;
        self.attempt_slices(sys, t, h, y, y_new, err, stats)
    }

    fn dense_at(
        &mut self,
        sys: &mut S,
        step: Step<'_, T>,
        theta: f64,
        out: &mut [T],
        stats: &mut OdeStats,
    ) {
        let Step { t, h, y, .. } = step;
        self.ensure_extra(sys, t, h, y, stats);
        let n = self.n;
        self.tab.dense_weights(theta, &mut self.w);
        out.copy_from_slice(y);
        for (i, &w) in self.w.iter().enumerate() {
            if w != 0.0 {
                let hw = h * w;
                for (o, &kv) in out.iter_mut().zip(&self.k[i * n..(i + 1) * n]) {
                    *o += kv * hw;
                }
            }
        }
    }

    fn dense_coeffs(
        &mut self,
        sys: &mut S,
        step: Step<'_, T>,
        out: &mut Vec<f64>,
        stats: &mut OdeStats,
    ) {
        let Step { t, h, y, .. } = step;
        self.ensure_extra(sys, t, h, y, stats);
        self.kval.clear();
        self.kval.extend(self.k.iter().map(|v| v.value()));
        self.yval.clear();
        self.yval.extend(y.iter().map(|v| v.value()));
        match &self.tab.dense {
            Some(d) => super::dense::rk_coeffs(&self.yval, h, &self.kval, d.weights, out),
            None => {
                let lin: Vec<&[f64]> = self.tab.b.iter().map(std::slice::from_ref).collect();
                super::dense::rk_coeffs(&self.yval, h, &self.kval, &lin, out)
            }
        }
    }

    #[inline]
    fn accept(&mut self, _sys: &mut S, _step: Step<'_, T>, _stats: &mut OdeStats) -> Result<()> {
        if self.fsal {
            let n = self.n;
            let s = self.tab.stages();
            let (first, rest) = self.k.split_at_mut(n);
            first.copy_from_slice(&rest[(s - 2) * n..(s - 1) * n]);
            self.k0_valid = true;
        } else {
            self.k0_valid = false;
        }
        self.extra_valid = false;
        Ok(())
    }
}

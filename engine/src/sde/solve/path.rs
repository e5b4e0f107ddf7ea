//! [`solve`]: one path, and the checks and Brownian buffers every driver shares.

use super::OP;
use super::adaptive::{AdaptiveRun, adaptive_stops, keep_adaptive, run_adaptive, saves_t0};
use super::fixed::run_fixed;
use super::grid::FixedGrid;
use super::options::{SdeOptions, SdeSolution, SolveInfo, Steps};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::sde::brownian::BrownianPath;
use crate::sde::methods::{Increment, SdeMethod};
use crate::sde::problem::{Sde, SdeProblem};

/// Solves `problem` with `method` on the Brownian path `bm`.
///
/// Errors: an invalid problem ([`SdeProblem::validate`]), the path's dimension, a path that
/// does not cover `[t0, t1]` or lacks the Lévy area the method needs, a method that does
/// not apply to the SDE's calculus or noise, invalid options (save times off the step
/// grid, tolerances), and during the solve non-finite states, step-size underflow and too
/// many steps (naming the time and component).
pub fn solve<S, M, B>(
    problem: &SdeProblem<S>,
    method: &M,
    bm: &mut B,
    opts: &SdeOptions,
) -> Result<SdeSolution>
where
    S: Sde,
    M: SdeMethod,
    B: BrownianPath + ?Sized,
{
    problem.validate()?;
    let SdeProblem {
        sde, t0, t1, x0, p, ..
    } = problem;
    let (t0, t1) = (*t0, *t1);
    method.check(sde)?;
    check_brownian(sde, method, bm, t0, t1)?;
    let d = sde.n_states();
    match &opts.steps {
        Steps::Fixed { n_steps } => {
            let grid = FixedGrid::new(t0, t1, *n_steps)?;
            let save = grid.save_indices(&opts.save_at)?;
            let mut sol = SdeSolution {
                t: Vec::with_capacity(save.len()),
                x: Vec::with_capacity(save.len() * d),
                n_states: d,
                info: SolveInfo {
                    n_steps: grid.n,
                    n_rejected: 0,
                },
            };
            let mut next_save = 0;
            let path = PathInputs { sde, method, x0, p };
            run_fixed(path, grid, bm, opts.check_finite, |k, t, y| {
                if save.get(next_save) == Some(&k) {
                    sol.t.push(t);
                    sol.x.extend_from_slice(&y[..d]);
                    next_save += 1;
                }
                Ok(())
            })?;
            Ok(sol)
        }
        Steps::Adaptive(aopts) => {
            let stops = adaptive_stops(t0, t1, &opts.save_at)?;
            let mut sol = SdeSolution {
                t: Vec::new(),
                x: Vec::new(),
                n_states: d,
                info: SolveInfo::default(),
            };
            if saves_t0(&opts.save_at, t0) {
                sol.t.push(t0);
                sol.x.extend_from_slice(x0);
            }
            let run = AdaptiveRun {
                opts: aopts,
                t0,
                t1,
                stops: &stops,
                check_finite: opts.check_finite,
            };
            let path = PathInputs { sde, method, x0, p };
            sol.info = run_adaptive(path, &run, bm, |k, t, y, at_stop| {
                if keep_adaptive(&opts.save_at, k, t, t1, at_stop) {
                    sol.t.push(t);
                    sol.x.extend_from_slice(&y[..d]);
                }
                Ok(())
            })?;
            Ok(sol)
        }
    }
}

/// One path to integrate: the SDE, the method, the initial state and the parameters, over
/// the scalar type `R` of the pass (`f64`, dual numbers, tape variables).
pub(crate) struct PathInputs<'a, S, M, R> {
    pub sde: &'a S,
    pub method: &'a M,
    pub x0: &'a [R],
    pub p: &'a [R],
}

impl<S, M, R> Clone for PathInputs<'_, S, M, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, M, R> Copy for PathInputs<'_, S, M, R> {}

/// Checks the Brownian path against the problem and the interval.
pub(crate) fn check_brownian<S: Sde, M: SdeMethod, B: BrownianPath + ?Sized>(
    sde: &S,
    method: &M,
    bm: &B,
    t0: f64,
    t1: f64,
) -> Result<()> {
    crate::error::check_len(OP, "brownian.dim()", bm.dim(), sde.n_noise())?;
    let (a, b) = bm.domain();
    if t0 < a || t1 > b {
        return Err(Error::invalid_option(
            OP,
            "brownian",
            format!("a path on [{a}, {b}]"),
            format!("a Brownian path whose domain covers [{t0}, {t1}]"),
        ));
    }
    if method.needs_levy_area() && !bm.has_levy_area() {
        return Err(Error::invalid_option(
            method.name(),
            "brownian",
            "a path without Lévy area",
            "a path with the space-time Lévy area (build the tree with levy_area(true))",
        ));
    }
    Ok(())
}

/// The first non-finite component of `x` as an error naming the time and step.
pub(crate) fn non_finite_error<R: Real>(
    op: &'static str,
    x: &[R],
    t: f64,
    step: usize,
) -> Option<Error> {
    x.iter()
        .position(|v| !v.is_finite())
        .map(|i| Error::NonFinite {
            op,
            index: i,
            value: x[i].value(),
            context: format!(
                "state component {i} became non-finite at t = {t} (step {step}); reduce the step \
             size or check the drift/diffusion there"
            ),
        })
}

/// Buffers for one step's interval and Brownian input.
pub(crate) struct IncrementBuf {
    pub t: f64,
    pub h: f64,
    pub dw: Vec<f64>,
    pub area: Vec<f64>,
    pub with_area: bool,
}

impl IncrementBuf {
    pub fn new(m: usize, with_area: bool) -> Self {
        Self {
            t: 0.0,
            h: 0.0,
            dw: vec![0.0; m],
            area: vec![0.0; m],
            with_area,
        }
    }
    /// Sets the step `[s, t]` (`h = t − s`) without touching the increments.
    #[inline]
    pub fn set_interval(&mut self, s: f64, t: f64) {
        self.t = s;
        self.h = t - s;
    }
    /// The step `[s, t]` with its increments from `bm`.
    pub fn fill<B: BrownianPath + ?Sized>(&mut self, bm: &mut B, s: f64, t: f64) -> Result<()> {
        self.set_interval(s, t);
        if self.with_area {
            bm.increment_with_area(s, t, &mut self.dw, &mut self.area)
        } else {
            bm.increment(s, t, &mut self.dw)
        }
    }
    #[inline]
    pub fn get(&self) -> Increment<'_> {
        Increment {
            t: self.t,
            h: self.h,
            dw: &self.dw,
            area: self.with_area.then_some(&self.area[..]),
        }
    }
}

//! The solve driver: one path of an SDE with a method, a Brownian path and options.
//!
//! ```
//! use mechml_engine::solver::SaveAt;
//! use mechml_engine::sde::{reference::Gbm, solve, Milstein, SolveOptions, Steps,
//!     BrownianPath, VirtualBrownianTree};
//! let (t0, t1, n) = (0.0, 1.0, 256);
//! let mut w = VirtualBrownianTree::for_fixed_steps(t0, t1, n, 1, 7, 0, false)?;
//! let opts = SolveOptions { steps: Steps::Fixed { n_steps: n }, save: SaveAt::Final, ..Default::default() };
//! let p = [0.05, 0.2];
//! let sol = solve(&Gbm::ito(), &Milstein, t0, t1, &[1.0], &p, &mut w, &opts)?;
//! let mut wt = [0.0];
//! w.value(t1, &mut wt)?;
//! let exact = Gbm::ito().exact(1.0, &p, t1, wt[0]);
//! assert!((sol.final_state()[0] - exact).abs() < 1e-3);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use super::brownian::BrownianPath;
use super::controller::{AdaptiveOptions, DyadicLevels};
use super::methods::{Increment, SdeMethod, Workspace};
use super::problem::{Sde, check_problem};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::solver::SaveAt;

/// How to choose the steps.
#[derive(Clone, Debug)]
pub enum Steps {
    /// `n_steps` equal steps of `h = (t1 − t0) / n_steps`.
    Fixed {
        /// Number of steps.
        n_steps: usize,
    },
    /// Error-controlled steps on the dyadic grid of the Brownian tree (methods with an
    /// embedded error estimate: [`Sra1`](super::Sra1)); see [`controller`](super::controller).
    Adaptive(AdaptiveOptions),
}

/// Options of [`solve`].
#[derive(Clone, Debug)]
pub struct SolveOptions {
    /// Step selection.
    pub steps: Steps,
    /// Saved states ([`SaveAt::Final`]: the state at `t1`; [`SaveAt::Every`]`(k)`: `t0`,
    /// every `k`-th accepted step and `t1`; [`SaveAt::Times`]: these times, strictly
    /// increasing in `[t0, t1]`, on the step grid for fixed steps, where adaptive steps
    /// stop).
    pub save: SaveAt,
    /// Check every step's state for NaN/∞ and stop with an error naming time and component
    /// (default `true`).
    pub check_finite: bool,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            steps: Steps::Fixed { n_steps: 100 },
            save: SaveAt::Final,
            check_finite: true,
        }
    }
}

/// What happened in a solve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SolveInfo {
    /// Accepted steps.
    pub n_steps: usize,
    /// Rejected steps (adaptive only).
    pub n_rejected: usize,
}

/// The saved states of one path.
#[derive(Clone, Debug, PartialEq)]
pub struct SdeSolution {
    /// Save times.
    pub t: Vec<f64>,
    /// States, `x[k * n_states + i]` = component `i` at `t[k]`.
    pub x: Vec<f64>,
    /// Number of states.
    pub n_states: usize,
    /// Step statistics.
    pub info: SolveInfo,
}

impl SdeSolution {
    /// The state at save time `k`.
    pub fn state(&self, k: usize) -> &[f64] {
        &self.x[k * self.n_states..(k + 1) * self.n_states]
    }
    /// The last saved state.
    pub fn final_state(&self) -> &[f64] {
        self.state(self.t.len() - 1)
    }
}

/// A uniform step grid `t_k = t0 + k h`, `t_n = t1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FixedGrid {
    pub t0: f64,
    pub t1: f64,
    pub n: usize,
}

impl FixedGrid {
    pub fn new(t0: f64, t1: f64, n: usize) -> Result<Self> {
        if !(t0.is_finite() && t1.is_finite() && t1 > t0) {
            return Err(Error::InvalidArgument {
                op: "sde::solve",
                message: format!("need finite t0 < t1, got t0 = {t0}, t1 = {t1}"),
            });
        }
        if n == 0 {
            return Err(Error::InvalidArgument {
                op: "sde::solve",
                message: "Steps::Fixed needs n_steps >= 1".into(),
            });
        }
        Ok(Self { t0, t1, n })
    }
    #[inline]
    pub fn h(&self) -> f64 {
        (self.t1 - self.t0) / self.n as f64
    }
    #[inline]
    pub fn t(&self, k: usize) -> f64 {
        if k == self.n {
            self.t1
        } else {
            self.t0 + k as f64 * self.h()
        }
    }
    /// Step indices at which to save (sorted, unique), for `save`.
    pub fn save_indices(&self, save: &SaveAt) -> Result<Vec<usize>> {
        save.validate(OP, self.t0, self.t1)?;
        match save {
            SaveAt::Final => Ok(vec![self.n]),
            SaveAt::Every(k) => {
                let mut v: Vec<usize> = (0..=self.n).step_by(*k).collect();
                if v.last() != Some(&self.n) {
                    v.push(self.n);
                }
                Ok(v)
            }
            SaveAt::Times(ts) => {
                let h = self.h();
                let mut v = Vec::with_capacity(ts.len());
                for (i, &ts) in ts.iter().enumerate() {
                    let k = ((ts - self.t0) / h).round();
                    let ok = ts.is_finite()
                        && k >= 0.0
                        && k <= self.n as f64
                        && (self.t(k as usize) - ts).abs()
                            <= 1e-9 * h + 4.0 * f64::EPSILON * ts.abs();
                    if !ok {
                        return Err(Error::invalid_option(
                            OP,
                            format!("save_at[{i}]"),
                            ts,
                            format!(
                                "a step time t0 + k h of the fixed grid (t0 = {}, h = {h})",
                                self.t0
                            ),
                        ));
                    }
                    if v.last().is_some_and(|&l| l >= k as usize) {
                        return Err(strictly_increasing(i, ts));
                    }
                    v.push(k as usize);
                }
                Ok(v)
            }
        }
    }
}

/// The name of solve errors.
const OP: &str = "sde::solve";

/// The error for save time `i` (`t`) not after its predecessor.
fn strictly_increasing(i: usize, t: f64) -> Error {
    Error::invalid_option(
        OP,
        format!("save_at[{i}]"),
        t,
        "save times strictly increasing",
    )
}

/// Checks the Brownian path against the problem and the interval.
pub(crate) fn check_brownian<S: Sde, M: SdeMethod, B: BrownianPath + ?Sized>(
    sde: &S,
    method: &M,
    bm: &B,
    t0: f64,
    t1: f64,
) -> Result<()> {
    crate::error::check_len("sde::solve", "brownian.dim()", bm.dim(), sde.n_noise())?;
    let (a, b) = bm.domain();
    if t0 < a || t1 > b {
        return Err(Error::InvalidArgument {
            op: "sde::solve",
            message: format!(
                "the Brownian path is defined on [{a}, {b}], which does not cover [{t0}, {t1}]"
            ),
        });
    }
    if method.needs_levy_area() && !bm.has_levy_area() {
        return Err(Error::InvalidArgument {
            op: method.name(),
            message: "this method needs the space-time Lévy area: build the Brownian tree \
                      with `levy_area: true`"
                .into(),
        });
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

/// The first non-finite entry of a proposed state (`"value"`) or, failing that, of its
/// error estimate (`"error estimate"`): `(component, value, which)`.
fn first_non_finite_proposal(x: &[f64], err: &[f64]) -> Option<(usize, f64, &'static str)> {
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Some((i, x[i], "value"));
    }
    err.iter()
        .position(|v| !v.is_finite())
        .map(|i| (i, err[i], "error estimate"))
}

/// Buffers for the Brownian input of a step.
pub(crate) struct IncrementBuf {
    pub dw: Vec<f64>,
    pub area: Vec<f64>,
    pub with_area: bool,
}

impl IncrementBuf {
    pub fn new(m: usize, with_area: bool) -> Self {
        Self {
            dw: vec![0.0; m],
            area: vec![0.0; m],
            with_area,
        }
    }
    pub fn fill<B: BrownianPath + ?Sized>(&mut self, bm: &mut B, s: f64, t: f64) -> Result<()> {
        if self.with_area {
            bm.increment_with_area(s, t, &mut self.dw, &mut self.area)
        } else {
            bm.increment(s, t, &mut self.dw)
        }
    }
    pub fn get(&self) -> Increment<'_> {
        Increment {
            dw: &self.dw,
            area: self.with_area.then_some(&self.area[..]),
        }
    }
}

/// Runs the fixed-step loop over any scalar type, calling `on_state(k, t_k, state)` after
/// the initial state (`k = 0`) and after every step.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_fixed<S, M, B, R>(
    sde: &S,
    method: &M,
    grid: FixedGrid,
    x0: &[R],
    p: &[R],
    bm: &mut B,
    check_finite: bool,
    mut on_state: impl FnMut(usize, f64, &[R]) -> Result<()>,
) -> Result<()>
where
    S: Sde,
    M: SdeMethod,
    B: BrownianPath + ?Sized,
    R: Real,
{
    let d = sde.n_states();
    let gl = sde.noise().diffusion_len(d, sde.n_noise());
    let sl = method.state_len(d, gl);
    let mut ws = Workspace::<R>::new(sde);
    let mut y = vec![R::zero(); sl];
    let mut next = vec![R::zero(); sl];
    method.init(sde, grid.t0, x0, p, &mut y);
    on_state(0, grid.t0, &y)?;
    let mut inc = IncrementBuf::new(sde.n_noise(), method.needs_levy_area());
    for k in 0..grid.n {
        let (t, t_next) = (grid.t(k), grid.t(k + 1));
        inc.fill(bm, t, t_next)?;
        method.step(sde, t, t_next - t, &inc.get(), p, &y, &mut next, &mut ws);
        std::mem::swap(&mut y, &mut next);
        if check_finite && let Some(e) = non_finite_error(method.name(), &y[..d], t_next, k + 1) {
            return Err(e);
        }
        on_state(k + 1, t_next, &y)?;
    }
    Ok(())
}

/// Solves `sde` from `x0` at `t0` to `t1` with `method` on the Brownian path `bm`.
///
/// Errors: dimensions (`x0`, `p`, the path's dimension), a path that does not cover
/// `[t0, t1]` or lacks the Lévy area the method needs, a method that does not apply to the
/// SDE's calculus or noise, save times off the step grid, and non-finite states (naming the
/// time and component).
#[allow(clippy::too_many_arguments)]
pub fn solve<S, M, B>(
    sde: &S,
    method: &M,
    t0: f64,
    t1: f64,
    x0: &[f64],
    p: &[f64],
    bm: &mut B,
    opts: &SolveOptions,
) -> Result<SdeSolution>
where
    S: Sde,
    M: SdeMethod,
    B: BrownianPath + ?Sized,
{
    check_problem(sde, x0, p)?;
    method.check(sde)?;
    check_brownian(sde, method, bm, t0, t1)?;
    let d = sde.n_states();
    match &opts.steps {
        Steps::Fixed { n_steps } => {
            let grid = FixedGrid::new(t0, t1, *n_steps)?;
            let save = grid.save_indices(&opts.save)?;
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
            run_fixed(
                sde,
                method,
                grid,
                x0,
                p,
                bm,
                opts.check_finite,
                |k, t, y| {
                    if save.get(next_save) == Some(&k) {
                        sol.t.push(t);
                        sol.x.extend_from_slice(&y[..d]);
                        next_save += 1;
                    }
                    Ok(())
                },
            )?;
            Ok(sol)
        }
        Steps::Adaptive(aopts) => {
            let stops = adaptive_stops(t0, t1, &opts.save)?;
            let mut sol = SdeSolution {
                t: Vec::new(),
                x: Vec::new(),
                n_states: d,
                info: SolveInfo::default(),
            };
            let every = match opts.save {
                SaveAt::Every(k) => k,
                _ => 0,
            };
            let times = matches!(opts.save, SaveAt::Times(_));
            if every > 0 || (times && stops.first() == Some(&t0)) {
                sol.t.push(t0);
                sol.x.extend_from_slice(x0);
            }
            sol.info = run_adaptive(
                sde,
                method,
                t0,
                t1,
                x0,
                p,
                bm,
                aopts,
                &stops,
                opts.check_finite,
                |k, t, y, at_stop| {
                    let keep = match &opts.save {
                        SaveAt::Final => t == t1,
                        SaveAt::Every(e) => k % e == 0 || t == t1,
                        SaveAt::Times(ts) => at_stop && ts.contains(&t),
                    };
                    if keep {
                        sol.t.push(t);
                        sol.x.extend_from_slice(&y[..d]);
                    }
                    Ok(())
                },
            )?;
            Ok(sol)
        }
    }
}

/// The times an adaptive solve must land on: the save times (for `SaveAt::Times`) and `t1`.
pub(crate) fn adaptive_stops(t0: f64, t1: f64, save: &SaveAt) -> Result<Vec<f64>> {
    save.validate(OP, t0, t1)?;
    let mut stops: Vec<f64> = Vec::new();
    if let SaveAt::Times(ts) = save {
        for (k, &ts) in ts.iter().enumerate() {
            if k > 0 && ts <= stops[k - 1] {
                return Err(strictly_increasing(k, ts));
            }
            stops.push(ts);
        }
    }
    if stops.last() != Some(&t1) {
        stops.push(t1);
    }
    Ok(stops)
}

/// The adaptive loop (f64): steps on the dyadic grid of `bm`, landing exactly on every
/// time in `stops` (sorted, last = `t1`). Calls `on_accept(k, t, state, at_stop)` after
/// accepted step `k` (from 1).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_adaptive<S, M, B>(
    sde: &S,
    method: &M,
    t0: f64,
    t1: f64,
    x0: &[f64],
    p: &[f64],
    bm: &mut B,
    aopts: &AdaptiveOptions,
    stops: &[f64],
    check_finite: bool,
    mut on_accept: impl FnMut(usize, f64, &[f64], bool) -> Result<()>,
) -> Result<SolveInfo>
where
    S: Sde,
    M: SdeMethod,
    B: BrownianPath + ?Sized,
{
    let d = sde.n_states();
    aopts.validate(OP, d)?;
    if !(t0.is_finite() && t1.is_finite() && t1 > t0) {
        return Err(Error::InvalidArgument {
            op: "sde::solve",
            message: format!("need finite t0 < t1, got t0 = {t0}, t1 = {t1}"),
        });
    }
    let Some(order) = method.error_order() else {
        return Err(Error::Unsupported {
            op: method.name(),
            reason: "adaptive steps need a method with an embedded error estimate (Sra1)".into(),
        });
    };
    let Some(grid) = bm.dyadic_grid() else {
        return Err(Error::Unsupported {
            op: "sde::solve",
            reason: "adaptive steps need a Brownian path with a dyadic grid \
                     (VirtualBrownianTree), so that rejected steps re-use the same path"
                .into(),
        });
    };
    let gl = sde.noise().diffusion_len(d, sde.n_noise());
    let sl = method.state_len(d, gl);
    let mut ws = Workspace::<f64>::new(sde);
    let mut y = vec![0.0; sl];
    let mut next = vec![0.0; sl];
    let mut err = vec![0.0; d];
    method.init(sde, t0, x0, p, &mut y);
    let mut ctrl = aopts.controller.fresh();
    let (levels, mut level) = DyadicLevels::new(grid.span, grid.depth, aopts, t0, t1);
    let tol = &aopts.tol;
    let mut inc = IncrementBuf::new(sde.n_noise(), method.needs_levy_area());
    let mut info = SolveInfo::default();
    let mut t = t0;
    let mut stop = 0;
    while t < t1 {
        if info.n_steps + info.n_rejected >= aopts.max_steps {
            return Err(Error::TooManySteps {
                op: "sde::solve (adaptive)",
                t,
                h: grid.step(level).min(t1 - t),
                max_steps: aopts.max_steps,
                path: None,
            });
        }
        while stops[stop] <= t {
            stop += 1;
        }
        let t_stop = stops[stop];
        let grid_next = grid.next_point(t, level);
        let t_next = if grid_next >= t_stop {
            t_stop
        } else {
            grid_next
        };
        let h = t_next - t;
        inc.fill(bm, t, t_next)?;
        method.step_with_error(sde, t, h, &inc.get(), p, &y, &mut next, &mut err, &mut ws)?;
        // A non-finite proposal is rejected like a failed error test (a smaller step may
        // avoid an overflow); if refining cannot cure it, the error names the component.
        // The controller sees the grid step of its level (`h` may be shorter, to land on a
        // save time).
        let h_level = levels.step(level);
        if let Some((i, value, what)) = first_non_finite_proposal(&next[..d], &err) {
            info.n_rejected += 1;
            let decision = ctrl.adapt(h_level, f64::INFINITY, order);
            if let Ok(l) = levels.after_reject(level, decision.h_next) {
                level = l;
            } else {
                return Err(Error::NonFinite {
                    op: method.name(),
                    index: i,
                    value,
                    context: format!(
                        "the {what} of state component {i} was non-finite in the step from \
                         t = {t} with h = {h:e}, and stayed so in the retries on finer cells \
                         down to the Brownian tree's finest level; check the drift/diffusion \
                         there"
                    ),
                });
            }
            continue;
        }
        let e = tol.error_norm(&err, &y[..d], &next[..d]);
        let decision = ctrl.adapt(h_level, e, order);
        if decision.accept {
            std::mem::swap(&mut y, &mut next);
            t = t_next;
            info.n_steps += 1;
            if check_finite
                && let Some(e) = non_finite_error(method.name(), &y[..d], t, info.n_steps)
            {
                return Err(e);
            }
            on_accept(info.n_steps, t, &y, t == t_stop)?;
            level = levels.after_accept(decision.h_next);
        } else {
            info.n_rejected += 1;
            level = levels.after_reject(level, decision.h_next).map_err(|h| {
                Error::StepSizeUnderflow {
                    op: "sde::solve (adaptive)",
                    t,
                    h,
                    component: Some(tol.worst_component(&err, &y[..d], &next[..d])),
                    path: None,
                }
            })?;
        }
    }
    Ok(info)
}

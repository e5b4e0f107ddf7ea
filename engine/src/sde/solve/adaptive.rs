//! The adaptive loop: steps on the dyadic grid of a Brownian tree, sizes from a
//! [`StepController`](crate::solver::StepController) (see
//! [`controller`](crate::sde::controller)).

use super::OP;
use super::grid::strictly_increasing;
use super::options::SolveInfo;
use super::path::{IncrementBuf, PathInputs, non_finite_error};
use crate::error::{Error, Result};
use crate::sde::brownian::BrownianPath;
use crate::sde::controller::{AdaptiveOptions, DyadicLevels};
use crate::sde::methods::{SdeMethod, Workspace};
use crate::sde::problem::Sde;
use crate::solver::SaveAt;

/// What an adaptive solve runs over: its options, interval, the times it must stop at
/// (sorted, the last `t1`) and whether it checks every state for finiteness.
pub(crate) struct AdaptiveRun<'a> {
    pub opts: &'a AdaptiveOptions,
    pub t0: f64,
    pub t1: f64,
    pub stops: &'a [f64],
    pub check_finite: bool,
}

/// Whether an adaptive solve saving at `save` keeps the initial state.
pub(crate) fn saves_t0(save: &SaveAt, t0: f64) -> bool {
    match save {
        SaveAt::Every(_) => true,
        SaveAt::Times(ts) => ts.first() == Some(&t0),
        SaveAt::Final => false,
    }
}

/// Whether an adaptive solve saving at `save` keeps the state after accepted step `k` (at
/// `t`; `at_stop`: the step landed on a stop).
pub(crate) fn keep_adaptive(save: &SaveAt, k: usize, t: f64, t1: f64, at_stop: bool) -> bool {
    match save {
        SaveAt::Final => t == t1,
        SaveAt::Every(e) => k.is_multiple_of(*e) || t == t1,
        SaveAt::Times(ts) => at_stop && ts.contains(&t),
    }
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
/// time in `run.stops`. Calls `on_accept(k, t, state, at_stop)` after accepted step `k`
/// (from 1).
pub(crate) fn run_adaptive<S, M, B>(
    path: PathInputs<'_, S, M, f64>,
    run: &AdaptiveRun<'_>,
    bm: &mut B,
    mut on_accept: impl FnMut(usize, f64, &[f64], bool) -> Result<()>,
) -> Result<SolveInfo>
where
    S: Sde,
    M: SdeMethod,
    B: BrownianPath + ?Sized,
{
    let PathInputs { sde, method, x0, p } = path;
    let AdaptiveRun {
        opts: aopts,
        t0,
        t1,
        stops,
        check_finite,
    } = *run;
    let d = sde.n_states();
    aopts.validate(OP, d)?;
    crate::sde::problem::check_interval(OP, t0, t1)?;
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
        method.step_with_error(sde, &inc.get(), p, &y, &mut next, &mut err, &mut ws)?;
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

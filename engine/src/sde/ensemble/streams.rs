//! Blocks driven by per-path normal streams (fixed steps).

use super::block::BlockOut;
use super::{BlockJob, CHUNK, path_seed};
use crate::error::{Error, Result, all_finite};
use crate::sde::methods::{BatchWorkspace, SdeMethod};
use crate::sde::normal::NormalLanes;
use crate::sde::problem::Sde;
use crate::sde::solve::{FixedGrid, PathInputs};

impl<S: Sde, M: SdeMethod> BlockJob<'_, S, M> {
    /// Paths `first..first + n`, each driven by its own normal stream, on the fixed grid
    /// `grid`, saved after the steps `save`.
    pub(super) fn streams(
        &self,
        grid: FixedGrid,
        save: &[usize],
        first: usize,
        n: usize,
    ) -> Result<BlockOut> {
        block_streams(self, grid, save, first, n)
    }
}

/// A block driven by per-path normal streams.
fn block_streams<S: Sde, M: SdeMethod>(
    job: &BlockJob<'_, S, M>,
    grid: FixedGrid,
    save: &[usize],
    first: usize,
    n: usize,
) -> Result<BlockOut> {
    let BlockJob {
        path: PathInputs { sde, method, x0, p },
        opts,
        keep,
        zig,
        ..
    } = *job;
    let (d, m) = (sde.n_states(), sde.n_noise());
    let gl = sde.noise().diffusion_len(d, m);
    let sl = method.state_len(d, gl);
    // Pad the block to a multiple of 4 lanes is unnecessary: `lanes` = n.
    let lanes = n;
    let n_save = save.len();
    let mut out = BlockOut::new(n, n_save, d, keep, opts.covariance);
    let mut streams =
        NormalLanes::from_seeds((first..first + n).map(|k| path_seed(opts.seed, k as u64)));
    let mut bw = BatchWorkspace::new(sde, method, lanes);
    // Initial states (identical for all lanes), scattered to SoA.
    let mut y0 = vec![0.0; sl];
    method.init(sde, grid.t0, x0, p, &mut y0);
    let mut y = vec![0.0; sl * lanes];
    for (e, &v) in y0.iter().enumerate() {
        y[e * lanes..(e + 1) * lanes].fill(v);
    }
    let area = method.needs_levy_area();
    let per_step = if area { 2 * m } else { m };
    let h = grid.h();
    let mut scale = vec![h.sqrt(); m];
    if area {
        scale.extend(std::iter::repeat_n((h / 12.0).sqrt(), m));
    }
    let mut buf = vec![0.0; CHUNK * per_step * lanes];
    let mut next_save = 0;
    if save.first() == Some(&0) {
        out.record(0, &y, d, lanes, n_save);
        next_save = 1;
    }
    // Steps run CHUNK at a time on one fill of the normal buffer. The finiteness check runs
    // once per chunk: the methods update the state additively (y ← y + Δ), so a
    // non-finite component stays non-finite to the chunk's end; the chunk is then replayed
    // from its start, with the same normals, checking every step to name the first one.
    let sd = d * lanes;
    let mut y_start = vec![0.0; if opts.check_finite { sl * lanes } else { 0 }];
    let mut k0 = 0;
    while k0 < grid.n {
        let steps = CHUNK.min(grid.n - k0);
        streams.fill(zig, steps * per_step, &scale, &mut buf);
        if opts.check_finite {
            y_start.copy_from_slice(&y);
        }
        let save_start = next_save;
        let mut chunk = |y: &mut [f64], next_save: &mut usize, check_each: bool| -> Result<()> {
            for c in 0..steps {
                let k = k0 + c;
                let base = c * per_step * lanes;
                let dw = &buf[base..base + m * lanes];
                let ar = area.then(|| &buf[base + m * lanes..base + 2 * m * lanes]);
                let (t, t_next) = (grid.t(k), grid.t(k + 1));
                method.step_batch(sde, t, t_next - t, dw, ar, p, y, &mut bw);
                if check_each && !all_finite(&y[..sd]) {
                    return Err(lane_error(method.name(), y, d, lanes, first, t_next, k + 1));
                }
                if save.get(*next_save) == Some(&(k + 1)) {
                    out.record(*next_save, y, d, lanes, n_save);
                    *next_save += 1;
                }
            }
            Ok(())
        };
        chunk(&mut y, &mut next_save, false)?;
        if opts.check_finite && !all_finite(&y[..sd]) {
            y.copy_from_slice(&y_start);
            next_save = save_start;
            chunk(&mut y, &mut next_save, true)?;
            // Not reached for additive updates; if a method breaks the invariant, the
            // chunk's end is the first place known to be bad.
            let t = grid.t(k0 + steps);
            return Err(lane_error(
                method.name(),
                &y,
                d,
                lanes,
                first,
                t,
                k0 + steps,
            ));
        }
        k0 += steps;
    }
    out.n_steps = n * grid.n;
    Ok(out)
}

fn lane_error(
    op: &'static str,
    y: &[f64],
    d: usize,
    lanes: usize,
    first: usize,
    t: f64,
    step: usize,
) -> Error {
    let e = (0..d * lanes)
        .find(|&e| !y[e].is_finite())
        .expect("invariant: called only when some entry is non-finite");
    let (i, l) = (e / lanes, e % lanes);
    Error::NonFinite {
        op,
        index: i,
        value: y[e],
        context: format!(
            "path {}: state component {i} became non-finite at t = {t} (step {step}); \
             reduce the step size or check the drift/diffusion there",
            first + l
        ),
    }
}

//! Blocks whose paths are each driven by their own virtual Brownian tree.

use super::block::BlockOut;
use super::{BlockJob, Plan, path_seed, with_path};
use crate::error::Result;
use crate::sde::brownian::{BrownianTreeOptions, VirtualBrownianTree};
use crate::sde::methods::SdeMethod;
use crate::sde::problem::Sde;
use crate::sde::solve::{AdaptiveRun, PathInputs, run_adaptive, run_fixed};

impl<S: Sde, M: SdeMethod> BlockJob<'_, S, M> {
    /// Paths `first..first + n`, each driven by its own Brownian tree.
    pub(super) fn tree(&self, first: usize, n: usize) -> Result<BlockOut> {
        block_tree(self, first, n)
    }
}

/// A block whose paths are each driven by their own Brownian tree.
fn block_tree<S: Sde, M: SdeMethod>(
    job: &BlockJob<'_, S, M>,
    first: usize,
    n: usize,
) -> Result<BlockOut> {
    let BlockJob {
        path: inputs,
        opts,
        plan,
        keep,
        ..
    } = *job;
    let PathInputs {
        sde, method, x0, ..
    } = inputs;
    let d = sde.n_states();
    let m = sde.n_noise();
    let times = plan.times();
    let n_save = times.len();
    let mut out = BlockOut::new(n, n_save, d, keep, opts.covariance);
    // Saved states in SoA per save time: [k][i * n + l].
    let mut soa = vec![0.0; n_save * d * n];
    let area = method.needs_levy_area();
    for l in 0..n {
        let path = first + l;
        let seed = path_seed(opts.seed, path as u64);
        let mut next_save = 0;
        let mut save = |y: &[f64], next_save: &mut usize| {
            for i in 0..d {
                soa[(*next_save * d + i) * n + l] = y[i];
            }
            *next_save += 1;
        };
        match plan {
            Plan::Fixed { grid, save: idx } => {
                let mut w = VirtualBrownianTree::builder(grid.t0, grid.t1)
                    .dim(m)
                    .seed(seed)
                    .levy_area(area)
                    .fixed_steps(grid.n)
                    .build()?;
                run_fixed(inputs, *grid, &mut w, opts.check_finite, |k, _, y| {
                    if idx.get(next_save) == Some(&k) {
                        save(y, &mut next_save);
                    }
                    Ok(())
                })
                .map_err(|e| with_path(e, path))?;
                out.n_steps += grid.n;
            }
            Plan::Adaptive {
                aopts,
                t0,
                t1,
                stops,
                times,
            } => {
                let tree_opts = BrownianTreeOptions {
                    depth: opts.tree_depth,
                    levy_area: area,
                };
                let mut w = VirtualBrownianTree::new(*t0, *t1, m, seed, tree_opts)?;
                if times.first() == Some(t0) {
                    save(x0, &mut next_save);
                }
                let run = AdaptiveRun {
                    opts: aopts,
                    t0: *t0,
                    t1: *t1,
                    stops,
                    check_finite: opts.check_finite,
                };
                let info = run_adaptive(inputs, &run, &mut w, |_, t, y, at_stop| {
                    if at_stop && times.get(next_save) == Some(&t) {
                        save(y, &mut next_save);
                    }
                    Ok(())
                })
                .map_err(|e| with_path(e, path))?;
                out.n_steps += info.n_steps;
                out.n_rejected += info.n_rejected;
            }
        }
    }
    for k in 0..n_save {
        out.record(k, &soa[k * d * n..(k + 1) * d * n], d, n, n_save);
    }
    Ok(out)
}

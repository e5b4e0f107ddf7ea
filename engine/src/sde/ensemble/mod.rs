//! Ensembles: many independent paths, in parallel, summarised by statistics over time.
//!
//! Paths are simulated in blocks of [`LANES`] paths. Within a block, states are laid out
//! as structure of arrays (component `i` of lane `l` at `i·LANES + l`), so the step of
//! every method that overrides [`SdeMethod::step_batch`] (Euler–Maruyama, Heun) is a loop
//! over lanes that vectorises when the SDE overrides
//! [`Sde::drift_batch`]. Blocks run on the caller's rayon pool
//! when `par` is `Par::Rayon`.
//!
//! # Noise
//! * [`NoiseSource::Streams`] (the fast path, fixed steps only): path `k` draws its
//!   increments `√h Z` directly from its own xoshiro256++ stream (see [`normal`](super::normal)),
//!   seeded by [`path_seed`]`(seed, k)`. The cost floor is the rate of normal draws.
//! * [`NoiseSource::Tree`]: path `k` is driven by the [`VirtualBrownianTree`](super::VirtualBrownianTree) with seed
//!   [`path_seed`]`(seed, k)` (exactly the path that [`solve`](super::solve()) sees with
//!   that tree), so any single path can be replayed or differentiated later. Needed for
//!   adaptive steps.
//!
//! # Statistics and reproducibility
//! At each save time the mean and unbiased variance of every component are accumulated
//! per block (two passes over the block's lanes) and merged block by block in path order
//! with the pairwise update of Chan, Golub & LeVeque (1983, "Algorithms for computing the
//! sample variance", Am. Stat. 37(3)). Paths are never stored unless asked
//! (`keep_paths`). Quantiles are by default streaming P² estimates
//! ([`P2Quantile`], Jain & Chlamtac 1985) fed in path order, which track
//! the type-7 sample quantile well within its standard error; with
//! [`QuantileMethod::Exact`] they are the exact type-7 sample
//! quantiles (numpy's default), at the cost of storing the cross-sections at the save times,
//! `n_paths × n_save × d` values. Blocks run in chunks of a few per thread, so the memory in
//! flight is bounded by the chunk, not the ensemble. Since path `k` depends only on
//! `(seed, k)` and the merge order is fixed, results are bitwise identical for any number of
//! threads.
//!
//! ```
//! use mechml_engine::sde::{ensemble, reference::OrnsteinUhlenbeck, EnsembleOptions,
//!     EulerMaruyama, SdeProblem, Steps};
//! use mechml_engine::solver::SaveAt;
//! let p = vec![1.0, 0.0, 0.5];
//! let problem = SdeProblem::new(OrnsteinUhlenbeck, 0.0, 2.0, vec![1.0], p.clone())?;
//! let opts = EnsembleOptions {
//!     n_paths: 2000,
//!     steps: Steps::Fixed { n_steps: 200 },
//!     save_at: SaveAt::Every(100),
//!     quantiles: vec![0.5],
//!     ..Default::default()
//! };
//! let ens = ensemble(&problem, &EulerMaruyama, &opts)?;
//! let (mean, _var) = OrnsteinUhlenbeck::moments(1.0, &p, 2.0);
//! // Four standard errors, plus 0.01 for Euler–Maruyama's O(h) bias of the mean
//! // ((1 − h)^200 against e^{−2}: 0.0013 here).
//! assert!((ens.mean(2)[0] - mean).abs() < 4.0 * ens.std_error(2)[0] + 0.01);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod block;
mod streams;
mod tree;

use block::{BlockOut, Merge};

use rayon::prelude::*;

use super::controller::AdaptiveOptions;
use super::methods::SdeMethod;
use super::normal::Ziggurat;
use super::problem::{Sde, SdeProblem};
use super::quantile::{P2Quantile, QuantileMethod, cross_section_quantiles};
use super::seed::{derive_seed, tag};
use super::solve::{FixedGrid, PathInputs, Steps, adaptive_stops};
use crate::error::{Error, Result};
use crate::linalg::Par;
use crate::solver::SaveAt;

/// Paths per block.
pub const LANES: usize = 64;

/// Steps of normals drawn at once per block.
pub(super) const CHUNK: usize = 256;

/// Where the Brownian increments of ensemble paths come from (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoiseSource {
    /// One normal stream per path; fixed steps only.
    #[default]
    Streams,
    /// One virtual Brownian tree per path (replayable; adaptive steps).
    Tree,
}

/// Options of [`ensemble`].
#[derive(Clone, Debug)]
pub struct EnsembleOptions {
    /// Number of paths.
    pub n_paths: usize,
    /// Seed of the whole ensemble; path `k` uses [`path_seed`]`(seed, k)`.
    pub seed: u64,
    /// Step selection.
    pub steps: Steps,
    /// Save times (the statistics are computed at these).
    pub save_at: SaveAt,
    /// Quantile levels in `[0, 1]` to report at each save time (empty: none).
    pub quantiles: Vec<f64>,
    /// How quantiles are computed: streaming P² estimates (default; no path is stored) or
    /// exact sample quantiles (stores every path's saved states).
    pub quantile_method: QuantileMethod,
    /// Keep every path's saved states ([`Ensemble::path`], [`Ensemble::component`],
    /// [`Ensemble::cross_section`]).
    pub keep_paths: bool,
    /// Accumulate the covariance matrix of the components at each save time
    /// ([`Ensemble::covariance`]; `d²` numbers per save time, no path stored).
    pub covariance: bool,
    /// Source of the Brownian increments.
    pub noise: NoiseSource,
    /// [`Par::Seq`], or [`Par::rayon`]`(0)` to run blocks on the current rayon pool (the
    /// engine's re-export of faer's parallelism setting, [`linalg::Par`](crate::linalg::Par)).
    pub par: Par,
    /// Stop with an error naming the path, time and component at the first non-finite
    /// state (default `true`).
    pub check_finite: bool,
    /// Depth of the per-path Brownian trees of adaptive ensembles (finest step
    /// `(t1 − t0) / 2^depth`).
    pub tree_depth: u32,
}

impl Default for EnsembleOptions {
    fn default() -> Self {
        Self {
            n_paths: 1000,
            seed: 0,
            steps: Steps::Fixed { n_steps: 100 },
            save_at: SaveAt::Final,
            quantiles: Vec::new(),
            quantile_method: QuantileMethod::Streaming,
            keep_paths: false,
            covariance: false,
            noise: NoiseSource::Streams,
            par: Par::Seq,
            check_finite: true,
            tree_depth: 20,
        }
    }
}

impl EnsembleOptions {
    /// Checks the options that do not depend on the problem: at least one path, quantile
    /// levels in `[0, 1]`.
    pub fn validate(&self) -> Result<()> {
        if self.n_paths == 0 {
            return Err(Error::invalid_option(OP, "n_paths", 0, "≥ 1"));
        }
        if let Some((i, q)) = self
            .quantiles
            .iter()
            .enumerate()
            .find(|(_, q)| !(0.0..=1.0).contains(*q))
        {
            return Err(Error::invalid_option(
                OP,
                format!("quantiles[{i}]"),
                q,
                "a quantile level in [0, 1]",
            ));
        }
        Ok(())
    }
}

/// The name of ensemble errors.
const OP: &str = "sde::ensemble";

/// The error for adaptive steps driven by normal streams.
pub(crate) fn adaptive_needs_tree(op: &'static str) -> Error {
    Error::invalid_option(
        op,
        "noise",
        "NoiseSource::Streams",
        "NoiseSource::Tree with adaptive steps (rejected steps must re-use the same Brownian \
         path)",
    )
}

/// The seed of path `k` of an ensemble with seed `seed` (the tree seed for
/// [`NoiseSource::Tree`], the stream seed for [`NoiseSource::Streams`]).
pub fn path_seed(seed: u64, k: u64) -> u64 {
    derive_seed(derive_seed(seed, tag::PATH), k)
}

/// Summary of an ensemble.
#[derive(Clone, Debug, PartialEq)]
pub struct Ensemble {
    /// Save times.
    pub t: Vec<f64>,
    /// Number of states `d`.
    pub n_states: usize,
    /// Number of paths.
    pub n_paths: usize,
    /// Sample means, `[k * d + i]` at save time `k`.
    pub mean: Vec<f64>,
    /// Unbiased sample variances (divisor `n − 1`), same layout.
    pub variance: Vec<f64>,
    /// Unbiased sample covariances of the components, `[(k * d + i) * d + j]`, if asked
    /// ([`EnsembleOptions::covariance`]); the diagonal equals `variance`.
    pub covariances: Option<Vec<f64>>,
    /// The quantile levels.
    pub quantile_levels: Vec<f64>,
    /// Quantiles, `[(k * n_levels + q) * d + i]` (P² estimates or exact, as asked by
    /// [`EnsembleOptions::quantile_method`]).
    pub quantiles: Vec<f64>,
    /// Saved states of every path, `[(path * n_save + k) * d + i]`, if asked.
    pub paths: Option<Vec<f64>>,
    /// Total accepted steps over all paths.
    pub n_steps: usize,
    /// Total rejected steps over all paths (adaptive steps).
    pub n_rejected: usize,
}

impl Ensemble {
    /// Means at save time `k`.
    pub fn mean(&self, k: usize) -> &[f64] {
        &self.mean[k * self.n_states..(k + 1) * self.n_states]
    }
    /// Variances at save time `k`.
    pub fn variance(&self, k: usize) -> &[f64] {
        &self.variance[k * self.n_states..(k + 1) * self.n_states]
    }
    /// Standard errors of the means at save time `k`, `√(var / n)`.
    pub fn std_error(&self, k: usize) -> Vec<f64> {
        let n = self.n_paths as f64;
        self.variance(k).iter().map(|v| (v / n).sqrt()).collect()
    }
    /// The `q`-th quantile level's values at save time `k`.
    pub fn quantile(&self, k: usize, q: usize) -> &[f64] {
        let d = self.n_states;
        let nq = self.quantile_levels.len();
        &self.quantiles[(k * nq + q) * d..(k * nq + q + 1) * d]
    }
    /// Number of save times.
    pub fn n_save(&self) -> usize {
        self.t.len()
    }
    /// The saved states of path `path`: an `n_save × d` row-major block (row `k` = the
    /// state at save time `k`); `None` if paths were not kept or `path ≥ n_paths`.
    pub fn path(&self, path: usize) -> Option<&[f64]> {
        if path >= self.n_paths {
            return None;
        }
        let per = self.t.len() * self.n_states;
        self.paths
            .as_ref()
            .map(|p| &p[path * per..(path + 1) * per])
    }
    /// The saved state of path `path` at save time `k` (`d` values), if paths were kept.
    pub fn path_state(&self, path: usize, k: usize) -> Option<&[f64]> {
        let d = self.n_states;
        if k >= self.t.len() {
            return None;
        }
        self.path(path).map(|p| &p[k * d..(k + 1) * d])
    }
    /// Component `i` of path `path` at every save time (`n_save` values), if paths were
    /// kept.
    pub fn component(&self, path: usize, i: usize) -> Option<Vec<f64>> {
        let d = self.n_states;
        if i >= d {
            return None;
        }
        self.path(path)
            .map(|p| p.chunks_exact(d).map(|x| x[i]).collect())
    }
    /// Component `i` of every path at save time `k` (`n_paths` values, in path order), if
    /// paths were kept.
    pub fn cross_section(&self, k: usize, i: usize) -> Option<Vec<f64>> {
        let (d, ns) = (self.n_states, self.t.len());
        if k >= ns || i >= d {
            return None;
        }
        self.paths
            .as_ref()
            .map(|p| p.chunks_exact(ns * d).map(|path| path[k * d + i]).collect())
    }
    /// The `d × d` covariance matrix (row-major) of the components at save time `k`, if
    /// asked for ([`EnsembleOptions::covariance`]).
    pub fn covariance(&self, k: usize) -> Option<&[f64]> {
        let dd = self.n_states * self.n_states;
        if k >= self.t.len() {
            return None;
        }
        self.covariances.as_ref().map(|c| &c[k * dd..(k + 1) * dd])
    }
}

/// Simulates `opts.n_paths` paths of `problem` with `method` and summarises them.
///
/// Errors as for [`solve`](super::solve()), with the path index in non-finite errors;
/// also: zero paths, quantile levels outside `[0, 1]`, and
/// [`NoiseSource::Streams`] with a method whose steps need a tree.
pub fn ensemble<S: Sde, M: SdeMethod>(
    problem: &SdeProblem<S>,
    method: &M,
    opts: &EnsembleOptions,
) -> Result<Ensemble> {
    problem.validate()?;
    let SdeProblem {
        sde, t0, t1, x0, p, ..
    } = problem;
    let (t0, t1, x0, p) = (*t0, *t1, &x0[..], &p[..]);
    method.check(sde)?;
    opts.validate()?;
    let d = sde.n_states();
    let plan = match &opts.steps {
        Steps::Fixed { n_steps } => {
            let grid = FixedGrid::new(t0, t1, *n_steps)?;
            let save = grid.save_indices(&opts.save_at)?;
            Plan::Fixed { grid, save }
        }
        Steps::Adaptive(aopts) => {
            if opts.noise != NoiseSource::Tree {
                return Err(adaptive_needs_tree(OP));
            }
            if let SaveAt::Every(k) = opts.save_at {
                return Err(Error::invalid_option(
                    OP,
                    "save_at",
                    format!("Every({k})"),
                    "SaveAt::Times or SaveAt::Final with adaptive steps (paths take \
                     different steps)",
                ));
            }
            let stops = adaptive_stops(t0, t1, &opts.save_at)?;
            let times = match &opts.save_at {
                SaveAt::Times(ts) => ts.clone(),
                _ => vec![t1],
            };
            Plan::Adaptive {
                aopts: aopts.clone(),
                t0,
                t1,
                stops,
                times,
            }
        }
    };
    let times = plan.times();
    let n_save = times.len();
    let exact_quantiles =
        !opts.quantiles.is_empty() && opts.quantile_method == QuantileMethod::Exact;
    let keep_all = opts.keep_paths || exact_quantiles;
    // Blocks keep their own saved states when they are needed: for the paths, or to feed
    // the streaming quantile estimators (then only for the chunk of blocks in flight).
    let keep = keep_all || !opts.quantiles.is_empty();
    let zig = Ziggurat::new();
    let n_blocks = opts.n_paths.div_ceil(LANES);
    let job = BlockJob {
        path: PathInputs { sde, method, x0, p },
        opts,
        plan: &plan,
        keep,
        zig: &zig,
    };
    let run = |b: usize| -> Result<BlockOut> {
        let first = b * LANES;
        let n = LANES.min(opts.n_paths - first);
        match (opts.noise, &plan) {
            (NoiseSource::Streams, Plan::Fixed { grid, save }) => {
                job.streams(*grid, save, first, n)
            }
            _ => job.tree(first, n),
        }
    };
    let mut acc = Merge::new(n_save, d, opts, keep_all)?;
    // Blocks run in chunks (all at once would hold every block's saved states) and are
    // merged in block order, so the results do not depend on the chunk size or the number
    // of threads.
    let chunk = match opts.par {
        Par::Seq => 1,
        _ => 4 * rayon::current_num_threads().max(1),
    };
    for start in (0..n_blocks).step_by(chunk) {
        let end = (start + chunk).min(n_blocks);
        let blocks: Vec<Result<BlockOut>> = match opts.par {
            Par::Seq => (start..end).map(run).collect(),
            _ => (start..end).into_par_iter().map(run).collect(),
        };
        for b in blocks {
            acc.add(b?);
        }
    }
    let Merge {
        mean,
        m2,
        cross,
        count,
        mut paths,
        estimators,
        n_steps: n_total_steps,
        n_rejected,
        ..
    } = acc;
    let variance = m2
        .iter()
        .map(|v| {
            if count > 1.0 {
                v / (count - 1.0)
            } else {
                f64::NAN
            }
        })
        .collect();
    let covariances = cross.map(|c| {
        c.iter()
            .map(|v| {
                if count > 1.0 {
                    v / (count - 1.0)
                } else {
                    f64::NAN
                }
            })
            .collect()
    });
    let quantiles = match (&paths, opts.quantile_method) {
        _ if opts.quantiles.is_empty() => Vec::new(),
        (Some(all), QuantileMethod::Exact) => {
            cross_section_quantiles(all, opts.n_paths, n_save, d, &opts.quantiles)
        }
        _ => estimators.iter().map(P2Quantile::estimate).collect(),
    };
    if !opts.keep_paths {
        paths = None;
    }
    Ok(Ensemble {
        t: times,
        n_states: d,
        n_paths: opts.n_paths,
        mean,
        variance,
        covariances,
        quantile_levels: opts.quantiles.clone(),
        quantiles,
        paths,
        n_steps: n_total_steps,
        n_rejected,
    })
}

/// What every block of an ensemble shares: the path inputs, the options, the step plan,
/// whether blocks keep their saved states, and the normal generator.
pub(super) struct BlockJob<'a, S, M> {
    pub path: PathInputs<'a, S, M, f64>,
    pub opts: &'a EnsembleOptions,
    pub plan: &'a Plan,
    pub keep: bool,
    pub zig: &'a Ziggurat,
}

/// How the paths of an ensemble step.
pub(super) enum Plan {
    Fixed {
        grid: FixedGrid,
        save: Vec<usize>,
    },
    Adaptive {
        aopts: AdaptiveOptions,
        t0: f64,
        t1: f64,
        stops: Vec<f64>,
        times: Vec<f64>,
    },
}

impl Plan {
    pub(super) fn times(&self) -> Vec<f64> {
        match self {
            Plan::Fixed { grid, save } => save.iter().map(|&k| grid.t(k)).collect(),
            Plan::Adaptive { times, .. } => times.clone(),
        }
    }
}

/// Adds the path index to the errors of one path's solve, keeping their kind (time,
/// component and step size stay as the solve reported them).
pub(crate) fn with_path(e: Error, path: usize) -> Error {
    match e {
        e @ Error::NonFinite { .. } => e.with_context_prefix(&format!("path {path}: ")),
        Error::StepSizeUnderflow {
            op,
            t,
            h,
            component,
            path: _,
        } => Error::StepSizeUnderflow {
            op,
            t,
            h,
            component,
            path: Some(path),
        },
        Error::TooManySteps {
            op,
            t,
            h,
            max_steps,
            ..
        } => Error::TooManySteps {
            op,
            t,
            h,
            max_steps,
            path: Some(path),
        },
        e => e,
    }
}

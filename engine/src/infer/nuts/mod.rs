//! The No-U-Turn sampler (Hoffman & Gelman 2014, JMLR 15, 1593–1623) in its multinomial
//! form with the generalised no-U-turn criterion (Betancourt 2017, "A conceptual
//! introduction to Hamiltonian Monte Carlo", arXiv:1701.02434, §A.4), Stan's windowed
//! warm-up with diagonal or dense mass-matrix adaptation and dual-averaging step-size
//! adaptation, and several chains in parallel.
//!
//! Hamiltonian dynamics for `H(q, p) = −ln π(q) + ½ pᵀ M⁻¹ p` are integrated by the
//! leapfrog scheme `p ← p + ½ε ∇ln π(q)`, `q ← q + ε M⁻¹ p`, `p ← p + ½ε ∇ln π(q)`.
//!
//! **Reproducibility.** Chain `c` draws every random number (initial point, momenta,
//! direction and multinomial choices) from the xoshiro256++ stream of the seed after `c`
//! jumps of 2¹²⁸ steps, and chains share nothing, so the draws are bitwise the same for
//! any number of threads.
//!
//! **Bounds.** Every loop is bounded: tree depth (≤ 20), the step-size heuristic (200
//! trials), random initialisation (100 tries), iterations and stored values
//! ([`options`]). Errors carry the chain and iteration ([`Error::Sampling`](crate::Error)).
//!
//! ```
//! use mechml_engine::ad::Real;
//! use mechml_engine::infer::{NutsOptions, RealLogDensity, TapeDensity, sample};
//! use mechml_engine::Result;
//!
//! #[derive(Clone)]
//! struct Banana;
//! impl RealLogDensity for Banana {
//!     fn dim(&self) -> usize { 2 }
//!     fn log_density<R: Real>(&self, x: &[R]) -> Result<R> {
//!         Ok(-(x[0].square()) * 0.5 - (x[1] - x[0].square()).square() * 0.5)
//!     }
//! }
//! let opts = NutsOptions { n_chains: 2, n_warmup: 300, n_draws: 300, seed: 1, ..NutsOptions::default() };
//! let post = sample(&TapeDensity::new(Banana), &opts)?;
//! assert_eq!(post.chains.len(), 2);
//! assert!(post.summary.max_rhat().unwrap() < 1.1);
//! println!("{}", post.summary);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod adapt;
mod chain;
mod metric;
pub mod options;
mod tree;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

pub use options::{AdaptOptions, Init, MetricKind, NutsOptions};

use crate::error::Result;
use crate::infer::density::LogDensity;
use crate::infer::posterior::Posterior;

/// The per-chain random streams: the seed's stream after `c` jumps for chain `c`.
pub fn chain_streams(seed: u64, n_chains: usize) -> Vec<Xoshiro256PlusPlus> {
    let mut base = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n_chains)
        .map(|_| {
            let s = base.clone();
            base.jump();
            s
        })
        .collect()
}

/// Samples `density` by NUTS with `opts.n_chains` chains (each gets a clone of
/// `density`), in parallel on rayon's current pool when `opts.parallel`.
///
/// # Errors
/// Invalid options; a chain that cannot start or whose log density fails with an
/// error that is not recoverable ([`crate::infer::is_recoverable`]), as
/// [`Error::Sampling`](crate::Error) naming the chain and iteration (the lowest chain
/// index among those that failed).
pub fn sample<D: LogDensity + Clone + Send>(density: &D, opts: &NutsOptions) -> Result<Posterior> {
    let dim = density.dim();
    let names = density.param_names();
    opts.validate_for(dim, names.len())?;
    let inits: Vec<Option<Vec<f64>>> = (0..opts.n_chains)
        .map(|c| match &opts.init {
            Init::Random { .. } => None,
            Init::Point(p) => Some(p.clone()),
            Init::PerChain(ps) => Some(ps[c].clone()),
        })
        .collect();
    let jobs: Vec<(usize, D, Xoshiro256PlusPlus, Option<Vec<f64>>)> =
        chain_streams(opts.seed, opts.n_chains)
            .into_iter()
            .zip(inits)
            .enumerate()
            .map(|(c, (rng, init))| (c, density.clone(), rng, init))
            .collect();
    let results: Vec<Result<crate::infer::posterior::Chain>> = if opts.parallel {
        jobs.into_par_iter()
            .map(|(c, d, rng, init)| chain::run_chain(d, c, rng, init, opts))
            .collect()
    } else {
        jobs.into_iter()
            .map(|(c, d, rng, init)| chain::run_chain(d, c, rng, init, opts))
            .collect()
    };
    let chains = results.into_iter().collect::<Result<Vec<_>>>()?;
    Posterior::new(names, chains, opts.clone())
}

//! The result of sampling: draws per chain with their names, the sampler's statistics,
//! the adapted step size and metric, divergences, and the diagnostics; serialisable with
//! serde (JSON round trip tested), and the source of posterior predictive draws.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::diagnostics::summary::finite;
use super::diagnostics::{Summary, SummaryRow, ebfmi};
use super::nuts::NutsOptions;
use crate::error::{Error, Result};

/// Sampler statistics of one iteration.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrawStats {
    /// `ln π` at the draw (unconstrained scale, up to a constant).
    pub lp: f64,
    /// Mean acceptance statistic over the trajectory's leaves.
    pub accept_stat: f64,
    /// Step size used.
    pub step_size: f64,
    /// Tree depth reached.
    pub tree_depth: u32,
    /// Leapfrog steps taken.
    pub n_leapfrog: u32,
    /// Whether the trajectory diverged.
    pub divergent: bool,
    /// Hamiltonian at the draw (for E-BFMI).
    pub energy: f64,
}

/// Where a trajectory diverged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// Iteration (0-based, warm-up included).
    pub iteration: usize,
    /// Whether it was during warm-up.
    pub warmup: bool,
    /// The reported quantities (natural scale) at the leaf where the energy error
    /// exceeded the threshold (empty if they could not be computed there).
    pub position: Vec<f64>,
    /// The energy error `H − H₀` there (`+∞` if the log density could not be evaluated).
    pub energy_error: Option<f64>,
}

/// One chain's output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    /// Draws after warm-up, row-major: draw `i`, quantity `j` at `draws[i * n + j]`.
    pub draws: Vec<f64>,
    /// Statistics of each stored draw.
    pub stats: Vec<DrawStats>,
    /// Step size after adaptation.
    pub step_size: f64,
    /// Adapted `M⁻¹`: the diagonal, or the dense matrix row-major.
    pub inv_metric: Vec<f64>,
    /// Every divergence, warm-up included.
    pub divergences: Vec<Divergence>,
    /// Gradient evaluations, warm-up included.
    pub n_grad_evals: u64,
}

/// Sampler diagnostics over all chains (after warm-up).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplerDiagnostics {
    /// Divergent transitions after warm-up.
    pub divergences: usize,
    /// Divergent transitions during warm-up (expected while adapting; reported apart).
    pub warmup_divergences: usize,
    /// Draws whose tree reached the maximum depth.
    pub max_depth_hits: usize,
    /// E-BFMI per chain.
    pub ebfmi: Vec<Option<f64>>,
    /// Largest R̂ over the quantities.
    pub max_rhat: Option<f64>,
    /// Smallest bulk-ESS.
    pub min_ess_bulk: Option<f64>,
    /// Smallest tail-ESS.
    pub min_ess_tail: Option<f64>,
    /// Plain-language warnings (divergences, saturation, E-BFMI < 0.3, R̂ > 1.01,
    /// ESS < 100 per chain).
    pub warnings: Vec<String>,
}

/// Draws from a posterior with everything needed to judge them.
///
/// ```
/// use mechml_engine::ad::Real;
/// use mechml_engine::infer::{NutsOptions, Posterior, RealLogDensity, TapeDensity, sample};
/// # use mechml_engine::Result;
/// # #[derive(Clone)] struct N;
/// # impl RealLogDensity for N {
/// #     fn dim(&self) -> usize { 1 }
/// #     fn log_density<R: Real>(&self, x: &[R]) -> Result<R> { Ok(x[0].square() * -0.5) }
/// # }
/// let post = sample(&TapeDensity::new(N), &NutsOptions { n_chains: 2, n_warmup: 200, n_draws: 200, ..Default::default() })?;
/// let json = serde_json::to_string(&post).unwrap();
/// let back: Posterior = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, post);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Posterior {
    /// Names of the stored quantities.
    pub names: Vec<String>,
    /// One entry per chain.
    pub chains: Vec<Chain>,
    /// The options it was drawn with.
    pub options: NutsOptions,
    /// Per-quantity summary.
    pub summary: Summary,
    /// Sampler diagnostics.
    pub diagnostics: SamplerDiagnostics,
}

impl Posterior {
    /// Assembles the result and computes the summary and diagnostics.
    pub fn new(names: Vec<String>, chains: Vec<Chain>, options: NutsOptions) -> Result<Self> {
        let mut post = Self {
            names,
            chains,
            options,
            summary: Summary::default(),
            diagnostics: SamplerDiagnostics {
                divergences: 0,
                warmup_divergences: 0,
                max_depth_hits: 0,
                ebfmi: Vec::new(),
                max_rhat: None,
                min_ess_bulk: None,
                min_ess_tail: None,
                warnings: Vec::new(),
            },
        };
        post.summary = post.summarise()?;
        post.diagnostics = post.sampler_diagnostics();
        Ok(post)
    }

    /// Number of quantities.
    pub fn n_params(&self) -> usize {
        self.names.len()
    }

    /// Draws per chain.
    pub fn n_draws(&self) -> usize {
        self.chains.first().map_or(0, |c| c.stats.len())
    }

    /// Index of a quantity by name.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            Error::invalid_option(
                "Posterior",
                "name",
                name,
                format!("one of {:?}", self.names),
            )
        })
    }

    /// The draws of quantity `j`, one vector per chain.
    pub fn param_chains(&self, j: usize) -> Vec<Vec<f64>> {
        let n = self.n_params();
        self.chains
            .iter()
            .map(|c| c.draws.iter().skip(j).step_by(n.max(1)).copied().collect())
            .collect()
    }

    /// The draws of quantity `name`, one vector per chain.
    pub fn draws_of(&self, name: &str) -> Result<Vec<Vec<f64>>> {
        Ok(self.param_chains(self.index_of(name)?))
    }

    /// Every draw of every chain as a row of the stored quantities.
    pub fn rows(&self) -> impl Iterator<Item = &[f64]> {
        let n = self.n_params().max(1);
        self.chains
            .iter()
            .flat_map(move |c| c.draws.chunks_exact(n))
    }

    fn summarise(&self) -> Result<Summary> {
        let mut rows = Vec::with_capacity(self.n_params());
        for (j, name) in self.names.iter().enumerate() {
            let chains = self.param_chains(j);
            let refs: Vec<&[f64]> = chains.iter().map(|c| c.as_slice()).collect();
            rows.push(SummaryRow::new(name.clone(), &refs)?);
        }
        Ok(Summary { rows })
    }

    fn sampler_diagnostics(&self) -> SamplerDiagnostics {
        let divergences = self
            .chains
            .iter()
            .map(|c| c.stats.iter().filter(|s| s.divergent).count())
            .sum();
        let warmup_divergences = self
            .chains
            .iter()
            .map(|c| c.divergences.iter().filter(|d| d.warmup).count())
            .sum();
        let max_depth = self.options.max_depth as u32;
        let max_depth_hits = self
            .chains
            .iter()
            .map(|c| c.stats.iter().filter(|s| s.tree_depth >= max_depth).count())
            .sum();
        let ebfmi: Vec<Option<f64>> = self
            .chains
            .iter()
            .map(|c| finite(ebfmi(&c.stats.iter().map(|s| s.energy).collect::<Vec<_>>())))
            .collect();
        let mut warnings = Vec::new();
        let total = self.chains.len() * self.n_draws();
        if divergences > 0 {
            warnings.push(format!(
                "{divergences} of {total} transitions after warm-up diverged: the posterior \
                 has regions the sampler cannot explore (reparametrise, e.g. non-centred, or \
                 raise target_accept)"
            ));
        }
        if max_depth_hits > 0 {
            warnings.push(format!(
                "{max_depth_hits} of {total} transitions reached the maximum tree depth \
                 {max_depth}: efficiency, not validity, is at risk"
            ));
        }
        for (c, e) in ebfmi.iter().enumerate() {
            if let Some(e) = e.filter(|e| *e < 0.3) {
                warnings.push(format!(
                    "chain {c}: E-BFMI = {e:.3} < 0.3 (poor energy exploration)"
                ));
            }
        }
        let max_rhat = self.summary.max_rhat();
        if let Some(r) = max_rhat.filter(|r| *r > 1.01) {
            warnings.push(format!(
                "largest R-hat is {r:.3} > 1.01: the chains have not mixed"
            ));
        }
        let min_ess_bulk = self.summary.min_ess_bulk();
        let min_ess_tail = self.summary.min_ess_tail();
        let floor = 100.0 * self.chains.len() as f64;
        for (what, e) in [("bulk", min_ess_bulk), ("tail", min_ess_tail)] {
            if let Some(e) = e.filter(|e| *e < floor) {
                warnings.push(format!(
                    "smallest {what}-ESS is {e:.0} < {floor:.0} (100 per chain): estimates \
                     are unreliable"
                ));
            }
        }
        SamplerDiagnostics {
            divergences,
            warmup_divergences,
            max_depth_hits,
            ebfmi,
            max_rhat,
            min_ess_bulk,
            min_ess_tail,
            warnings,
        }
    }

    /// Posterior predictive draws: `f(θ, rng)` for every stored draw `θ`, in chain and
    /// draw order, with one xoshiro256++ stream per chain derived from `seed` (so the
    /// result does not depend on how the caller iterates). Errors name the chain and
    /// draw.
    ///
    /// ```
    /// # use mechml_engine::infer::{Posterior, NutsOptions};
    /// # fn demo(post: &Posterior) -> mechml_engine::Result<()> {
    /// use rand::RngExt;
    /// // y_rep = θ₀ + noise, for each draw.
    /// let reps = post.predictive(7, |theta, rng| Ok(vec![theta[0] + rng.random::<f64>()]))?;
    /// assert_eq!(reps.len(), post.chains.len() * post.n_draws());
    /// # Ok(()) }
    /// ```
    pub fn predictive<T, F>(&self, seed: u64, mut f: F) -> Result<Vec<T>>
    where
        F: FnMut(&[f64], &mut Xoshiro256PlusPlus) -> Result<T>,
    {
        let n = self.n_params().max(1);
        let mut base = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut out = Vec::with_capacity(self.chains.len() * self.n_draws());
        for (c, chain) in self.chains.iter().enumerate() {
            let mut rng = base.clone();
            base.jump();
            for (i, theta) in chain.draws.chunks_exact(n).enumerate() {
                out.push(f(theta, &mut rng).map_err(|e| Error::Sampling {
                    chain: c,
                    iteration: i,
                    warmup: false,
                    source: Box::new(e),
                })?);
            }
        }
        Ok(out)
    }
}

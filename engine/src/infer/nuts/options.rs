//! Options of the No-U-Turn sampler and of its adaptation.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest number of chains [`sample`](super::sample) accepts.
pub const MAX_CHAINS: usize = 1024;
/// Largest number of iterations (warm-up plus draws) per chain.
pub const MAX_ITERATIONS: usize = 10_000_000;
/// Largest tree depth (a trajectory of up to 2²⁰ leapfrog steps per draw).
pub const MAX_TREE_DEPTH: usize = 20;
/// Largest number of stored values (chains × draws × quantities): 2.5·10⁸ (2 GB).
pub const MAX_STORED_VALUES: usize = 250_000_000;

/// The mass matrix (the metric of the kinetic energy `½ pᵀ M⁻¹ p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// `M = I`, not adapted.
    Unit,
    /// Diagonal `M⁻¹`, adapted to the posterior variances.
    Diagonal,
    /// Dense `M⁻¹`, adapted to the posterior covariance.
    Dense,
}

/// Step-size and mass-matrix adaptation during warm-up (Hoffman & Gelman 2014, JMLR 15,
/// §3.2, Alg. 5–6; Stan Reference Manual, "HMC algorithm parameters").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptOptions {
    /// Target mean acceptance statistic δ (0 < δ < 1).
    pub target_accept: f64,
    /// Dual-averaging shrinkage γ.
    pub gamma: f64,
    /// Dual-averaging iteration offset t₀.
    pub t0: f64,
    /// Dual-averaging step-size weight decay κ.
    pub kappa: f64,
    /// Warm-up iterations before the first metric window (fast adaptation only).
    pub init_buffer: usize,
    /// Warm-up iterations after the last metric window (fast adaptation only).
    pub term_buffer: usize,
    /// Length of the first metric window; each later window doubles.
    pub base_window: usize,
}

impl Default for AdaptOptions {
    /// Stan's defaults: δ = 0.8, γ = 0.05, t₀ = 10, κ = 0.75, buffers 75 and 50, first
    /// window 25.
    fn default() -> Self {
        Self {
            target_accept: 0.8,
            gamma: 0.05,
            t0: 10.0,
            kappa: 0.75,
            init_buffer: 75,
            term_buffer: 50,
            base_window: 25,
        }
    }
}

/// Where chains start, on the unconstrained scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Uniform on `(−radius, radius)` per coordinate, from each chain's stream (redrawn, at
    /// most 100 times, until the log density and its gradient are finite).
    Random {
        /// Half-width (Stan: 2).
        radius: f64,
    },
    /// The same point for every chain.
    Point(Vec<f64>),
    /// One point per chain.
    PerChain(Vec<Vec<f64>>),
}

/// Options of [`sample`](super::sample).
///
/// ```
/// use mechml_engine::infer::{MetricKind, NutsOptions};
/// let opts = NutsOptions { n_chains: 2, n_warmup: 500, metric: MetricKind::Dense, ..NutsOptions::default() };
/// opts.validate()?;
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NutsOptions {
    /// Number of chains (1 to [`MAX_CHAINS`]).
    pub n_chains: usize,
    /// Warm-up (adaptation) iterations per chain; not stored.
    pub n_warmup: usize,
    /// Stored draws per chain (≥ 1).
    pub n_draws: usize,
    /// Largest tree depth (1 to [`MAX_TREE_DEPTH`]); a trajectory that reaches it is
    /// counted as saturated.
    pub max_depth: usize,
    /// Mass matrix.
    pub metric: MetricKind,
    /// Adaptation.
    pub adapt: AdaptOptions,
    /// Initial points.
    pub init: Init,
    /// Step size the initial heuristic starts from (Stan: 1).
    pub init_step_size: f64,
    /// Energy error `H − H₀` above which a trajectory is declared divergent (Stan: 1000).
    pub max_energy_error: f64,
    /// Seed: chain `c` uses the xoshiro256++ stream of this seed after `c` jumps of 2¹²⁸.
    pub seed: u64,
    /// Whether chains run on rayon's pool (the draws do not depend on it).
    pub parallel: bool,
}

impl Default for NutsOptions {
    /// 4 chains × (1,000 warm-up + 1,000 draws), depth 10, diagonal metric, Stan's
    /// adaptation, random inits in (−2, 2), seed 0, parallel.
    fn default() -> Self {
        Self {
            n_chains: 4,
            n_warmup: 1000,
            n_draws: 1000,
            max_depth: 10,
            metric: MetricKind::Diagonal,
            adapt: AdaptOptions::default(),
            init: Init::Random { radius: 2.0 },
            init_step_size: 1.0,
            max_energy_error: 1000.0,
            seed: 0,
            parallel: true,
        }
    }
}

impl NutsOptions {
    /// Checks every field (and, with `dim`, the initial points' lengths).
    pub fn validate(&self) -> Result<()> {
        let op = "NutsOptions";
        let bad = |name: &str, v: String, expected: String| {
            Err(Error::invalid_option(op, name, v, expected))
        };
        if !(1..=MAX_CHAINS).contains(&self.n_chains) {
            return bad(
                "n_chains",
                self.n_chains.to_string(),
                format!("between 1 and {MAX_CHAINS}"),
            );
        }
        if self.n_draws == 0 {
            return bad("n_draws", "0".into(), "at least 1".into());
        }
        let total = self.n_warmup.saturating_add(self.n_draws);
        if total > MAX_ITERATIONS {
            return bad(
                "n_warmup + n_draws",
                total.to_string(),
                format!("at most {MAX_ITERATIONS}"),
            );
        }
        if !(1..=MAX_TREE_DEPTH).contains(&self.max_depth) {
            return bad(
                "max_depth",
                self.max_depth.to_string(),
                format!("between 1 and {MAX_TREE_DEPTH}"),
            );
        }
        let a = &self.adapt;
        if !(a.target_accept > 0.0 && a.target_accept < 1.0) {
            return bad(
                "adapt.target_accept",
                a.target_accept.to_string(),
                "strictly between 0 and 1".into(),
            );
        }
        for (name, v) in [("adapt.gamma", a.gamma), ("adapt.t0", a.t0)] {
            if !(v.is_finite() && v > 0.0) {
                return bad(name, v.to_string(), "finite and > 0".into());
            }
        }
        if !(a.kappa > 0.0 && a.kappa <= 1.0) {
            return bad("adapt.kappa", a.kappa.to_string(), "in (0, 1]".into());
        }
        if a.base_window == 0 {
            return bad("adapt.base_window", "0".into(), "at least 1".into());
        }
        if !(self.init_step_size.is_finite() && self.init_step_size > 0.0) {
            return bad(
                "init_step_size",
                self.init_step_size.to_string(),
                "finite and > 0".into(),
            );
        }
        if self.max_energy_error.is_nan() || self.max_energy_error <= 0.0 {
            return bad(
                "max_energy_error",
                self.max_energy_error.to_string(),
                "> 0".into(),
            );
        }
        match &self.init {
            Init::Random { radius } if !(radius.is_finite() && *radius >= 0.0) => {
                return bad("init.radius", radius.to_string(), "finite and ≥ 0".into());
            }
            Init::PerChain(points) if points.len() != self.n_chains => {
                return bad(
                    "init",
                    format!("{} points", points.len()),
                    format!("one point per chain ({})", self.n_chains),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks the initial points' lengths against the dimension and the stored size.
    pub(crate) fn validate_for(&self, dim: usize, n_names: usize) -> Result<()> {
        self.validate()?;
        let check = |p: &Vec<f64>, which: String| {
            if p.len() != dim {
                return Err(Error::ShapeMismatch {
                    op: "nuts",
                    arg: "init",
                    expected: format!("len {dim}"),
                    found: format!("len {} ({which})", p.len()),
                });
            }
            crate::error::check_finite("nuts", "initial point", p)
        };
        match &self.init {
            Init::Point(p) => check(p, "the point".into())?,
            Init::PerChain(ps) => {
                for (c, p) in ps.iter().enumerate() {
                    check(p, format!("chain {c}"))?;
                }
            }
            Init::Random { .. } => {}
        }
        let stored = self
            .n_chains
            .saturating_mul(self.n_draws)
            .saturating_mul(n_names.max(1) + 8);
        if stored > MAX_STORED_VALUES {
            return Err(Error::invalid_option(
                "NutsOptions",
                "n_chains × n_draws × (quantities + 8 statistics)",
                stored,
                format!("at most {MAX_STORED_VALUES} stored values (2 GB); thin or draw less"),
            ));
        }
        Ok(())
    }
}

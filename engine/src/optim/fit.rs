//! [`FitOptions`]: the one vocabulary of every maximum-likelihood (or MAP) fit in mechml —
//! exact, sparse and state-space Gaussian processes, linear-Gaussian state-space models
//! and the energy-balance models all take it.

use serde::{Deserialize, Serialize};

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::lbfgs::{LbfgsOptions, lbfgs};
use super::trace::OptimResult;
use crate::error::{Error, Result};

/// Largest number of starts a fit accepts: each start is a full optimisation, so more
/// than this is almost certainly a typing error (and would run for hours).
pub const MAX_STARTS: usize = 10_000;

/// Options of a fit by L-BFGS over a model's free parameters (on the unconstrained
/// scale of [`crate::param`]).
///
/// Models document their own defaults where they differ (their `default_fit_options`),
/// because sensible optimiser tolerances depend on the scale of the objective.
///
/// ```
/// use mechml_engine::optim::FitOptions;
/// let opts = FitOptions::default().fixing(&["noise_variance"]).with_starts(8, 0.5, 42);
/// opts.validate()?;
/// assert_eq!(opts.fixed, vec!["noise_variance".to_string()]);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// The optimiser's options.
    pub lbfgs: LbfgsOptions,
    /// Parameters held at their current values, by name or group (`"lengthscale"` holds
    /// every `lengthscale[i]`; see [`crate::param::ParamLayout::fix`]).
    pub fixed: Vec<String>,
    /// Number of starts: the given start plus `n_starts − 1` seeded perturbations of it
    /// (the best optimum is kept; the result does not depend on the thread count).
    pub n_starts: usize,
    /// Standard deviation of the perturbations, on the unconstrained scale.
    pub start_spread: f64,
    /// Seed of the perturbations.
    pub seed: u64,
    /// Whether to compute the observed information (exact Hessian) at the optimum, and
    /// the standard errors from it, where the model supports it.
    pub hessian: bool,
}

impl Default for FitOptions {
    /// One start, no Hessian, L-BFGS with `grad_tol = 1e-5`, `f_tol = 1e-10`, 500
    /// iterations.
    fn default() -> Self {
        Self {
            lbfgs: LbfgsOptions {
                grad_tol: 1e-5,
                f_tol: 1e-10,
                max_iters: 500,
                ..LbfgsOptions::default()
            },
            fixed: Vec::new(),
            n_starts: 1,
            start_spread: 0.5,
            seed: 0,
            hessian: false,
        }
    }
}

impl FitOptions {
    /// The same options holding these parameters (names or groups) fixed.
    pub fn fixing<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.fixed = names.iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// The same options with `n` starts perturbed by `spread` from `seed`.
    pub fn with_starts(mut self, n: usize, spread: f64, seed: u64) -> Self {
        self.n_starts = n;
        self.start_spread = spread;
        self.seed = seed;
        self
    }

    /// The same options with these optimiser options.
    pub fn with_lbfgs(mut self, lbfgs: LbfgsOptions) -> Self {
        self.lbfgs = lbfgs;
        self
    }

    /// Checks the number of starts (1 to [`MAX_STARTS`]) and the spread (finite, ≥ 0).
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_STARTS).contains(&self.n_starts) {
            return Err(Error::invalid_option(
                "FitOptions",
                "n_starts",
                self.n_starts,
                format!("between 1 and {MAX_STARTS}"),
            ));
        }
        if !(self.start_spread.is_finite() && self.start_spread >= 0.0) {
            return Err(Error::invalid_option(
                "FitOptions",
                "start_spread",
                self.start_spread,
                "finite and ≥ 0",
            ));
        }
        Ok(())
    }
    /// Minimises `f` (value and gradient at an unconstrained point) by L-BFGS from
    /// [`n_starts`](Self::n_starts) starts: `z0` itself, then `z0` plus
    /// [`start_spread`](Self::start_spread) times standard normal draws from the stream
    /// seeded by [`seed`](Self::seed), in order. Returns the lowest result and the number
    /// of starts that ended without error.
    ///
    /// # Errors
    /// Invalid options; the first start's error when every start failed.
    pub fn minimize_multistart<F>(&self, z0: &[f64], mut f: F) -> Result<(OptimResult, usize)>
    where
        F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
    {
        self.validate()?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let mut best: Option<OptimResult> = None;
        let mut first_err = None;
        let mut ok = 0;
        for start in 0..self.n_starts {
            let zs: Vec<f64> = if start == 0 {
                z0.to_vec()
            } else {
                z0.iter()
                    .map(|z| {
                        z + self.start_spread
                            * Distribution::<f64>::sample(&StandardNormal, &mut rng)
                    })
                    .collect()
            };
            match lbfgs(&mut f, &zs, &self.lbfgs) {
                Ok(r) => {
                    ok += 1;
                    if best.as_ref().is_none_or(|b| r.value < b.value) {
                        best = Some(r);
                    }
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match (best, first_err) {
            (Some(b), _) => Ok((b, ok)),
            (None, Some(e)) => Err(e),
            (None, None) => Err(Error::invalid_option(
                "FitOptions",
                "n_starts",
                self.n_starts,
                "≥ 1",
            )),
        }
    }
}

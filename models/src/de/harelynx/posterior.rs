//! The posterior of the pelt model by NUTS, and posterior predictive bands: for every
//! draw `θ⁽ˢ⁾`, the solution `z(t; θ⁽ˢ⁾)` on a grid and a replicate
//! `y_rep = z · exp(σ ε)`, `ε ~ N(0, 1)` (Gelman et al. 2013, *Bayesian Data Analysis*,
//! 3rd ed., §6.3); the bands are quantiles over draws at each time.

use mechml_engine::infer::stats::quantile_sorted;
use mechml_engine::infer::{NutsOptions, Posterior, sample};
use mechml_engine::{Error, Result};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::data::Pelts;
use super::density::{LvDensity, LvPriors, solve_lv};
use crate::de::SolverSettings;

/// NUTS draws from the posterior of `data` under `priors` (chains, warm-up, metric and
/// inits from `nuts`; Stan's windowed adaptation by default).
///
/// # Errors
/// Invalid priors, solver settings or sampler options; a sampler error.
pub fn sample_posterior(
    data: &Pelts,
    priors: &LvPriors,
    solver: SolverSettings,
    nuts: &NutsOptions,
) -> Result<Posterior> {
    let d = LvDensity::posterior(data, priors, solver)?;
    sample(&d, nuts)
}

/// Quantiles over draws at each time of one species.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeciesBands {
    /// Median of the solution `z(t)` (no noise).
    pub solution_median: Vec<f64>,
    /// Median of the replicates.
    pub median: Vec<f64>,
    /// 5 % quantile of the replicates.
    pub q05: Vec<f64>,
    /// 25 % quantile.
    pub q25: Vec<f64>,
    /// 75 % quantile.
    pub q75: Vec<f64>,
    /// 95 % quantile.
    pub q95: Vec<f64>,
}

/// Posterior predictive bands of both species.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictiveBands {
    /// Calendar years of the grid.
    pub years: Vec<f64>,
    /// Prey (hare).
    pub hare: SpeciesBands,
    /// Predator (lynx).
    pub lynx: SpeciesBands,
    /// Number of draws used.
    pub n_draws: usize,
}

impl PredictiveBands {
    /// The share of `data`'s counts inside the central 50 % and 90 % bands, when the
    /// grid holds the data's years (`per_year` = 1 in [`predictive_bands`]).
    ///
    /// # Errors
    /// A grid that is not the data's years.
    pub fn coverage(&self, data: &Pelts) -> Result<(f64, f64)> {
        if self.years != data.years() {
            return Err(Error::invalid_option(
                "PredictiveBands::coverage",
                "years",
                format!("{} grid points", self.years.len()),
                "the data's years (per_year = 1)",
            ));
        }
        let (mut in50, mut in90) = (0usize, 0usize);
        for (b, ys) in [(&self.hare, data.hare()), (&self.lynx, data.lynx())] {
            for (k, &y) in ys.iter().enumerate() {
                in50 += usize::from(b.q25[k] <= y && y <= b.q75[k]);
                in90 += usize::from(b.q05[k] <= y && y <= b.q95[k]);
            }
        }
        let n = 2.0 * data.len() as f64;
        Ok((in50 as f64 / n, in90 as f64 / n))
    }
}

/// Posterior predictive bands over the data's span, `per_year` grid points per year
/// (1 to 100), from every draw of `post` (natural-scale `θ` in the order of
/// [`PARAM_NAMES`](super::PARAM_NAMES)); replicate noise from the xoshiro256++ streams
/// of `seed` (one per chain, as [`Posterior::predictive`]).
///
/// # Errors
/// `per_year` outside 1..=100, a posterior of another model, or a solver failure.
pub fn predictive_bands(
    post: &Posterior,
    data: &Pelts,
    per_year: usize,
    solver: &SolverSettings,
    seed: u64,
) -> Result<PredictiveBands> {
    let op = "harelynx::predictive_bands";
    if !(1..=100).contains(&per_year) {
        return Err(Error::invalid_option(op, "per_year", per_year, "1 to 100"));
    }
    mechml_engine::error::check_len(op, "posterior parameters", post.n_params(), 8)?;
    let y0 = data.years()[0];
    let span = data.years()[data.len() - 1] - y0;
    let n_grid = (span * per_year as f64).round() as usize + 1;
    let ts: Vec<f64> = (0..n_grid).map(|i| i as f64 / per_year as f64).collect();
    // Per draw: the solution and the replicate of each species at each grid time.
    let reps = post.predictive(seed, |theta, rng| {
        let z = solve_lv(theta, &ts, solver)?;
        let mut out = Vec::with_capacity(4 * z.len());
        for zk in &z {
            for i in 0..2 {
                let e: f64 = StandardNormal.sample(rng);
                out.push(zk[i]);
                out.push(zk[i] * (theta[6 + i] * e).exp());
            }
        }
        Ok(out)
    })?;
    let n_draws = reps.len();
    let species = |i: usize| {
        let mut b = SpeciesBands {
            solution_median: Vec::with_capacity(n_grid),
            median: Vec::with_capacity(n_grid),
            q05: Vec::with_capacity(n_grid),
            q25: Vec::with_capacity(n_grid),
            q75: Vec::with_capacity(n_grid),
            q95: Vec::with_capacity(n_grid),
        };
        let mut sol = vec![0.0; n_draws];
        let mut rep = vec![0.0; n_draws];
        for k in 0..n_grid {
            for (s, r) in reps.iter().enumerate() {
                sol[s] = r[4 * k + 2 * i];
                rep[s] = r[4 * k + 2 * i + 1];
            }
            sol.sort_by(f64::total_cmp);
            rep.sort_by(f64::total_cmp);
            b.solution_median.push(quantile_sorted(&sol, 0.5));
            b.median.push(quantile_sorted(&rep, 0.5));
            b.q05.push(quantile_sorted(&rep, 0.05));
            b.q25.push(quantile_sorted(&rep, 0.25));
            b.q75.push(quantile_sorted(&rep, 0.75));
            b.q95.push(quantile_sorted(&rep, 0.95));
        }
        b
    };
    Ok(PredictiveBands {
        years: ts.iter().map(|t| y0 + t).collect(),
        hare: species(0),
        lynx: species(1),
        n_draws,
    })
}

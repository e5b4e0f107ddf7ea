//! Maximum likelihood for the pelt model: a multi-start L-BFGS fit on `z = ln θ`
//! ([`FitOptions::minimize_multistart`]), the Laplace (Wald) interval of each parameter
//! from the observed information — `exp(ẑⱼ ± q √Σⱼⱼ)`, `Σ = (−∇² ln L(ẑ))⁻¹`, `q` the
//! normal quantile of the level (Pawitan 2001, *In All Likelihood*, §9.7) — and the
//! profile-likelihood interval `{θⱼ : 2(ℓ̂ − ℓ_p(θⱼ)) ≤ χ²₁(level)}` (Venzon & Moolgavkar
//! 1988), open sides reported as open. Also: synthetic records from known parameters,
//! for coverage studies.

use mechml_engine::infer::stats::normal_quantile;
use mechml_engine::infer::{
    HessianMethod, Laplace, LaplaceOptions, LogDensity, Profile, ProfileOptions, laplace, profile,
};
use mechml_engine::optim::{FitOptions, LbfgsOptions};
use mechml_engine::{Error, Result};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::data::Pelts;
use super::density::{LvDensity, PARAM_NAMES, solve_lv};
use crate::de::SolverSettings;

/// Options of [`fit_mle`].
#[derive(Clone, Debug)]
pub struct MleOptions {
    /// Starts, spread and optimiser (on `z = ln θ`).
    pub fit: FitOptions,
    /// Coverage of the intervals (0 < level < 1).
    pub level: f64,
    /// Whether to compute profile-likelihood intervals (8 profiles: the costly part).
    pub profile: bool,
    /// The ODE solver.
    pub solver: SolverSettings,
}

impl MleOptions {
    /// Laplace intervals only (no profiles) at `level`, from `n_starts` starts: the
    /// setting of the coverage studies; everything else as [`Default`].
    pub fn laplace_only(level: f64, n_starts: usize) -> Self {
        let mut o = Self::default();
        o.fit.n_starts = n_starts;
        o.level = level;
        o.profile = false;
        o
    }
}

impl Default for MleOptions {
    /// 8 starts (spread 0.5 on the log scale, seed 0), 95 % intervals, profiles on,
    /// [`default_solver`](super::default_solver) tightened to rtol = atol = 1e-10.
    ///
    /// The optimiser stops at `‖∇ ln L‖∞ ≤ 1e-3` or a relative decrease below 1e-11: the
    /// adaptive solver's step sequence changes with the parameters, so `ln L` is smooth
    /// only up to about the tolerance times the sum of the residual weights (≈ 1e-8
    /// here), and a tighter gradient tolerance would end in failed line searches. At the
    /// optimum the observed information is ≥ 10² on the log scale, so the mode is then
    /// off by ≤ 1e-5 in `ln θ`, far below the standard errors (≥ 0.05).
    fn default() -> Self {
        Self {
            fit: FitOptions::default()
                .with_starts(8, 0.5, 0)
                .with_lbfgs(fit_lbfgs()),
            level: 0.95,
            profile: true,
            solver: SolverSettings {
                rtol: 1e-10,
                atol: 1e-10,
                ..super::default_solver()
            },
        }
    }
}

fn fit_lbfgs() -> LbfgsOptions {
    LbfgsOptions {
        grad_tol: 1e-3,
        f_tol: 1e-11,
        max_iters: 1000,
        record_params: false,
        ..LbfgsOptions::default()
    }
}

/// One parameter's interval; `None` for a side the profile did not close.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower end (natural scale).
    pub lower: Option<f64>,
    /// Upper end (natural scale).
    pub upper: Option<f64>,
}

impl Interval {
    /// Whether `value` lies inside (an open side counts as unbounded).
    pub fn covers(&self, value: f64) -> bool {
        self.lower.is_none_or(|l| l <= value) && self.upper.is_none_or(|u| value <= u)
    }
}

/// The maximum-likelihood fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MleFit {
    /// Parameter names ([`PARAM_NAMES`]).
    pub names: Vec<String>,
    /// `θ̂` (natural scale).
    pub theta: Vec<f64>,
    /// `ln L(θ̂)`.
    pub log_likelihood: f64,
    /// Starts that ended without error.
    pub starts_ok: usize,
    /// The Laplace approximation on `z = ln θ` (mode, covariance).
    pub laplace: Laplace,
    /// Laplace (Wald) intervals at the level, mapped by `exp`.
    pub wald: Vec<Interval>,
    /// Profile-likelihood intervals at the level (if asked for).
    pub profile: Option<Vec<Interval>>,
}

/// The default first start: α = γ = 1, β = δ = 0.05 (the prior centres), the first
/// counts as initial state, σ = 0.5.
pub fn default_start(data: &Pelts) -> Vec<f64> {
    vec![
        1.0,
        0.05,
        1.0,
        0.05,
        data.hare()[0],
        data.lynx()[0],
        0.5,
        0.5,
    ]
}

/// The maximum-likelihood fit of `data`, with Laplace and (optionally) profile intervals.
///
/// # Errors
/// Invalid options (level outside (0, 1), starts), every start failing, or an
/// observed information that is not positive definite at the optimum (the error names
/// the least determined parameter).
pub fn fit_mle(data: &Pelts, opts: &MleOptions) -> Result<MleFit> {
    let op = "harelynx::fit_mle";
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(Error::invalid_option(op, "level", opts.level, "in (0, 1)"));
    }
    let mut d = LvDensity::likelihood(data, opts.solver)?;
    let z0 = d.unconstrain(&default_start(data))?;
    let (best, starts_ok) = opts.fit.minimize_multistart(&z0, |z| {
        let (v, g) = d.value_and_grad(z)?;
        if !v.is_finite() {
            // Outside where the solve works: L-BFGS backtracks from a large value.
            return Ok((f64::MAX.sqrt(), vec![0.0; z.len()]));
        }
        Ok((-v, g.into_iter().map(|x| -x).collect()))
    })?;
    let lap_opts = LaplaceOptions {
        lbfgs: opts.fit.lbfgs.clone(),
        hessian: HessianMethod::CentralDifferences { step: 1e-4 },
    };
    let lap = laplace(&mut d, &best.x, &lap_opts)?;
    let q = normal_quantile(0.5 + 0.5 * opts.level);
    let wald = (0..8)
        .map(|j| Interval {
            lower: Some((lap.mode[j] - q * lap.std_errors[j]).exp()),
            upper: Some((lap.mode[j] + q * lap.std_errors[j]).exp()),
        })
        .collect();
    let profile = if opts.profile {
        let p = profile_intervals(&mut d, &lap.mode, opts)?;
        Some(p)
    } else {
        None
    };
    Ok(MleFit {
        names: PARAM_NAMES.iter().map(|s| s.to_string()).collect(),
        theta: d.constrain(&lap.mode)?,
        log_likelihood: lap.log_density,
        starts_ok,
        laplace: lap,
        wald,
        profile,
    })
}

fn profile_intervals(d: &mut LvDensity, z_hat: &[f64], opts: &MleOptions) -> Result<Vec<Interval>> {
    let popts = ProfileOptions {
        level: opts.level,
        lbfgs: LbfgsOptions {
            max_iters: 400,
            max_evals: 1600,
            ..fit_lbfgs()
        },
        max_doublings: 12,
        max_distance: 10.0,
        tol: 1e-4,
        ..ProfileOptions::default()
    };
    let prof: Profile = profile(d, z_hat, &popts)?;
    Ok(prof
        .intervals
        .iter()
        .map(|iv| Interval {
            lower: iv.lower.value(),
            upper: iv.upper.value(),
        })
        .collect())
}

/// A synthetic record at `years` from natural-scale `theta` (8 entries):
/// `y = z(t) · exp(σ ε)`, `ε ~ N(0, 1)` from the xoshiro256++ stream of `seed`.
///
/// # Errors
/// A wrong length, invalid years, or a solver failure.
pub fn simulate(theta: &[f64], years: &[f64], seed: u64, solver: &SolverSettings) -> Result<Pelts> {
    mechml_engine::error::check_len("harelynx::simulate", "theta", theta.len(), 8)?;
    let t0 = years.first().copied().unwrap_or(0.0);
    let ts: Vec<f64> = years.iter().map(|y| y - t0).collect();
    let z = solve_lv(theta, &ts, solver)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut noisy =
        |m: f64, s: f64| m * (s * Distribution::<f64>::sample(&StandardNormal, &mut rng)).exp();
    let (mut hare, mut lynx) = (Vec::with_capacity(ts.len()), Vec::with_capacity(ts.len()));
    for zk in &z {
        hare.push(noisy(zk[0], theta[6]));
        lynx.push(noisy(zk[1], theta[7]));
    }
    Pelts::new(years.to_vec(), hare, lynx)
}

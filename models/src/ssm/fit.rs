//! Maximum-likelihood fitting of parametrised linear-Gaussian state-space models.
//!
//! A model family ([`ParametricSsm`]) maps named parameters θ to a
//! [`LinearGaussianSsm`], generically over [`Real`]. Fitting works on unconstrained
//! coordinates z (zᵢ = ln θᵢ for positive parameters, zᵢ = θᵢ otherwise; fixed parameters
//! are held at their values):
//!
//! * the objective −ℓ(θ(z))/n is recorded on a tape (the filter as one block) and
//!   minimised by L-BFGS ([`lbfgs()`](mechml_engine::optim::lbfgs())) from several starts (the given
//!   start and seeded perturbations of it, run in parallel, the best kept: the result does
//!   not depend on the number of threads);
//! * the observed information H = −∇²_z ℓ at the optimum is assembled from exact
//!   Hessian–vector products (forward over reverse: the tape runs in dual numbers, the
//!   filter's adjoint too);
//! * standard errors come from Σ_z = H⁻¹: on the natural scale by the delta method,
//!   se(θᵢ) = θᵢ se(zᵢ) for log-parameters, with 95 % intervals exp(zᵢ ± 1.96 se(zᵢ))
//!   (Pawitan 2001, "In All Likelihood", §9.7); for any derived quantity g(θ) by
//!   se(g) = √(∇_z gᵀ Σ_z ∇_z g) ([`delta_method`]);
//! * information criteria AIC = 2k − 2ℓ and BIC = k ln n − 2ℓ (k free parameters, n
//!   observed scalars).
//!
//! ```
//! use mechml_engine::ad::Real;
//! use mechml_models::ssm::{LinearGaussianSsm, Observations};
//! use mechml_models::ssm::fit::{FitOptions, ParamSpec, ParametricSsm, fit_mle};
//!
//! /// AR(1) plus noise: x' = φ x + w (var q), y = x + v (var 0.1).
//! struct Ar1 { data: Observations }
//! impl ParametricSsm for Ar1 {
//!     fn param_names(&self) -> Vec<String> { vec!["phi".into(), "q".into()] }
//!     fn build<R: Real>(&self, th: &[R]) -> mechml_engine::Result<LinearGaussianSsm<R>> {
//!         let c = R::from_f64;
//!         LinearGaussianSsm::time_invariant(1, 1, vec![th[0]], vec![th[1]], vec![c(1.0)],
//!             vec![c(0.1)], vec![c(0.0)], vec![th[1] / (R::one() - th[0] * th[0])])
//!     }
//!     fn observations(&self) -> &Observations { &self.data }
//! }
//! let y: Vec<f64> = (0..200).map(|t| ((t as f64) * 0.3).sin()).collect();
//! let model = Ar1 { data: Observations::univariate(y)? };
//! let specs = vec![ParamSpec::identity("phi", 0.5), ParamSpec::positive("q", 0.1)];
//! let fit = fit_mle(&model, &specs, &FitOptions::default(), &|_| {})?;
//! assert!(fit.converged && fit.estimate[0] > 0.8);
//! assert!(fit.se[0].unwrap() > 0.0);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use mechml_engine::ad::{Dual, Real, Tape, Var};
use mechml_engine::optim::{LbfgsOptions, lbfgs};
use mechml_engine::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::loglik_op::{KalmanGradient, kalman_loglik_tape};
use super::model::{LinearGaussianSsm, Observations};

/// A family of linear-Gaussian state-space models indexed by named parameters.
pub trait ParametricSsm: Sync {
    /// Parameter names (the order of θ).
    fn param_names(&self) -> Vec<String>;
    /// The model at θ (natural scale), generic over the scalar type.
    fn build<R: Real>(&self, theta: &[R]) -> Result<LinearGaussianSsm<R>>;
    /// The data the likelihood is evaluated on.
    fn observations(&self) -> &Observations;
}

/// A scalar quantity derived from the parameters (e.g. a climate sensitivity).
pub trait Derived: Sync {
    /// g(θ), generic over the scalar type.
    fn eval<R: Real>(&self, theta: &[R]) -> Result<R>;
}

/// How a parameter is mapped to the optimiser's unconstrained coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// θ = e^z (positive parameters).
    Log,
    /// θ = z.
    Identity,
}

impl Transform {
    fn to_natural<R: Real>(self, z: R) -> R {
        match self {
            Transform::Log => z.exp(),
            Transform::Identity => z,
        }
    }
    fn to_unconstrained(self, x: f64) -> f64 {
        match self {
            Transform::Log => x.ln(),
            Transform::Identity => x,
        }
    }
}

/// One parameter: name, transform, starting (or fixed) value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Name (must match the family's names).
    pub name: String,
    /// Transform to the unconstrained scale.
    pub transform: Transform,
    /// Starting value (natural scale), or the value held when fixed.
    pub init: f64,
    /// Whether the parameter is held fixed.
    pub fixed: bool,
}

impl ParamSpec {
    /// A free positive parameter (log scale).
    pub fn positive(name: &str, init: f64) -> Self {
        Self {
            name: name.into(),
            transform: Transform::Log,
            init,
            fixed: false,
        }
    }
    /// A free real parameter.
    pub fn identity(name: &str, init: f64) -> Self {
        Self {
            name: name.into(),
            transform: Transform::Identity,
            init,
            fixed: false,
        }
    }
    /// A parameter held at `value`.
    pub fn fixed(name: &str, value: f64) -> Self {
        Self {
            name: name.into(),
            transform: Transform::Identity,
            init: value,
            fixed: true,
        }
    }
}

/// Options of [`fit_mle`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// Number of starts (the given start plus `n_starts − 1` perturbed ones).
    pub n_starts: usize,
    /// Standard deviation of the perturbations on the unconstrained scale.
    pub start_spread: f64,
    /// Seed of the perturbations.
    pub seed: u64,
    /// L-BFGS options.
    pub lbfgs: LbfgsOptions,
    /// How the filter block is differentiated.
    pub gradient: KalmanGradient,
    /// Whether to compute the Hessian and standard errors.
    pub hessian: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            n_starts: 4,
            start_spread: 0.5,
            seed: 0,
            lbfgs: LbfgsOptions {
                grad_tol: 1e-7,
                max_iters: 500,
                max_evals: 2000,
                ..LbfgsOptions::default()
            },
            gradient: KalmanGradient::Adjoint,
            hessian: true,
        }
    }
}

/// Progress of a fit, reported through the callback of [`fit_mle`].
#[derive(Clone, Debug, PartialEq)]
pub enum FitProgress {
    /// A start finished (index, log-likelihood reached or the error).
    StartDone {
        /// Index of the start.
        index: usize,
        /// Final log-likelihood, if the start succeeded.
        loglik: Option<f64>,
    },
    /// The Hessian is being assembled.
    Hessian,
}

/// What one start did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartReport {
    /// Index (0 = the given start).
    pub index: usize,
    /// Starting values (natural scale, all parameters).
    pub start: Vec<f64>,
    /// Log-likelihood reached (None if the start failed).
    pub loglik: Option<f64>,
    /// L-BFGS iterations.
    pub iterations: usize,
    /// Objective evaluations.
    pub evaluations: usize,
    /// Whether a tolerance was met.
    pub converged: bool,
    /// Why the optimiser stopped, or the error.
    pub termination: String,
}

/// One row of the optimisation trace of the best start, on the natural scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceRow {
    /// Iteration.
    pub iteration: usize,
    /// Objective evaluations so far.
    pub evaluations: usize,
    /// Log-likelihood at the iterate.
    pub loglik: f64,
    /// Norm of the gradient of −ℓ/n (unconstrained coordinates).
    pub grad_norm: f64,
    /// All parameters (natural scale).
    pub params: Vec<f64>,
}

/// A maximum-likelihood fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MleFit {
    /// Parameter names.
    pub names: Vec<String>,
    /// Estimates (natural scale; fixed parameters at their values).
    pub estimate: Vec<f64>,
    /// Whether each parameter was free.
    pub free: Vec<bool>,
    /// Transform of each parameter.
    pub transforms: Vec<Transform>,
    /// Maximised log-likelihood.
    pub loglik: f64,
    /// Number of observed scalars n.
    pub n_obs: usize,
    /// Number of free parameters k.
    pub n_free: usize,
    /// AIC = 2k − 2ℓ.
    pub aic: f64,
    /// BIC = k ln n − 2ℓ.
    pub bic: f64,
    /// Standard errors (natural scale, delta method); None when fixed or not identifiable.
    pub se: Vec<Option<f64>>,
    /// Lower ends of 95 % intervals (on the transformed scale, mapped back).
    pub ci_low: Vec<Option<f64>>,
    /// Upper ends of 95 % intervals.
    pub ci_high: Vec<Option<f64>>,
    /// Free parameters at the optimum on the unconstrained scale.
    pub z_hat: Vec<f64>,
    /// Covariance of the free unconstrained parameters (column-major, k x k), if the
    /// observed information is positive definite.
    pub cov_z: Option<Vec<f64>>,
    /// Smallest and largest eigenvalue of the observed information (unconstrained scale).
    pub information_eigen_range: Option<(f64, f64)>,
    /// Whether the best start met a tolerance.
    pub converged: bool,
    /// Every start.
    pub starts: Vec<StartReport>,
    /// Index of the best start.
    pub best_start: usize,
    /// Trace of the best start.
    pub trace: Vec<TraceRow>,
}

/// 1.96: the 97.5 % point of the standard normal.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The mapping between the free unconstrained coordinates and all natural parameters.
#[derive(Clone, Debug)]
pub struct ParamMap {
    specs: Vec<ParamSpec>,
    free_idx: Vec<usize>,
}

impl ParamMap {
    /// Checks `specs` against the family's names (same names, same order; valid values).
    pub fn new(names: &[String], specs: &[ParamSpec]) -> Result<Self> {
        if specs.len() != names.len() || specs.iter().zip(names).any(|(s, n)| &s.name != n) {
            return Err(Error::InvalidArgument {
                op: "fit_mle",
                message: format!(
                    "parameters must be given in the order [{}], got [{}]",
                    names.join(", "),
                    specs
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        for s in specs {
            let ok = match s.transform {
                Transform::Log => s.init > 0.0 && s.init.is_finite(),
                Transform::Identity => s.init.is_finite(),
            };
            if !ok {
                return Err(Error::InvalidArgument {
                    op: "fit_mle",
                    message: format!(
                        "starting value of {} is {} (must be finite{})",
                        s.name,
                        s.init,
                        if s.transform == Transform::Log {
                            " and positive"
                        } else {
                            ""
                        }
                    ),
                });
            }
        }
        let free_idx = specs
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.fixed)
            .map(|(i, _)| i)
            .collect();
        Ok(Self {
            specs: specs.to_vec(),
            free_idx,
        })
    }
    /// Number of free parameters.
    pub fn n_free(&self) -> usize {
        self.free_idx.len()
    }
    /// Indices of the free parameters.
    pub fn free_indices(&self) -> &[usize] {
        &self.free_idx
    }
    /// The starting point on the unconstrained scale.
    pub fn z0(&self) -> Vec<f64> {
        self.free_idx
            .iter()
            .map(|&i| self.specs[i].transform.to_unconstrained(self.specs[i].init))
            .collect()
    }
    /// All natural parameters from the free unconstrained ones.
    pub fn theta<R: Real>(&self, z: &[R]) -> Vec<R> {
        let mut th: Vec<R> = self.specs.iter().map(|s| R::from_f64(s.init)).collect();
        for (k, &i) in self.free_idx.iter().enumerate() {
            th[i] = self.specs[i].transform.to_natural(z[k]);
        }
        th
    }
    /// The unconstrained coordinates of natural parameters θ (free ones only).
    pub fn z_of(&self, theta: &[f64]) -> Vec<f64> {
        self.free_idx
            .iter()
            .map(|&i| self.specs[i].transform.to_unconstrained(theta[i]))
            .collect()
    }
}

/// −ℓ(θ(z)) and its gradient in z.
fn neg_loglik_grad<M: ParametricSsm>(
    model: &M,
    map: &ParamMap,
    tape: &mut Tape,
    z: &[f64],
    method: KalmanGradient,
) -> Result<(f64, Vec<f64>)> {
    tape.clear();
    let tape: &Tape = tape;
    let zv = tape.vars(z);
    let th = map.theta(&zv);
    let ssm = model.build(&th)?;
    let ll = kalman_loglik_tape(tape, &ssm, model.observations(), method)?;
    let g = tape.gradient(&ll)?;
    Ok((-ll.val(), zv.iter().map(|v| -g.wrt(v)).collect()))
}

/// The log-likelihood at natural parameters θ (plain `f64`).
pub fn loglik_at<M: ParametricSsm>(model: &M, theta: &[f64]) -> Result<f64> {
    let ssm = model.build(theta)?;
    super::kalman::kalman_loglik(&ssm, model.observations())
}

/// The observed information −∇²_z ℓ at z (k x k, column-major, symmetrised), from k exact
/// Hessian–vector products.
pub fn observed_information<M: ParametricSsm>(
    model: &M,
    map: &ParamMap,
    z: &[f64],
    method: KalmanGradient,
) -> Result<Vec<f64>> {
    let k = z.len();
    let mut h = vec![0.0; k * k];
    for j in 0..k {
        let tape: Tape<Dual> = Tape::with_capacity_generic(4096);
        let zv: Vec<Var<'_, Dual>> = z
            .iter()
            .enumerate()
            .map(|(i, &x)| tape.var(Dual::dual(x, if i == j { 1.0 } else { 0.0 })))
            .collect();
        let th = map.theta(&zv);
        let ssm = model.build(&th)?;
        let ll = kalman_loglik_tape(&tape, &ssm, model.observations(), method)?;
        let adj = tape.gradient(&ll)?;
        for (i, v) in zv.iter().enumerate() {
            h[i + j * k] = -adj.wrt(v).tangent();
        }
    }
    for j in 0..k {
        for i in 0..j {
            let s = 0.5 * (h[i + j * k] + h[j + i * k]);
            h[i + j * k] = s;
            h[j + i * k] = s;
        }
    }
    Ok(h)
}

/// Runs L-BFGS from one start.
fn run_start<M: ParametricSsm>(
    model: &M,
    map: &ParamMap,
    z0: &[f64],
    opts: &FitOptions,
    n_obs: usize,
) -> Result<mechml_engine::optim::OptimResult> {
    let mut tape = Tape::with_capacity(1 << 12);
    let scale = 1.0 / n_obs.max(1) as f64;
    let objective = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
        match neg_loglik_grad(model, map, &mut tape, z, opts.gradient) {
            Ok((v, g)) if v.is_finite() && g.iter().all(|x| x.is_finite()) => {
                Ok((v * scale, g.iter().map(|x| x * scale).collect()))
            }
            // Outside the model's domain (e.g. a non-positive-definite innovation at an
            // extreme trial point): a large value sends the line search back.
            _ => Ok((1e30, vec![0.0; z.len()])),
        }
    };
    let res = lbfgs(objective, z0, &opts.lbfgs)?;
    if res.value >= 1e29 {
        return Err(Error::InvalidArgument {
            op: "fit_mle",
            message: "the likelihood could not be evaluated at the starting point".into(),
        });
    }
    Ok(res)
}

/// Fits by maximum likelihood (see the [module docs](self)). `progress` is called as
/// starts finish (from worker threads).
pub fn fit_mle<M: ParametricSsm>(
    model: &M,
    specs: &[ParamSpec],
    opts: &FitOptions,
    progress: &(dyn Fn(FitProgress) + Sync),
) -> Result<MleFit> {
    let names = model.param_names();
    let map = ParamMap::new(&names, specs)?;
    if opts.n_starts == 0 {
        return Err(Error::InvalidArgument {
            op: "fit_mle",
            message: "n_starts must be at least 1".into(),
        });
    }
    let n_obs = model.observations().n_observed();
    if n_obs == 0 {
        return Err(Error::InvalidArgument {
            op: "fit_mle",
            message: "no observed values: every observation is missing".into(),
        });
    }
    let z0 = map.z0();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
    let starts: Vec<Vec<f64>> = (0..opts.n_starts)
        .map(|s| {
            if s == 0 {
                z0.clone()
            } else {
                z0.iter()
                    .map(|&z| z + opts.start_spread * rng.sample::<f64, _>(StandardNormal))
                    .collect()
            }
        })
        .collect();
    let results: Vec<Result<mechml_engine::optim::OptimResult>> = starts
        .par_iter()
        .enumerate()
        .map(|(i, z)| {
            let r = run_start(model, &map, z, opts, n_obs);
            progress(FitProgress::StartDone {
                index: i,
                loglik: r.as_ref().ok().map(|r| -r.value * n_obs as f64),
            });
            r
        })
        .collect();
    let mut reports = Vec::with_capacity(results.len());
    let mut best: Option<(usize, f64)> = None;
    for (i, (z, r)) in starts.iter().zip(&results).enumerate() {
        let start = map.theta(z);
        match r {
            Ok(res) => {
                let ll = -res.value * n_obs as f64;
                reports.push(StartReport {
                    index: i,
                    start,
                    loglik: Some(ll),
                    iterations: res.iterations,
                    evaluations: res.evaluations,
                    converged: res.converged(),
                    termination: format!("{:?}", res.termination),
                });
                if best.is_none_or(|(_, b)| ll > b) {
                    best = Some((i, ll));
                }
            }
            Err(e) => reports.push(StartReport {
                index: i,
                start,
                loglik: None,
                iterations: 0,
                evaluations: 0,
                converged: false,
                termination: e.to_string(),
            }),
        }
    }
    let Some((bi, _)) = best else {
        let first = reports
            .first()
            .map(|r| r.termination.clone())
            .unwrap_or_default();
        return Err(Error::InvalidArgument {
            op: "fit_mle",
            message: format!("every start failed; the first: {first}"),
        });
    };
    let res = results[bi].as_ref().map_err(Clone::clone)?;
    let z_hat = res.x.clone();
    let estimate = map.theta(&z_hat);
    // Re-evaluate the log-likelihood exactly at the optimum.
    let loglik = loglik_at(model, &estimate)?;
    let k = map.n_free();
    let trace = res
        .trace
        .iter()
        .map(|e| TraceRow {
            iteration: e.iteration,
            evaluations: e.evaluations,
            loglik: -e.value * n_obs as f64,
            grad_norm: e.grad_norm,
            params: if e.params.is_empty() {
                Vec::new()
            } else {
                map.theta(&e.params)
            },
        })
        .collect();
    let mut fit = MleFit {
        names,
        estimate,
        free: specs.iter().map(|s| !s.fixed).collect(),
        transforms: specs.iter().map(|s| s.transform).collect(),
        loglik,
        n_obs,
        n_free: k,
        aic: 2.0 * k as f64 - 2.0 * loglik,
        bic: k as f64 * (n_obs as f64).ln() - 2.0 * loglik,
        se: vec![None; specs.len()],
        ci_low: vec![None; specs.len()],
        ci_high: vec![None; specs.len()],
        z_hat,
        cov_z: None,
        information_eigen_range: None,
        converged: res.converged(),
        starts: reports,
        best_start: bi,
        trace,
    };
    if opts.hessian && k > 0 {
        progress(FitProgress::Hessian);
        let info = observed_information(model, &map, &fit.z_hat, opts.gradient)?;
        attach_covariance(&mut fit, &map, &info);
    }
    Ok(fit)
}

/// Inverts the observed information (if positive definite) and fills the standard errors
/// and intervals.
fn attach_covariance(fit: &mut MleFit, map: &ParamMap, info: &[f64]) {
    let k = map.n_free();
    let m = faer::Mat::<f64>::from_fn(k, k, |i, j| info[i + j * k]);
    if let Ok(ev) = m.self_adjoint_eigenvalues(faer::Side::Lower) {
        let lo = ev.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = ev.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        fit.information_eigen_range = Some((lo, hi));
        if lo.is_nan() || lo <= 1e-12 * hi.abs().max(1e-300) {
            return;
        }
    } else {
        return;
    }
    let mut l = info.to_vec();
    if super::dense::cholesky_in_place(&mut l, k, "observed information").is_err() {
        return;
    }
    let mut cov = vec![0.0; k * k];
    super::dense::chol_inverse_into(&l, k, &mut cov);
    for (a, &i) in map.free_indices().iter().enumerate() {
        let sz = cov[a + a * k].sqrt();
        let z = fit.z_hat[a];
        match fit.transforms[i] {
            Transform::Log => {
                fit.se[i] = Some(fit.estimate[i] * sz);
                fit.ci_low[i] = Some((z - Z95 * sz).exp());
                fit.ci_high[i] = Some((z + Z95 * sz).exp());
            }
            Transform::Identity => {
                fit.se[i] = Some(sz);
                fit.ci_low[i] = Some(z - Z95 * sz);
                fit.ci_high[i] = Some(z + Z95 * sz);
            }
        }
    }
    fit.cov_z = Some(cov);
}

/// A derived quantity's estimate with its delta-method standard error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DerivedEstimate {
    /// g(θ̂).
    pub value: f64,
    /// √(∇_z gᵀ Σ_z ∇_z g), if the covariance is available.
    pub se: Option<f64>,
    /// 95 % interval: on the log scale for positive quantities, else symmetric.
    pub ci: Option<(f64, f64)>,
}

/// g(θ̂) with its standard error by the delta method (exact gradient on the tape).
pub fn delta_method<D: Derived>(
    fit: &MleFit,
    specs: &[ParamSpec],
    g: &D,
) -> Result<DerivedEstimate> {
    let map = ParamMap::new(&fit.names, specs)?;
    let tape = Tape::new();
    let zv = tape.vars(&fit.z_hat);
    let th = map.theta(&zv);
    let v = g.eval(&th)?;
    let grad = tape.gradient(&v)?.wrt_slice(&zv);
    let value = v.val();
    let (se, ci) = match &fit.cov_z {
        Some(cov) => {
            let k = grad.len();
            let mut var = 0.0;
            for j in 0..k {
                for i in 0..k {
                    var += grad[i] * cov[i + j * k] * grad[j];
                }
            }
            let se = var.max(0.0).sqrt();
            let ci = if value > 0.0 {
                let s = se / value;
                (value * (-Z95 * s).exp(), value * (Z95 * s).exp())
            } else {
                (value - Z95 * se, value + Z95 * se)
            };
            (Some(se), Some(ci))
        }
        None => (None, None),
    };
    Ok(DerivedEstimate { value, se, ci })
}

/// `n` parameter vectors (natural scale) drawn from the fit's asymptotic normal law on the
/// unconstrained scale, N(ẑ, Σ_z); the estimate itself when no covariance is available.
pub fn sample_parameters(
    fit: &MleFit,
    specs: &[ParamSpec],
    n: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    let map = ParamMap::new(&fit.names, specs)?;
    let Some(cov) = &fit.cov_z else {
        return Ok(vec![fit.estimate.clone(); n]);
    };
    let k = fit.z_hat.len();
    let mut l = cov.clone();
    super::dense::cholesky_in_place(&mut l, k, "parameter covariance")?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Ok((0..n)
        .map(|_| {
            let e: Vec<f64> = (0..k).map(|_| rng.sample(StandardNormal)).collect();
            let z: Vec<f64> = (0..k)
                .map(|i| fit.z_hat[i] + (0..=i).map(|j| l[i + j * k] * e[j]).sum::<f64>())
                .collect();
            map.theta(&z)
        })
        .collect())
}

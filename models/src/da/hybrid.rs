//! Hybrid data assimilation and machine learning (Brajard, Carrassi, Bocquet & Bertino
//! 2021, Phil. Trans. R. Soc. A 379: 20200086, arXiv:2009.04318; Bocquet, Brajard,
//! Carrassi & Bertino 2020, Found. Data Sci. 2): learn the error of a coarse model from the
//! analyses of an ensemble filter that uses that same model, and iterate.
//!
//! Truth: two-scale Lorenz-96 ([`Lorenz96TwoScale`]); observed:
//! some of the slow variables `X`, with noise. The coarse model is one-scale Lorenz-96 in
//! `X` alone, and the hybrid model corrects its resolvent over one cycle Δt:
//!
//! $$ x_{k+1} = M_c(x_k) + c_θ(x_k),\qquad c_θ(x)_i = θᵀ φ(x_{i−1}, x_i, x_{i+1}), $$
//!
//! a local polynomial shared by all `i` (the model is homogeneous), or (`correction = {
//! kind = "network", … }`) the local neural network of Brajard et al.
//! ([`NetworkCorrection`]: `c_w(x)_i = g_w(x_{i−1}, x_i, x_{i+1})`). Each iteration (their
//! Alg. 1) runs the ETKF over the training period with the current hybrid model, then
//! refits the correction (ridge regression for the polynomial, Adam for the network) on the
//! analysis pairs `(x^a_k, x^a_{k+1} − M_c(x^a_k))`. Skill is the forecast RMSE against the
//! truth on an independent test period, by lead time, for the coarse model alone, the
//! hybrid model, and the same correction fitted on the true states (unavailable in practice:
//! the upper bound of what the analyses can teach).

use faer::Mat;
use mechml_engine::ad::Real;
use mechml_engine::linalg::{Llt, Par};
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::Ensemble;
use super::analysis::{AnalysisScheme, EnsembleFilter, FilterOptions};
use super::dynamics::{Lorenz96, Lorenz96TwoScale, Model, Rk4};
use super::network_correction::{NetworkCorrection, NetworkOptions};
use super::obs::{ObsModel, ObsOperator};
use super::twin::{rmse, stream};

/// A local polynomial correction `c_θ(x)_i = θᵀφ(x_{i−1}, x_i, x_{i+1})` on a ring, with
/// features `1, x_i, …, x_i^degree` and, if `neighbours`, `x_{i−1}, x_{i+1}, x_{i−1}x_{i+1}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolynomialCorrection {
    /// Degree in `x_i`.
    pub degree: usize,
    /// Whether the neighbours enter.
    pub neighbours: bool,
    /// Coefficients θ (length [`n_features`](Self::n_features)).
    pub coef: Vec<f64>,
}

impl PolynomialCorrection {
    /// The zero correction.
    pub fn zero(degree: usize, neighbours: bool) -> Self {
        let mut c = Self {
            degree,
            neighbours,
            coef: Vec::new(),
        };
        c.coef = vec![0.0; c.n_features()];
        c
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.degree + 1 + if self.neighbours { 3 } else { 0 }
    }

    fn features<R: Real>(&self, xm: R, x: R, xp: R, out: &mut [R]) {
        let mut p = R::one();
        for o in out.iter_mut().take(self.degree + 1) {
            *o = p;
            p *= x;
        }
        if self.neighbours {
            let d = self.degree + 1;
            out[d] = xm;
            out[d + 1] = xp;
            out[d + 2] = xm * xp;
        }
    }

    /// `c_θ(x)` added into `out`.
    pub fn add_to<R: Real>(&self, x: &[R], out: &mut [R]) {
        let n = x.len();
        let mut phi = vec![R::zero(); self.n_features()];
        for i in 0..n {
            self.features(x[(i + n - 1) % n], x[i], x[(i + 1) % n], &mut phi);
            let mut s = R::zero();
            for (f, &c) in phi.iter().zip(&self.coef) {
                s += *f * c;
            }
            out[i] += s;
        }
    }

    /// Ridge regression of the targets `z_k` on the features of the states `x_k`, pooled
    /// over all variables: `θ = (ΦᵀΦ + λ·rows·I)^{-1} Φᵀz`.
    pub fn fit(&self, states: &[&[f64]], targets: &[Vec<f64>], ridge: f64) -> Result<Self> {
        let nf = self.n_features();
        let mut ata = Mat::<f64>::zeros(nf, nf);
        let mut atz = vec![0.0; nf];
        let mut phi = vec![0.0; nf];
        let mut rows = 0usize;
        for (x, z) in states.iter().zip(targets) {
            let n = x.len();
            for i in 0..n {
                self.features(x[(i + n - 1) % n], x[i], x[(i + 1) % n], &mut phi);
                for a in 0..nf {
                    atz[a] += phi[a] * z[i];
                    for b in 0..=a {
                        ata[(a, b)] += phi[a] * phi[b];
                    }
                }
                rows += 1;
            }
        }
        if rows == 0 {
            return Err(Error::invalid_option(
                "PolynomialCorrection::fit",
                "states",
                "[]",
                "at least one pair",
            ));
        }
        for a in 0..nf {
            for b in 0..a {
                ata[(b, a)] = ata[(a, b)];
            }
            ata[(a, a)] += ridge * rows as f64;
        }
        let llt = Llt::factor_named("PolynomialCorrection::fit", ata.as_ref(), Par::Seq)?;
        let coef = llt.solve_vec(&atz, Par::Seq);
        Ok(Self {
            coef,
            ..self.clone()
        })
    }
}

/// Which learned correction the hybrid model uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CorrectionKind {
    /// The local polynomial (degree, neighbours and ridge from [`HybridConfig`]).
    #[default]
    Polynomial,
    /// The local network of [`NetworkCorrection`] (Brajard et al. 2021).
    Network(NetworkOptions),
}

/// A learned local correction: a polynomial or a network.
#[derive(Clone, Debug, PartialEq)]
pub enum Correction {
    /// [`PolynomialCorrection`].
    Polynomial(PolynomialCorrection),
    /// [`NetworkCorrection`]; `None` before the first training (the zero correction).
    Network(Option<NetworkCorrection>),
}

impl Correction {
    /// The zero correction of the kind `cfg.correction`.
    pub fn zero(cfg: &HybridConfig) -> Self {
        match cfg.correction {
            CorrectionKind::Polynomial => {
                Self::Polynomial(PolynomialCorrection::zero(cfg.degree, cfg.neighbours))
            }
            CorrectionKind::Network(_) => Self::Network(None),
        }
    }

    /// Fits the same kind to `(states, targets)`.
    pub fn fit(&self, states: &[&[f64]], targets: &[Vec<f64>], cfg: &HybridConfig) -> Result<Self> {
        Ok(match (self, &cfg.correction) {
            (Self::Polynomial(p), _) => Self::Polynomial(p.fit(states, targets, cfg.ridge)?),
            (Self::Network(_), CorrectionKind::Network(o)) => {
                Self::Network(Some(NetworkCorrection::fit(states, targets, o)?))
            }
            (Self::Network(_), CorrectionKind::Polynomial) => {
                return Err(Error::invalid_option(
                    "Correction::fit",
                    "correction",
                    "polynomial",
                    "the kind this correction was built with (network)",
                ));
            }
        })
    }

    /// The fitted parameters (coefficients or network weights).
    pub fn params(&self) -> Vec<f64> {
        match self {
            Self::Polynomial(p) => p.coef.clone(),
            Self::Network(n) => n.as_ref().map_or_else(Vec::new, |n| n.w.clone()),
        }
    }

    /// `c(x)` added into `out`.
    pub fn add_to<R: Real>(&self, x: &[R], out: &mut [R]) {
        match self {
            Self::Polynomial(p) => p.add_to(x, out),
            Self::Network(None) => {}
            Self::Network(Some(c)) => {
                let n = x.len();
                for i in 0..n {
                    out[i] += c.point(x[(i + n - 1) % n], x[i], x[(i + 1) % n]);
                }
            }
        }
    }
}

/// A model plus a resolvent correction: `x ← M(x) + c(x)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Corrected<M> {
    /// The base model.
    pub base: M,
    /// The correction.
    pub correction: Correction,
}

impl<M: Model> Model for Corrected<M> {
    fn n_state(&self) -> usize {
        self.base.n_state()
    }
    fn step_time(&self) -> f64 {
        self.base.step_time()
    }
    fn step<R: Real>(&self, x: &mut [R]) {
        let x0 = x.to_vec();
        self.base.step(x);
        self.correction.add_to(&x0, x);
    }
    fn step_ensemble(&self, e: &mut Ensemble, work: &mut Vec<f64>) {
        let before = e.clone();
        self.base.step_ensemble(e, work);
        let (nm, n) = (e.n_members(), e.n_state());
        let mut phi = Vec::new();
        let mut scratch = Vec::new();
        for i in 0..n {
            let (xm, x, xp) = (
                before.var((i + n - 1) % n),
                before.var(i),
                before.var((i + 1) % n),
            );
            let out = e.var_mut(i);
            for m in 0..nm {
                out[m] += match &self.correction {
                    Correction::Polynomial(c) => {
                        phi.resize(c.n_features(), 0.0);
                        c.features(xm[m], x[m], xp[m], &mut phi);
                        phi.iter().zip(&c.coef).map(|(f, c)| f * c).sum::<f64>()
                    }
                    Correction::Network(None) => 0.0,
                    Correction::Network(Some(c)) => c.point_f64(xm[m], x[m], xp[m], &mut scratch),
                };
            }
        }
    }
}

/// The hybrid experiment's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HybridConfig {
    /// Seed.
    pub seed: u64,
    /// Slow variables K.
    pub k: usize,
    /// Fast variables per slow one J.
    pub j: usize,
    /// Forcing F (truth and coarse model).
    pub forcing: f64,
    /// Coupling h.
    pub h: f64,
    /// b.
    pub b: f64,
    /// c.
    pub c: f64,
    /// RK4 step of the truth.
    pub dt_truth: f64,
    /// RK4 step of the coarse model.
    pub dt_model: f64,
    /// Model time between observations.
    pub dt_obs: f64,
    /// Observe every `obs_every`-th slow variable.
    pub obs_every: usize,
    /// Observation noise standard deviation.
    pub obs_std: f64,
    /// Ensemble size of the ETKF.
    pub members: usize,
    /// Multiplicative inflation of the ETKF.
    pub inflation: f64,
    /// Training cycles.
    pub train_cycles: usize,
    /// Training cycles left out of the fit (filter spin-up).
    pub burn_in: usize,
    /// Assimilation–training iterations.
    pub iterations: usize,
    /// Polynomial degree of the correction in `x_i`.
    pub degree: usize,
    /// Whether the neighbours enter the correction.
    pub neighbours: bool,
    /// Ridge parameter λ.
    pub ridge: f64,
    /// The kind of correction (`kind = "polynomial"`, the default, or `"network"` with
    /// [`NetworkOptions`]).
    #[serde(default)]
    pub correction: CorrectionKind,
    /// Forecasts from this many test initial states …
    pub test_starts: usize,
    /// … spaced this many cycles apart …
    pub test_spacing: usize,
    /// … up to this many cycles ahead.
    pub max_lead: usize,
}

impl Default for HybridConfig {
    /// Two-scale Lorenz-96 with K = 36, J = 10, F = 10, h = 1, b = c = 10 (Brajard et al.
    /// 2021, §3a), half the slow variables observed every 0.05 with unit noise.
    fn default() -> Self {
        Self {
            seed: 2021,
            k: 36,
            j: 10,
            forcing: 10.0,
            h: 1.0,
            b: 10.0,
            c: 10.0,
            dt_truth: 0.005,
            dt_model: 0.01,
            dt_obs: 0.05,
            obs_every: 2,
            obs_std: 1.0,
            members: 30,
            // The coarse model's error needs more inflation than a perfect model: at 1.08
            // the first iteration (no correction yet) diverges.
            inflation: 1.15,
            train_cycles: 3000,
            burn_in: 200,
            iterations: 3,
            degree: 3,
            neighbours: true,
            ridge: 1e-8,
            correction: CorrectionKind::Polynomial,
            test_starts: 50,
            test_spacing: 20,
            max_lead: 20,
        }
    }
}

/// One assimilation–training iteration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HybridIteration {
    /// Time-mean analysis RMSE (after the burn-in) of the ETKF with the model of this
    /// iteration.
    pub analysis_rmse: f64,
    /// The correction fitted on its analyses.
    pub coef: Vec<f64>,
}

/// The results of the hybrid experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HybridResults {
    /// The iterations (the first uses the coarse model alone).
    pub iterations: Vec<HybridIteration>,
    /// The correction fitted on the true states.
    pub truth_coef: Vec<f64>,
    /// Lead times (model time units).
    pub lead_times: Vec<f64>,
    /// Forecast RMSE by lead of the coarse model alone.
    pub rmse_coarse: Vec<f64>,
    /// … of the hybrid model trained on the analyses (last iteration).
    pub rmse_hybrid: Vec<f64>,
    /// … of the same correction trained on the true states.
    pub rmse_truth_trained: Vec<f64>,
    /// Climatological standard deviation of the slow variables (the scale of the RMSE).
    pub climate_std: f64,
}

/// Runs the hybrid experiment (see the [module docs](self)).
pub fn run_hybrid(cfg: &HybridConfig) -> Result<HybridResults> {
    let sub = |dt: f64, what: &str| -> Result<usize> {
        let s = (cfg.dt_obs / dt).round();
        if !(s >= 1.0 && (s * dt - cfg.dt_obs).abs() < 1e-9 * cfg.dt_obs.max(1.0)) {
            return Err(Error::invalid_option(
                "HybridConfig",
                what.to_string(),
                dt,
                "dividing dt_obs",
            ));
        }
        Ok(s as usize)
    };
    let truth_model = Rk4::new(
        Lorenz96TwoScale::new(cfg.k, cfg.j, cfg.forcing, cfg.h, cfg.b, cfg.c)?,
        cfg.dt_truth,
        sub(cfg.dt_truth, "dt_truth")?,
    )?;
    let coarse = Rk4::new(
        Lorenz96::new(cfg.k, cfg.forcing)?,
        cfg.dt_model,
        sub(cfg.dt_model, "dt_model")?,
    )?;
    let obs = ObsModel::new(
        ObsOperator::every_kth(cfg.k, cfg.obs_every, 0)?,
        cfg.obs_std,
    )?;
    if cfg.burn_in + 2 >= cfg.train_cycles {
        return Err(Error::invalid_option(
            "HybridConfig",
            "burn_in",
            cfg.burn_in,
            "< train_cycles − 2",
        ));
    }
    // Truth: spin-up, training period, test period.
    let mut g = stream(cfg.seed, 0);
    let mut x: Vec<f64> = (0..truth_model.n_state())
        .map(|i| {
            let z: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut g);
            if i < cfg.k { cfg.forcing + z } else { 0.1 * z }
        })
        .collect();
    for _ in 0..2000 {
        truth_model.step(&mut x);
    }
    let n_test = cfg.test_starts * cfg.test_spacing + cfg.max_lead;
    let total = cfg.train_cycles + n_test;
    let mut truth = Vec::with_capacity(total + 1);
    truth.push(x[..cfg.k].to_vec());
    for step in 0..total {
        truth_model.step(&mut x);
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                op: "run_hybrid",
                index: i,
                value: x[i],
                context: format!("two-scale truth at cycle {step}: reduce dt_truth"),
            });
        }
        truth.push(x[..cfg.k].to_vec());
    }
    let mut g = stream(cfg.seed, 1);
    let ys = truth[1..=cfg.train_cycles]
        .iter()
        .map(|t| obs.sample(t, &mut g))
        .collect::<Result<Vec<_>>>()?;
    // Assimilation–training iterations.
    if let CorrectionKind::Network(o) = &cfg.correction {
        o.validate()?;
    }
    let mut correction = Correction::zero(cfg);
    let mut iterations = Vec::new();
    for it in 0..cfg.iterations.max(1) {
        let model = Corrected {
            base: coarse.clone(),
            correction: correction.clone(),
        };
        let mut g0 = stream(cfg.seed, 2 + it as u64);
        let ens = Ensemble::gaussian(cfg.members, &truth[0], 1.0, &mut g0)?;
        let opts = FilterOptions::new(AnalysisScheme::Etkf)
            .inflation(cfg.inflation)
            .rotate(true);
        let mut filter = EnsembleFilter::new(ens, opts, cfg.seed ^ (it as u64 + 1))?;
        let mut analyses = Vec::with_capacity(cfg.train_cycles + 1);
        analyses.push(filter.ensemble().mean());
        let mut err = Vec::new();
        for k in 1..=cfg.train_cycles {
            filter.forecast(&model, 0.0)?;
            filter.analyse(&obs, &ys[k - 1])?;
            let m = filter.ensemble().mean();
            if k > cfg.burn_in {
                err.push(rmse(&m, &truth[k]));
            }
            analyses.push(m);
        }
        let (states, targets) = resolvent_pairs(&coarse, &analyses[cfg.burn_in..]);
        correction = correction.fit(&states, &targets, cfg)?;
        iterations.push(HybridIteration {
            analysis_rmse: err.iter().sum::<f64>() / err.len() as f64,
            coef: correction.params(),
        });
    }
    let (states, targets) = resolvent_pairs(&coarse, &truth[cfg.burn_in..=cfg.train_cycles]);
    let truth_corr = Correction::zero(cfg).fit(&states, &targets, cfg)?;
    // Forecast skill on the test period, from the true initial states.
    let test = &truth[cfg.train_cycles..];
    let skill = |m: &dyn Fn(&mut [f64])| -> Vec<f64> {
        let mut acc = vec![0.0; cfg.max_lead];
        for s in 0..cfg.test_starts {
            let k0 = s * cfg.test_spacing;
            let mut xf = test[k0].clone();
            for (lead, a) in acc.iter_mut().enumerate() {
                m(&mut xf);
                *a += rmse(&xf, &test[k0 + lead + 1]) / cfg.test_starts as f64;
            }
        }
        acc
    };
    let hybrid = Corrected {
        base: coarse.clone(),
        correction: correction.clone(),
    };
    let truth_trained = Corrected {
        base: coarse.clone(),
        correction: truth_corr.clone(),
    };
    let rmse_coarse = skill(&|x| coarse.step(x));
    let rmse_hybrid = skill(&|x| hybrid.step(x));
    let rmse_truth_trained = skill(&|x| truth_trained.step(x));
    let all: Vec<f64> = truth.iter().flatten().copied().collect();
    let mu = all.iter().sum::<f64>() / all.len() as f64;
    let climate_std =
        (all.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / all.len() as f64).sqrt();
    Ok(HybridResults {
        iterations,
        truth_coef: truth_corr.params(),
        lead_times: (1..=cfg.max_lead).map(|l| l as f64 * cfg.dt_obs).collect(),
        rmse_coarse,
        rmse_hybrid,
        rmse_truth_trained,
        climate_std,
    })
}

/// The pairs `(x_k, x_{k+1} − M_c(x_k))` of a sequence of states.
fn resolvent_pairs<'a, M: Model>(
    coarse: &M,
    seq: &'a [Vec<f64>],
) -> (Vec<&'a [f64]>, Vec<Vec<f64>>) {
    let mut states = Vec::with_capacity(seq.len());
    let mut targets = Vec::with_capacity(seq.len());
    for w in seq.windows(2) {
        let mut f = w[0].clone();
        coarse.step(&mut f);
        targets.push(w[1].iter().zip(&f).map(|(a, b)| a - b).collect());
        states.push(w[0].as_slice());
    }
    (states, targets)
}

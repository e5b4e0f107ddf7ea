//! The configuration of a twin experiment (serde: TOML or JSON), checked by
//! [`TwinConfig::validate`] before anything runs.

use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::da::analysis::{
    AnalysisScheme, EnkfNOptions, FilterOptions, LetkfOptions, Localization,
};
use crate::da::dynamics::{AnyModel, Lorenz63, Lorenz96, Lorenz96TwoScale, Rk4};
use crate::da::obs::{Nonlinearity, ObsModel, ObsOperator};

/// A twin experiment: a truth model, an observation network, the experiment's lengths and
/// the methods to compare.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwinConfig {
    /// Name of the setting.
    pub name: String,
    /// Seed of every random draw (truth, observations, ensembles, methods).
    pub seed: u64,
    /// The truth model.
    pub model: ModelConfig,
    /// The model the methods assimilate with (default: the truth model; its state must be
    /// the first `n` components of the truth's, e.g. the slow variables of a two-scale
    /// truth).
    #[serde(default)]
    pub assimilation_model: Option<ModelConfig>,
    /// The observations.
    pub observations: ObsConfig,
    /// Lengths and initial conditions.
    pub experiment: ExperimentConfig,
    /// The methods.
    pub methods: Vec<MethodConfig>,
}

/// A model and its time stepping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfig {
    /// One-scale Lorenz-96.
    Lorenz96 {
        /// Number of variables.
        n: usize,
        /// Forcing F.
        forcing: f64,
        /// RK4 step.
        dt: f64,
        /// RK4 steps between observations.
        #[serde(default = "one_usize")]
        substeps: usize,
    },
    /// Two-scale Lorenz-96.
    Lorenz96TwoScale {
        /// Slow variables K.
        k: usize,
        /// Fast variables per slow one J.
        j: usize,
        /// Forcing F.
        forcing: f64,
        /// Coupling h.
        h: f64,
        /// Amplitude ratio b.
        b: f64,
        /// Time-scale ratio c.
        c: f64,
        /// RK4 step.
        dt: f64,
        /// RK4 steps between observations.
        #[serde(default = "one_usize")]
        substeps: usize,
    },
    /// Lorenz-63.
    Lorenz63 {
        /// σ.
        #[serde(default = "sigma63")]
        sigma: f64,
        /// ρ.
        #[serde(default = "rho63")]
        rho: f64,
        /// β.
        #[serde(default = "beta63")]
        beta: f64,
        /// RK4 step.
        dt: f64,
        /// RK4 steps between observations.
        #[serde(default = "one_usize")]
        substeps: usize,
    },
}

fn one_usize() -> usize {
    1
}
fn sigma63() -> f64 {
    10.0
}
fn rho63() -> f64 {
    28.0
}
fn beta63() -> f64 {
    8.0 / 3.0
}

impl ModelConfig {
    /// The model.
    pub fn build(&self) -> Result<AnyModel> {
        Ok(match *self {
            ModelConfig::Lorenz96 {
                n,
                forcing,
                dt,
                substeps,
            } => AnyModel::Lorenz96(Rk4::new(Lorenz96::new(n, forcing)?, dt, substeps)?),
            ModelConfig::Lorenz96TwoScale {
                k,
                j,
                forcing,
                h,
                b,
                c,
                dt,
                substeps,
            } => AnyModel::Lorenz96TwoScale(Rk4::new(
                Lorenz96TwoScale::new(k, j, forcing, h, b, c)?,
                dt,
                substeps,
            )?),
            ModelConfig::Lorenz63 {
                sigma,
                rho,
                beta,
                dt,
                substeps,
            } => AnyModel::Lorenz63(Rk4::new(Lorenz63::new(sigma, rho, beta)?, dt, substeps)?),
        })
    }

    /// A typical state to start a spin-up from: `F` for Lorenz-96 slow variables, 0 for
    /// the fast ones, `(1, 1, 1)` for Lorenz-63 (perturbed by the caller).
    pub fn rest_state(&self) -> Vec<f64> {
        match *self {
            ModelConfig::Lorenz96 { n, forcing, .. } => vec![forcing; n],
            ModelConfig::Lorenz96TwoScale { k, j, forcing, .. } => {
                let mut x = vec![forcing; k];
                x.extend(std::iter::repeat_n(0.0, k * j));
                x
            }
            ModelConfig::Lorenz63 { .. } => vec![1.0; 3],
        }
    }
}

/// The observation network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObsConfig {
    /// The operator.
    pub operator: OperatorConfig,
    /// Standard deviation of the observation noise.
    pub noise_std: f64,
}

/// An observation operator on the assimilated state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OperatorConfig {
    /// Every variable.
    Identity,
    /// Every k-th variable from `offset`.
    Every {
        /// Stride.
        k: usize,
        /// First observed variable.
        #[serde(default)]
        offset: usize,
    },
    /// A list of variables.
    Subset {
        /// Observed variables.
        indices: Vec<usize>,
    },
    /// `g(x_i)` on every k-th variable.
    Nonlinear {
        /// The nonlinearity.
        func: Nonlinearity,
        /// Stride.
        #[serde(default = "one_usize")]
        k: usize,
    },
}

impl ObsConfig {
    /// The observation model on a state of dimension `n`.
    pub fn build(&self, n: usize) -> Result<ObsModel> {
        let op = match &self.operator {
            OperatorConfig::Identity => ObsOperator::identity(n),
            OperatorConfig::Every { k, offset } => ObsOperator::every_kth(n, *k, *offset)?,
            OperatorConfig::Subset { indices } => ObsOperator::subset(n, indices.clone())?,
            OperatorConfig::Nonlinear { func, k } => {
                let idx = ObsOperator::every_kth(n, *k, 0)?.locations().to_vec();
                ObsOperator::nonlinear(n, idx, *func)?
            }
        };
        if !(self.noise_std.is_finite() && self.noise_std > 0.0) {
            return Err(Error::invalid_option(
                "ObsConfig",
                "noise_std",
                self.noise_std,
                "finite and > 0",
            ));
        }
        ObsModel::new(op, self.noise_std)
    }
}

/// Lengths and initial conditions of the experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Assimilation cycles (observations).
    pub cycles: usize,
    /// Cycles left out of the time means and rank histograms.
    pub burn_in: usize,
    /// Model steps from the rest state (perturbed) to the truth's initial state.
    #[serde(default = "default_spinup")]
    pub spinup: usize,
    /// Standard deviation of the initial ensemble (and initial estimate) around the truth.
    #[serde(default = "one_f64")]
    pub init_std: f64,
    /// Standard deviation of additive model noise on the truth per step (0: perfect
    /// model); ensemble members get the same noise in their forecasts.
    #[serde(default)]
    pub model_noise_std: f64,
    /// Steps of the free run the climatology (mean, covariance) is estimated from.
    #[serde(default = "default_clim")]
    pub climatology_steps: usize,
    /// Cycles of truth and analysis fields kept for Hovmöller diagrams (from cycle 1).
    #[serde(default)]
    pub record_fields: usize,
}

fn default_spinup() -> usize {
    1000
}
fn default_clim() -> usize {
    20_000
}
fn one_f64() -> f64 {
    1.0
}

/// The methods a twin experiment can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// Climatological mean.
    Climatology,
    /// Optimal interpolation.
    OptimalInterpolation,
    /// 3D-Var.
    Var3d,
    /// Extended Kalman filter.
    Ekf,
    /// Stochastic EnKF.
    Enkf,
    /// DEnKF.
    Denkf,
    /// ETKF.
    Etkf,
    /// Serial EnSRF.
    SerialEnkf,
    /// EnKF-N.
    EnkfN,
    /// LETKF.
    Letkf,
    /// Ensemble Kalman smoother (on the ETKF).
    Enks,
    /// Cycled 4D-Var.
    Var4d,
}

impl MethodKind {
    /// The method's name as written in a configuration file (snake case).
    pub fn name(self) -> &'static str {
        use MethodKind::*;
        match self {
            Climatology => "climatology",
            OptimalInterpolation => "optimal_interpolation",
            Var3d => "var3d",
            Ekf => "ekf",
            Enkf => "enkf",
            Denkf => "denkf",
            Etkf => "etkf",
            SerialEnkf => "serial_enkf",
            EnkfN => "enkf_n",
            Letkf => "letkf",
            Enks => "enks",
            Var4d => "var4d",
        }
    }
}

/// One method and its settings. Fields that a method does not use must be left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodConfig {
    /// The method.
    pub method: MethodKind,
    /// Label in reports (default: derived from the settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Ensemble size N (ensemble methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<usize>,
    /// Multiplicative inflation (ensemble methods: of the anomalies; EKF: of the forecast
    /// covariance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inflation: Option<f64>,
    /// Additive inflation standard deviation (ensemble methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additive_std: Option<f64>,
    /// Random mean-preserving rotations (ensemble filters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<bool>,
    /// Localisation radius (LETKF), grid points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius: Option<f64>,
    /// Scale s of the climatological covariance used as B (3D-Var, 4D-Var; OI uses 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_scale: Option<f64>,
    /// Lag in cycles (EnKS) or window length (4D-Var).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<usize>,
    /// Outer loops (4D-Var).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outer_loops: Option<usize>,
}

impl MethodConfig {
    /// A method with no settings.
    pub fn new(method: MethodKind) -> Self {
        Self {
            method,
            label: None,
            members: None,
            inflation: None,
            additive_std: None,
            rotate: None,
            radius: None,
            b_scale: None,
            lag: None,
            outer_loops: None,
        }
    }

    /// Which settings the method takes (the rest must be absent).
    fn allowed(&self) -> &'static [&'static str] {
        use MethodKind::*;
        match self.method {
            Climatology | OptimalInterpolation => &[],
            Var3d => &["b_scale"],
            Ekf => &["inflation"],
            Enkf | Denkf | Etkf | SerialEnkf | EnkfN => {
                &["members", "inflation", "additive_std", "rotate"]
            }
            Letkf => &["members", "inflation", "additive_std", "rotate", "radius"],
            Enks => &["members", "inflation", "additive_std", "lag"],
            Var4d => &["b_scale", "lag", "outer_loops"],
        }
    }

    fn required(&self) -> &'static [&'static str] {
        use MethodKind::*;
        match self.method {
            Enkf | Denkf | Etkf | SerialEnkf | EnkfN | Enks => &["members"],
            Letkf => &["members", "radius"],
            Var3d => &["b_scale"],
            Var4d => &["b_scale", "lag"],
            _ => &[],
        }
    }

    fn present(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let fields: [(&str, bool); 8] = [
            ("members", self.members.is_some()),
            ("inflation", self.inflation.is_some()),
            ("additive_std", self.additive_std.is_some()),
            ("rotate", self.rotate.is_some()),
            ("radius", self.radius.is_some()),
            ("b_scale", self.b_scale.is_some()),
            ("lag", self.lag.is_some()),
            ("outer_loops", self.outer_loops.is_some()),
        ];
        for (name, on) in fields {
            if on {
                v.push(name);
            }
        }
        v
    }

    /// Checks that the settings fit the method and have valid values.
    pub fn validate(&self) -> Result<()> {
        let op = "MethodConfig";
        let kind = self.method.name();
        for name in self.present() {
            if !self.allowed().contains(&name) {
                return Err(Error::invalid_option(
                    op,
                    name,
                    format!("set for method {kind}"),
                    format!("only {:?} for this method", self.allowed()),
                ));
            }
        }
        for name in self.required() {
            if !self.present().contains(name) {
                return Err(Error::invalid_option(
                    op,
                    *name,
                    "missing",
                    format!("required by method {kind}"),
                ));
            }
        }
        if let Some(n) = self.members
            && n < 2
        {
            return Err(Error::invalid_option(op, "members", n, ">= 2"));
        }
        for (name, v) in [("inflation", self.inflation), ("b_scale", self.b_scale)] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return Err(Error::invalid_option(op, name, v, "finite and > 0"));
            }
        }
        if let Some(v) = self.additive_std
            && !(v.is_finite() && v >= 0.0)
        {
            return Err(Error::invalid_option(
                op,
                "additive_std",
                v,
                "finite and >= 0",
            ));
        }
        if let Some(r) = self.radius
            && (r.is_nan() || r <= 0.0)
        {
            return Err(Error::invalid_option(op, "radius", r, "> 0"));
        }
        if self.method == MethodKind::Var4d && self.lag == Some(0) {
            return Err(Error::invalid_option(op, "lag", 0, ">= 1"));
        }
        if self.outer_loops == Some(0) {
            return Err(Error::invalid_option(op, "outer_loops", 0, ">= 1"));
        }
        Ok(())
    }

    /// The filter options of an ensemble filter method (`None` for the others).
    pub fn filter_options(&self) -> Option<FilterOptions> {
        use MethodKind::*;
        let scheme = match self.method {
            Enkf => AnalysisScheme::Stochastic { centred: true },
            Denkf => AnalysisScheme::Denkf,
            Etkf | Enks => AnalysisScheme::Etkf,
            SerialEnkf => AnalysisScheme::Serial,
            EnkfN => AnalysisScheme::EnkfN(EnkfNOptions::default()),
            Letkf => AnalysisScheme::Letkf(LetkfOptions {
                localization: Localization::new(self.radius.unwrap_or(f64::INFINITY)),
            }),
            _ => return None,
        };
        Some(FilterOptions {
            scheme,
            inflation: self.inflation.unwrap_or(1.0),
            additive_std: self.additive_std.unwrap_or(0.0),
            rotate: self.rotate.unwrap_or(false),
        })
    }

    /// The label: the one given, or e.g. `"etkf N=24 infl=1.02 rot"`.
    pub fn display_label(&self) -> String {
        if let Some(l) = &self.label {
            return l.clone();
        }
        let mut s = self.method.name().to_string();
        if let Some(n) = self.members {
            s += &format!(" N={n}");
        }
        if let Some(r) = self.radius {
            s += &format!(" r={r}");
        }
        if let Some(v) = self.inflation {
            s += &format!(" infl={v}");
        }
        if let Some(v) = self.b_scale {
            s += &format!(" xB={v}");
        }
        if let Some(v) = self.lag {
            s += &format!(" L={v}");
        }
        if self.rotate == Some(true) {
            s += " rot";
        }
        s
    }
}

impl TwinConfig {
    /// Checks every part: models, observations, lengths, methods.
    pub fn validate(&self) -> Result<()> {
        let truth = self.model.build()?;
        let da = match &self.assimilation_model {
            Some(m) => m.build()?,
            None => truth.clone(),
        };
        use crate::da::dynamics::Model;
        if da.n_state() > truth.n_state() {
            return Err(Error::invalid_option(
                "TwinConfig",
                "assimilation_model",
                format!("state dimension {}", da.n_state()),
                format!("<= the truth's {}", truth.n_state()),
            ));
        }
        self.observations.build(da.n_state())?;
        let e = &self.experiment;
        if e.cycles == 0 || e.burn_in >= e.cycles {
            return Err(Error::invalid_option(
                "ExperimentConfig",
                "cycles / burn_in",
                format!("{} / {}", e.cycles, e.burn_in),
                "cycles > burn_in",
            ));
        }
        if !(e.init_std.is_finite() && e.init_std >= 0.0) {
            return Err(Error::invalid_option(
                "ExperimentConfig",
                "init_std",
                e.init_std,
                "finite and >= 0",
            ));
        }
        if !(e.model_noise_std.is_finite() && e.model_noise_std >= 0.0) {
            return Err(Error::invalid_option(
                "ExperimentConfig",
                "model_noise_std",
                e.model_noise_std,
                "finite and >= 0",
            ));
        }
        if e.climatology_steps < 2 {
            return Err(Error::invalid_option(
                "ExperimentConfig",
                "climatology_steps",
                e.climatology_steps,
                ">= 2",
            ));
        }
        if self.methods.is_empty() {
            return Err(Error::invalid_option(
                "TwinConfig",
                "methods",
                "[]",
                "at least one method",
            ));
        }
        for m in &self.methods {
            m.validate()?;
        }
        Ok(())
    }
}

//! Options of a GP emulator: kernel, mean, nugget, objective, hyperpriors, restarts.

use mechml_engine::infer::Prior;
use mechml_engine::optim::FitOptions;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::kernel::KernelFamily;
use super::mean::MeanFunction;

/// The nugget: a variance added to the diagonal of the training covariance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Nugget {
    /// A fixed variance (0: interpolation, with jitter only if the factorisation needs
    /// it, reported in the fit).
    Fixed(f64),
    /// A fitted variance (parameter `nugget`), for simulators with noise or numerical
    /// roughness (Andrianakis & Challenor 2012, CSDA 56). The default.
    #[default]
    Fitted,
    /// Known variances, one per training point: the variance of each point's output (for
    /// a stochastic simulator, the sample variance of its replicates over their number:
    /// stochastic kriging, Ankenman, Nelson & Staum 2010, Oper. Res. 58(2)), with the
    /// replicates' means as the outputs.
    Known(Vec<f64>),
}

/// What the hyperparameters maximise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// The log likelihood with `β` profiled out by GLS (type-II maximum likelihood).
    #[default]
    Ml,
    /// The restricted likelihood: `β` integrated out under a flat prior (Patterson &
    /// Thompson 1971; Harville 1977), less biased for the variance with few runs.
    Reml,
}

/// A prior on one hyperparameter (by name, or a group: `lengthscale` for every
/// `lengthscale[i]`); the fit then maximises the log posterior (MAP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HyperPrior {
    /// Parameter name or group (`variance`, `lengthscale`, `lengthscale[2]`, `nugget`).
    pub name: String,
    /// Its prior on the natural scale.
    pub prior: Prior,
}

/// Options of [`GpEmulator::fit`](super::GpEmulator::fit).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmulatorOptions {
    /// Covariance function (ARD).
    pub kernel: KernelFamily,
    /// Mean function.
    pub mean: MeanFunction,
    /// Nugget.
    pub nugget: Nugget,
    /// ML or REML.
    pub objective: Objective,
    /// Hyperpriors (MAP); empty: maximum likelihood.
    pub priors: Vec<HyperPrior>,
    /// L-BFGS settings, fixed parameters, restarts (`n_starts`, `start_spread` on the log
    /// scale, `seed`).
    #[serde(skip, default = "default_fit")]
    pub fit: FitOptions,
}

fn default_fit() -> FitOptions {
    FitOptions::default().with_starts(5, 1.0, 0)
}

impl Default for EmulatorOptions {
    /// Squared exponential, constant mean, fitted nugget, ML, no priors, 5 starts.
    fn default() -> Self {
        Self {
            kernel: KernelFamily::SquaredExponential,
            mean: MeanFunction::Constant,
            nugget: Nugget::Fitted,
            objective: Objective::Ml,
            priors: Vec::new(),
            fit: default_fit(),
        }
    }
}

impl EmulatorOptions {
    /// Checks the nugget and the priors (the fit options are checked by the fit).
    pub fn validate(&self, n: usize) -> Result<()> {
        match &self.nugget {
            Nugget::Fixed(v) if !(v.is_finite() && *v >= 0.0) => {
                return Err(Error::invalid_option(
                    "EmulatorOptions",
                    "nugget",
                    v,
                    "finite and ≥ 0",
                ));
            }
            Nugget::Known(v) => {
                if v.len() != n {
                    return Err(Error::ShapeMismatch {
                        op: "EmulatorOptions",
                        arg: "nugget",
                        expected: format!("len {n} (one variance per run)"),
                        found: format!("len {}", v.len()),
                    });
                }
                if let Some(i) = v.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
                    return Err(Error::invalid_option(
                        "EmulatorOptions",
                        format!("nugget[{i}]"),
                        v[i],
                        "finite and ≥ 0",
                    ));
                }
            }
            _ => {}
        }
        for p in &self.priors {
            p.prior.validate(&p.name)?;
        }
        Ok(())
    }

    /// The same options with a fixed nugget.
    pub fn with_nugget(mut self, nugget: Nugget) -> Self {
        self.nugget = nugget;
        self
    }

    /// The same options with another kernel.
    pub fn with_kernel(mut self, kernel: KernelFamily) -> Self {
        self.kernel = kernel;
        self
    }

    /// The same options with another mean.
    pub fn with_mean(mut self, mean: MeanFunction) -> Self {
        self.mean = mean;
        self
    }
}

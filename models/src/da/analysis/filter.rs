//! An ensemble filter: forecast with a [`Model`], analyse with one of the
//! [`AnalysisScheme`]s, then inflate and optionally rotate.

use faer::{Mat, Par};
use mechml_engine::{Error, Result};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::AnalysisScheme;
use super::letkf::Letkf;
use super::transform::{self, AnalysisInput};
use crate::da::Ensemble;
use crate::da::dynamics::Model;
use crate::da::obs::ObsModel;

/// The analysis scheme and the treatments applied after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterOptions {
    /// The analysis update.
    pub scheme: AnalysisScheme,
    /// Multiplicative inflation λ of the analysis anomalies (`A ← λA`; 1 = none).
    #[serde(default = "one")]
    pub inflation: f64,
    /// Standard deviation of the additive inflation noise added to every analysis member
    /// (0 = none).
    #[serde(default)]
    pub additive_std: f64,
    /// Rotate the analysis anomalies by a random mean-preserving orthogonal matrix.
    #[serde(default)]
    pub rotate: bool,
}

fn one() -> f64 {
    1.0
}

impl FilterOptions {
    /// The scheme with no inflation and no rotation.
    pub fn new(scheme: AnalysisScheme) -> Self {
        Self {
            scheme,
            inflation: 1.0,
            additive_std: 0.0,
            rotate: false,
        }
    }
    /// With multiplicative inflation λ.
    pub fn inflation(mut self, lambda: f64) -> Self {
        self.inflation = lambda;
        self
    }
    /// With random rotations.
    pub fn rotate(mut self, on: bool) -> Self {
        self.rotate = on;
        self
    }

    /// Checks λ > 0 finite and σ ≥ 0 finite.
    pub fn validate(&self) -> Result<()> {
        if !(self.inflation.is_finite() && self.inflation > 0.0) {
            return Err(Error::invalid_option(
                "FilterOptions",
                "inflation",
                self.inflation,
                "finite and > 0",
            ));
        }
        if !(self.additive_std.is_finite() && self.additive_std >= 0.0) {
            return Err(Error::invalid_option(
                "FilterOptions",
                "additive_std",
                self.additive_std,
                "finite and >= 0",
            ));
        }
        if let AnalysisScheme::Letkf(o) = &self.scheme {
            o.localization.validate()?;
        }
        Ok(())
    }
}

/// What one analysis did.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisInfo {
    /// The `N × N` transform `E_a = G E` of a global scheme, before inflation and
    /// rotation (`None` for the LETKF).
    pub transform: Option<Mat<f64>>,
    /// The inflation `√(N₁/ζ*)` estimated by the EnKF-N.
    pub enkf_n_inflation: Option<f64>,
    /// Mean number of observations per local analysis (LETKF).
    pub mean_local_obs: Option<f64>,
}

/// An ensemble filter: the ensemble, the options and the random stream of its draws
/// (perturbed observations, additive noise, rotations, model noise).
#[derive(Clone, Debug)]
pub struct EnsembleFilter {
    ensemble: Ensemble,
    options: FilterOptions,
    letkf: Option<Letkf>,
    rng: Xoshiro256PlusPlus,
    work: Vec<f64>,
    par: Par,
}

impl EnsembleFilter {
    /// A filter starting from `ensemble` (at least 2 members), drawing from a stream seeded
    /// with `seed`; local analyses run sequentially until [`with_par`](Self::with_par).
    pub fn new(ensemble: Ensemble, options: FilterOptions, seed: u64) -> Result<Self> {
        options.validate()?;
        if ensemble.n_members() < 2 {
            return Err(Error::invalid_option(
                "EnsembleFilter",
                "n_members",
                ensemble.n_members(),
                "at least 2",
            ));
        }
        let letkf = match &options.scheme {
            AnalysisScheme::Letkf(o) => Some(Letkf::new(o.clone())?),
            _ => None,
        };
        Ok(Self {
            ensemble,
            options,
            letkf,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            work: Vec::new(),
            par: Par::Seq,
        })
    }

    /// Runs local analyses on the caller's rayon pool (`Par::Rayon`) or sequentially
    /// (`Par::Seq`); the results are the same bitwise.
    pub fn with_par(mut self, par: Par) -> Self {
        self.par = par;
        self
    }

    /// The current ensemble.
    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }
    /// The current ensemble, mutable.
    pub fn ensemble_mut(&mut self) -> &mut Ensemble {
        &mut self.ensemble
    }
    /// The options.
    pub fn options(&self) -> &FilterOptions {
        &self.options
    }

    /// Advances every member by one model step and adds `N(0, noise_std²)` model noise to
    /// each entry (0 for a perfect model).
    pub fn forecast<M: Model + ?Sized>(&mut self, model: &M, noise_std: f64) -> Result<()> {
        if model.n_state() != self.ensemble.n_state() {
            return Err(Error::ShapeMismatch {
                op: "EnsembleFilter::forecast",
                arg: "model",
                expected: format!("state dimension {}", self.ensemble.n_state()),
                found: format!("{}", model.n_state()),
            });
        }
        model.step_ensemble(&mut self.ensemble, &mut self.work);
        self.ensemble.add_noise(noise_std, &mut self.rng);
        check_finite(
            &self.ensemble,
            "EnsembleFilter::forecast",
            "forecast ensemble",
        )
    }

    /// Assimilates the observation `y` of the model `obs`.
    pub fn analyse(&mut self, obs: &ObsModel, y: &[f64]) -> Result<AnalysisInfo> {
        obs.check_y(y, "EnsembleFilter::analyse")?;
        let observed = obs.operator.apply_ensemble(&self.ensemble)?;
        let input = AnalysisInput {
            observed: &observed,
            y,
            noise_var: &obs.noise_var,
        };
        let mut info = AnalysisInfo {
            transform: None,
            enkf_n_inflation: None,
            mean_local_obs: None,
        };
        match &self.options.scheme {
            AnalysisScheme::Letkf(_) => {
                let letkf = self.letkf.as_mut().expect("built with the scheme");
                let li = letkf.analyse(
                    &mut self.ensemble,
                    &input,
                    obs.operator.locations(),
                    self.par,
                )?;
                info.mean_local_obs = Some(li.mean_local_obs);
            }
            scheme => {
                let g = match scheme {
                    AnalysisScheme::Stochastic { centred } => {
                        transform::stochastic_transform(&input, *centred, &mut self.rng)?
                    }
                    AnalysisScheme::Denkf => transform::denkf_transform(&input)?,
                    AnalysisScheme::Etkf => transform::etkf_transform(&input)?,
                    AnalysisScheme::Serial => transform::serial_transform(&input)?,
                    AnalysisScheme::EnkfN(o) => {
                        let (g, lambda) = transform::enkf_n_transform(&input, o)?;
                        info.enkf_n_inflation = Some(lambda);
                        g
                    }
                    AnalysisScheme::Letkf(_) => unreachable!("handled above"),
                };
                self.ensemble.transform(g.as_ref())?;
                info.transform = Some(g);
            }
        }
        self.ensemble.inflate(self.options.inflation);
        self.ensemble
            .add_noise(self.options.additive_std, &mut self.rng);
        if self.options.rotate {
            self.ensemble.rotate(&mut self.rng)?;
        }
        check_finite(
            &self.ensemble,
            "EnsembleFilter::analyse",
            "analysis ensemble",
        )?;
        Ok(info)
    }
}

/// The first non-finite entry of an ensemble as an error.
pub(crate) fn check_finite(e: &Ensemble, op: &'static str, what: &str) -> Result<()> {
    match e.data().iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(k) => Err(Error::NonFinite {
            op,
            index: k / e.n_members(),
            value: e.data()[k],
            context: format!(
                "{what}, member {} (the model or the filter diverged: check dt, the \
                 inflation and the observation errors)",
                k % e.n_members()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::da::obs::ObsOperator;

    #[test]
    fn rotation_keeps_the_analysis_mean_and_covariance() {
        // The rotation acts on the members (left of the N × n ensemble), after the
        // analysis and the inflation: the analysis mean and covariance are those of the
        // unrotated filter, the members differ.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
        let e = Ensemble::gaussian(6, &[0.3, -1.0, 2.0, 0.5], 1.0, &mut rng).unwrap();
        let obs = ObsModel::new(ObsOperator::identity(4), 0.5).unwrap();
        let y = [0.1, -0.7, 1.5, 0.9];
        let opts = FilterOptions::new(AnalysisScheme::Etkf).inflation(1.1);
        let mut plain = EnsembleFilter::new(e.clone(), opts.clone(), 1).unwrap();
        let mut rotated = EnsembleFilter::new(e, opts.rotate(true), 1).unwrap();
        plain.analyse(&obs, &y).unwrap();
        rotated.analyse(&obs, &y).unwrap();
        let (a, b) = (plain.ensemble(), rotated.ensemble());
        assert!(a.data() != b.data());
        let (ca, cb) = (a.covariance().unwrap(), b.covariance().unwrap());
        for (i, (ma, mb)) in a.mean().iter().zip(b.mean()).enumerate() {
            assert!((ma - mb).abs() < 1e-12);
            for j in 0..4 {
                assert!((ca[(i, j)] - cb[(i, j)]).abs() < 1e-12);
            }
        }
    }
}

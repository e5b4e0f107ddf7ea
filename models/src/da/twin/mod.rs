//! Twin experiments (identical-twin observing-system simulation experiments): a truth run
//! of a model, synthetic observations of it with known noise, and each method assimilating
//! them from a perturbed start, all from one seed; scored by the RMSE of the estimate
//! against the truth, the spread (the method's own error estimate; a reliable method has
//! spread ≈ RMSE), and verification rank histograms (Anderson 1996, J. Climate 9; Hamill
//! 2001, MWR 129).
//!
//! Time means leave out the first `burn_in` cycles; the RMSE of a cycle is
//! `sqrt(mean_i (x̂_i − x_i)²)` and its time mean is the mean of these (as in Sakov & Oke
//! 2008 and DAPPER).
//!
//! ```
//! use mechml_models::da::twin::{
//!     ExperimentConfig, MethodConfig, MethodKind, ModelConfig, ObsConfig, OperatorConfig,
//!     TwinConfig, run_twin,
//! };
//! let mut etkf = MethodConfig::new(MethodKind::Etkf);
//! etkf.members = Some(20);
//! etkf.inflation = Some(1.04);
//! let cfg = TwinConfig {
//!     name: "l96 small".into(),
//!     seed: 1,
//!     model: ModelConfig::Lorenz96 { n: 20, forcing: 8.0, dt: 0.05, substeps: 1 },
//!     assimilation_model: None,
//!     observations: ObsConfig { operator: OperatorConfig::Identity, noise_std: 1.0 },
//!     experiment: ExperimentConfig {
//!         cycles: 300, burn_in: 100, spinup: 500, init_std: 1.0, model_noise_std: 0.0,
//!         climatology_steps: 2000, record_fields: 0,
//!     },
//!     methods: vec![etkf, MethodConfig::new(MethodKind::Climatology)],
//! };
//! let res = run_twin(&cfg, faer::Par::Seq)?;
//! let (etkf, clim) = (&res.methods[0].summary, &res.methods[1].summary);
//! assert!(etkf.rmse_analysis < 0.4 && clim.rmse_analysis > 3.0);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod config;
mod results;
mod run;

pub use config::{
    ExperimentConfig, MethodConfig, MethodKind, ModelConfig, ObsConfig, OperatorConfig, TwinConfig,
};
pub use results::{
    Diagnostics, Field, MethodResult, Series, Summary, TwinResults, mean_after, rank_of, rmse,
};
pub use run::{Setting, normals, run_method, run_twin, stream};

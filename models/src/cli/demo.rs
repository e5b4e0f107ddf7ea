//! The embedded default of `mechml demo`: HadCRUT5 annual GMST (1850–2022) and the RCP
//! effective radiative forcing (total including volcanic), compiled into the program,
//! with the default configuration.

use super::config::{
    BayesSection, ConfigFile, ConfigSource, DataSection, FitSection, ModelSection,
    ProjectionSection, Resolved, SyntheticSection, resolve,
};
use super::error::CliResult;

/// HadCRUT5 annual global-mean temperature anomalies (see `models/data/`).
pub const HADCRUT5_CSV: &str = include_str!("../../data/hadcrut5_gmst_annual.csv");
/// RCP effective radiative forcing (see `models/data/`).
pub const RCP_FORCING_CSV: &str = include_str!("../../data/rcp_radiative_forcing.csv");
/// CMIP5 TCR and ECS (see `models/data/`).
pub const CMIP5_CSV: &str = include_str!("../../data/cmip5_tcr_ecs.csv");

/// The demo's configuration (also a template for `mechml run`).
pub fn config() -> ConfigFile {
    ConfigFile {
        title: "Stochastic energy-balance models fitted to HadCRUT5 (1850–2022)".into(),
        data: DataSection {
            temperature: "hadcrut5_gmst_annual.csv".into(),
            time_column: "year".into(),
            value_column: "gmst_anomaly_degC".into(),
            lower_column: Some("lower_95_degC".into()),
            upper_column: Some("upper_95_degC".into()),
            forcing: "rcp_radiative_forcing.csv".into(),
            forcing_time_column: "year".into(),
            forcing_value_column: "total_inclvolcanic_rf_wm2".into(),
            forcing_scenario_column: Some("scenario".into()),
            historical_scenario: Some("rcp45".into()),
            start: None,
        },
        model: ModelSection::default(),
        fit: FitSection::default(),
        projection: ProjectionSection {
            scenarios: Some(
                ["rcp26", "rcp45", "rcp60", "rcp85"]
                    .map(String::from)
                    .to_vec(),
            ),
            end: Some(2100.0),
            ..ProjectionSection::default()
        },
        synthetic: SyntheticSection::default(),
        bayes: BayesSection::default(),
    }
}

/// The demo's configuration resolved against the embedded data.
pub fn resolved() -> CliResult<Resolved> {
    resolve(
        config(),
        &ConfigSource::embedded("demo configuration (embedded)"),
        ("hadcrut5_gmst_annual.csv (embedded)", HADCRUT5_CSV),
        ("rcp_radiative_forcing.csv (embedded)", RCP_FORCING_CSV),
    )
}

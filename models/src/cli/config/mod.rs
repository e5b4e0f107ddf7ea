//! The configuration file of `mechml run` (TOML) and its resolution into the data and
//! settings of the pipeline, one job per file:
//!
//! * `schema`: the file's sections, keys and defaults ([`ConfigFile`]; serde);
//! * `source`: parsing, with errors located at the file, line and column of the setting
//!   ([`parse_config`], [`ConfigSource`]);
//! * `validate`: the checks of the settings that do not depend on the data;
//! * `resolve`: reading the data files and checking the configuration against them
//!   ([`load`], [`resolve`] → [`Resolved`]);
//! * `options`: the resolved configuration as the engine's inputs (the EBM data of a
//!   scenario, the parameters and their starts, the fit options, the prior).
//!
//! ```toml
//! title = "HadCRUT5 and RCP forcing"
//!
//! [data]
//! temperature = "hadcrut5_gmst_annual.csv"   # relative to this file
//! time_column = "year"
//! value_column = "gmst_anomaly_degC"
//! lower_column = "lower_95_degC"             # optional 95 % interval: known noise
//! upper_column = "upper_95_degC"
//! forcing = "rcp_radiative_forcing.csv"
//! forcing_value_column = "total_inclvolcanic_rf_wm2"
//! forcing_scenario_column = "scenario"       # optional (long format)
//! historical_scenario = "rcp45"
//!
//! [model]
//! boxes = [2, 3]
//!
//! [projection]
//! scenarios = ["rcp26", "rcp45", "rcp60", "rcp85"]
//! end = 2100
//! ```

mod options;
mod resolve;
mod schema;
mod source;
mod validate;

pub use resolve::{
    FORCING_RANGE, MIN_OBSERVATIONS, MIN_OBSERVATIONS_PER_PARAMETER, TEMPERATURE_RANGE, YEAR_RANGE,
};
pub use resolve::{Resolved, Series, TemperatureRecord, load, resolve};
pub use schema::{
    BayesSection, ConfigFile, DataSection, FitSection, ModelSection, ProjectionSection,
    SyntheticSection,
};
pub use source::{ConfigSource, parse_config};
pub use validate::{
    MAX_CHAINS, MAX_ENSEMBLE, MAX_FIT_STARTS, MAX_ITERS, MAX_NUTS_ITERATIONS, MAX_REPLICATES,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_example_equals_the_demo_configuration() {
        let text = include_str!("../../../data/example.toml");
        let cfg = parse_config("example.toml", text).unwrap();
        assert_eq!(cfg, crate::cli::demo::config());
    }

    #[test]
    fn toml_errors_carry_line_and_column() {
        let e = parse_config("c.toml", "[data]\ntemperature = \"t.csv\"\nbogus = 1\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.toml:3:1: invalid configuration"),
            "{e}"
        );
    }
}

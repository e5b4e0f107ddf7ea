//! The flagship emulation study: the two-box energy-balance model over 1850–2022 under
//! historical forcing as an "expensive simulator" — a maximin design over its physical
//! parameters, a PCA emulator of the simulated temperature record, history matching
//! against HadCRUT5 in waves, Kennedy–O'Hagan calibration with a GP discrepancy by NUTS,
//! and Sobol' indices of the simulated recent warming ([`run_study`], configured by
//! [`StudyConfig`], e.g. `models/data/emulate_ebm.toml`); optionally the direct
//! Kalman-filter posterior of the same model beside the calibrated one
//! ([`KalmanComparison`]).

pub mod data;
mod kalman;
mod simulator;
mod study;

pub use kalman::{CompareConfig, ComparisonRow, KalmanComparison, MAX_COMPARE_WORK};
pub use simulator::{EBM_INPUTS, Ebm2BoxSimulator, two_box_trajectory};
pub use study::{
    CalibrationConfig, CalibrationSummary, DesignConfig, EmulatorConfig, HistoryConfig, LooSummary,
    ParamSummary, SensitivityConfig, SensitivitySummary, StudyConfig, StudyResults, WaveSummary,
    run_study,
};

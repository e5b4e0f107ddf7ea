//! Emulation of expensive simulators: designs, runs, GP emulators, validation, sequential
//! design, history matching, calibration and variance-based sensitivity analysis.
//!
//! * [`design`]: Latin hypercubes (random, maximin), Sobol' (Joe–Kuo, Owen-scrambled) and
//!   Halton points over a box with linear or logarithmic ranges.
pub mod calibrate;
pub mod design;
pub mod ebm;
pub mod gp;
pub mod history;
pub mod sensitivity;
pub mod sequential;
pub mod simulator;
pub mod validate;

//! Bayesian calibration with model discrepancy (Kennedy & O'Hagan 2001, JRSS B 63(3),
//! 425–464), with the emulator standing in for the simulator.
//!
//! Observations at `T` locations `t_a` (times, sites) are
//! `z = η(θ) + δ + ε`: the simulator `η` at the unknown calibration inputs `θ` (unit cube,
//! uniform prior over the box), a discrepancy `δ ~ GP(0, σ_δ² exp(−(t − t')²/(2ℓ_δ²)))`
//! and observation errors `ε ~ N(0, diag(σ²_obs))`. Replacing `η(θ)` by its emulator,
//! `η(θ) ~ N(μ(θ), Φ diag(v(θ)) Φᵀ + diag(τ²))` (a PCA field emulator, or independent
//! outputs with `Φ = I`), and integrating `η` and `δ` out,
//!
//! $$ z \mid θ, σ_δ, ℓ_δ \sim N\big(μ(θ),\ S\big), \quad
//!    S = Φ\\,diag(v(θ))\\,Φᵀ + diag(τ² + σ^2_{obs}) + σ_δ^2 R(ℓ_δ). $$
//!
//! The log density and its exact gradient — through the emulator's mean and variance
//! ([`GpEmulator::predict_with_gradient`](super::gp::GpEmulator::predict_with_gradient))
//! and through `S` (`∂/∂p log N = wᵀ ∂μ/∂p + tr(S̄ ∂S/∂p)`, `w = S⁻¹ r`,
//! `S̄ = ½(w wᵀ − S⁻¹)`) — feed the engine's NUTS ([`mechml_engine::infer::sample`]) on the
//! unconstrained scale (`θ = logistic(z)`, `σ_δ, ℓ_δ = e^z`, log-Jacobians added).
//!
//! The cost of one gradient is that of factoring and inverting `S` (`T³`): a long record
//! is best calibrated on block means ([`Projected`]), as `mechml emulate` does.

mod density;
mod projected;

pub use density::{
    CalibrationEmulator, CalibrationResult, Discrepancy, EmuMoments, KohDensity, KohOptions,
    calibrate,
};
pub use projected::Projected;

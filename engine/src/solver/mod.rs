//! The vocabulary every adaptive solver shares, ODE and SDE alike: tolerances and the one
//! scaled error norm ([`Tolerance`]), the step-size controller extension point
//! ([`StepController`], reference [`PiController`], held by options as
//! [`AnyController`]), what a solve saves ([`SaveAt`]) and
//! what an adjoint keeps ([`Checkpointing`]).

pub mod any_controller;
pub mod checkpointing;
pub mod controller;
pub mod save_at;
pub mod tolerance;

pub use any_controller::AnyController;
pub use checkpointing::Checkpointing;
pub use controller::{PiController, StepController, StepDecision, initial_step};
pub use save_at::SaveAt;
pub use tolerance::{ComponentTol, RTOL_MIN, Tolerance};

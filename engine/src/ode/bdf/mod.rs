//! Variable-order, variable-step backward differentiation formulas (orders 1–5) in the
//! quasi-constant-step form of the numerical differentiation formulas (NDF) of Shampine
//! & Reichelt (1997), "The MATLAB ODE suite", SIAM J. Sci. Comput. 18(1), §2.
//!
//! The history is kept as modified divided differences `D` (`D₀ = y_n`,
//! `Dₖ = ∇ᵏ y_n` on the current step grid). A step of order `k` predicts
//! `y⁰ = Σ_{j≤k} Dⱼ` and solves
//!
//! $$(1 - κ_k)\,γ_k\,(y - y^0) + \sum_{j=1}^{k} γ_j D_j = h f(t_{n+1}, y),\qquad γ_j = \sum_{i=1}^{j} 1/i,$$
//!
//! by simplified Newton with `I − (h/α_k) J` (`α_k = (1 − κ_k) γ_k`); the local error is
//! `(κ_k γ_k + 1/(k+1)) (y − y⁰)`. A change of step size by a factor `r` maps
//! `D ← (R(r) U)ᵀ D` (Shampine & Reichelt, eq. (2.5)). After `k + 1` steps of equal size
//! the order moves by ±1 where the error estimate allows a larger step. The Jacobian is
//! reused until the Newton iteration fails; the LU is refreshed when the step changes.
//!
//! The method ([`Bdf`]) runs under the shared time loop as a [`OneStep`](super::OneStep)
//! that chooses its own steps and orders ([`OneStep::decide`](super::OneStep::decide));
//! [`coeffs`] holds the formulas' coefficients and linear maps, [`solve_fixed_order`] the
//! fixed-order, fixed-step variant for convergence studies.

pub mod coeffs;
mod fixed;
mod stepper;

pub use coeffs::MAX_ORDER;
pub use fixed::solve_fixed_order;
pub use stepper::Bdf;
pub(crate) use stepper::BdfHook;

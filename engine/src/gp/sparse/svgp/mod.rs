//! Stochastic variational GPs (Hensman, Fusi & Lawrence 2013, UAI; Hensman, Matthews &
//! Ghahramani 2015, AISTATS) in the whitened parameterisation, with minibatches, any
//! [`Likelihood`](crate::gp::Likelihood) and natural-gradient steps for `q(u)` (Salimbeni, Eleftheriadis &
//! Hensman 2018, AISTATS).
//!
//! With `K_uu + εI = L_z L_zᵀ`, `u = L_z v` and `q(v) = N(m, S Sᵀ)` (`S` lower triangular
//! with unconstrained entries), a batch `b` of `B` of the `N` points gives
//!
//! ```text
//! A = L_z⁻¹ K_ub,  μᵢ = (Aᵀ m)ᵢ,  σᵢ² = k_ii − ‖A_{:,i}‖² + ‖Sᵀ A_{:,i}‖²
//! ELBO_b = (N/B) Σ_{i∈b} E_{N(f|μᵢ,σᵢ²)}[log p(yᵢ | f)] − KL(q(v) ‖ N(0, I))
//! KL = ½ (‖S‖²_F + mᵀm − M − 2 Σ log|Sᵢᵢ|)
//! ```
//!
//! **Adjoints** (derived here; checked by finite differences): with `ēᵢ = (N/B) ∂E/∂μᵢ`,
//! `v̄ᵢ = (N/B) ∂E/∂σᵢ²`,
//!
//! ```text
//! m̄ = A ē − m,   S̄ = tril(2 A diag(v̄) Aᵀ S − S + diag(1/Sᵢᵢ))
//! Ā = m ēᵀ + 2 (S Sᵀ − I) A diag(v̄),   k̄_ii = v̄ᵢ,   K̄_ub = L_z⁻ᵀ Ā
//! L̄_z = −tril(K̄_ub Aᵀ)  →  K̄_uu by the Cholesky pullback (Murray 2016, arXiv:1602.07527)
//! ```
//!
//! **Natural gradients** for `q(v)` with natural parameters `θ₁ = Σ⁻¹m`, `θ₂ = −½Σ⁻¹`
//! (`Σ = S Sᵀ`): a step of size `γ` along the gradient in the expectation parameters is
//!
//! ```text
//! Σ⁻¹ ← (1 − γ) Σ⁻¹ + γ (I − 2 A diag(v̄) Aᵀ)
//! Σ⁻¹m ← (1 − γ) Σ⁻¹ m + γ (A ē − 2 A diag(v̄) Aᵀ m)
//! ```
//!
//! For a Gaussian likelihood on the full data, `γ = 1` lands on the optimal
//! `q(v) = N(Σ A y/σ², Σ)`, `Σ = (I + A Aᵀ/σ²)⁻¹`, where the ELBO equals Titsias's bound.

//!
//! **Parameters.** `θ` ([`Svgp::params`], natural scale): the kernel's, then the
//! likelihood's (e.g. `noise_variance`). The variational and inducing parameters are
//! separate ([`Svgp::q_mu`], [`Svgp::q_sqrt`], [`Svgp::inducing`]); [`Svgp::pack`] lays all
//! of them out on the unconstrained scale for an optimiser.
//!
//! Rooms: [`model`] (the model and its parameters), [`packing`] (one vector of every
//! parameter), [`batch`] (the per-batch quantities and the ELBO), [`gradient`] (the
//! adjoints above), [`natural`] (the natural-gradient step), [`train`] (minibatch
//! training), [`predict`] (predictions) and [`tape`] (the tape block).

pub mod batch;
pub mod gradient;
pub mod model;
pub mod natural;
pub mod packing;
pub mod predict;
pub mod tape;
pub mod train;

pub use gradient::ElboGradient;
pub use model::{Svgp, SvgpOptions};
pub use tape::svgp_elbo_var;
pub use train::SvgpTrainOptions;

//! Small neural networks over [`Real`](crate::ad::Real): dense layers, activations,
//! seeded initialisation, and a multilayer perceptron whose parameters are one flat vector.
//!
//! A network is a function of `(params, x)` written once over `Real`, so the same
//! [`Mlp`] runs at full speed on `f64`, on dual numbers (Jacobians, forward
//! sensitivities) and on a tape — in particular inside an ODE right-hand side
//! ([`OdeRhs::rhs`](crate::ode::OdeRhs::rhs)), where the solver's adjoints record it. Each
//! layer
//!
//! $$a = \sigma(W x + b), \qquad W \in \mathbb{R}^{n_{out} \times n_{in}},$$
//!
//! is a fused operation ([`crate::ad::fused`]): on a `Tape<f64>` it is **one block** whose
//! hand-written pullback forms `ḡ = ā ⊙ σ'(z)`, `x̄ += Wᵀ ḡ`, `W̄ += ḡ xᵀ`, `b̄ += ḡ`, so a
//! network gradient costs a few dense loops instead of one tape entry per multiply–add.
//!
//! Outside a tape, [`Mlp::vjp_f64`] is the same pullback in plain `f64` with a reusable
//! scratch buffer (what a hand-written [`OdeRhs::vjp`](crate::ode::OdeRhs::vjp) of a
//! hybrid model calls), and [`Mlp::forward_into`] / [`Mlp::forward_f64`] evaluate without
//! allocating.
//!
//! Parameter layout: layer after layer, `W` row-major (`W[j, i]` at `j·n_in + i`) then `b`.
//!
//! ```
//! use mechml_engine::ad::{Tape, Var};
//! use mechml_engine::nn::{Activation, Init, Mlp};
//!
//! let net = Mlp::new(vec![2, 16, 1])?.with_activations(Activation::Gelu, Activation::Identity);
//! let w = net.init_seeded(Init::GlorotNormal, 7);
//! assert_eq!(w.len(), net.n_params());
//! let y = net.forward(&w, &[0.5, -0.3]);                    // f64
//!
//! let tape = Tape::new();
//! let wv = tape.vars(&w);
//! let yv = net.forward(&wv, &[Var::constant(0.5), Var::constant(-0.3)]); // 2 blocks
//! assert_eq!(yv[0].val(), y[0]);
//! let g = tape.gradient(&yv[0])?;
//! assert_eq!(g.wrt(&wv[w.len() - 1]), 1.0);                 // ∂y/∂(output bias)
//! # Ok::<(), mechml_engine::Error>(())
//! ```
//!
//! Initialisation: Glorot & Bengio (2010), *Understanding the difficulty of training deep
//! feedforward neural networks*, AISTATS, eq. (16): `Var W = 2/(n_in + n_out)`; He et al.
//! (2015), *Delving deep into rectifiers*, ICCV, arXiv:1502.01852, eq. (10):
//! `Var W = 2/n_in`. Biases start at zero.

// The layer loops index W, x and their adjoints in lockstep, as the formulas do.
#![allow(clippy::needless_range_loop)]

pub mod activation;
pub mod dense;
pub mod init;
pub mod mlp;
pub mod plain;

pub use activation::{Activation, tanh_f64};
pub use dense::{Dense, DenseBlock, DenseOp};
pub use init::Init;
pub use mlp::Mlp;

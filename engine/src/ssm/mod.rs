//! Linear-Gaussian state-space models: the model with time-varying matrices and missing
//! observations ([`model`]), the Kalman filter and its log-likelihood ([`kalman`]), its
//! hand-written adjoint ([`adjoint`]) and the log-likelihood as one differentiable tape
//! block ([`loglik_op`]), the Rauch–Tung–Striebel smoother ([`smoother`]), simulation
//! ([`simulate`](mod@simulate)), and exact discretisation of continuous-time linear SDEs ([`expm`](mod@expm),
//! [`discretize`](mod@discretize)), all over the small dense kernels of [`dense`].
//!
//! | capability | module | entry points |
//! |---|---|---|
//! | model and data | [`model`] | [`LinearGaussianSsm`], [`TimeInvariant`], [`Seq`], [`Observations`] |
//! | filter, log-likelihood | [`kalman`] | [`kalman_filter`], [`kalman_loglik`] |
//! | gradient (hand-written adjoint) | [`adjoint`] | [`kalman_loglik_grad`] |
//! | log-likelihood as one tape block | [`loglik_op`] | [`kalman_loglik_tape`] |
//! | smoother | [`smoother`] | [`rts_smoother`] |
//! | simulation | [`simulate`](mod@simulate) | [`simulate`](simulate()) |
//! | matrix exponential | [`expm`](mod@expm) | [`expm`](expm()) |
//! | exact discretisation | [`discretize`](mod@discretize) | [`discretize`](discretize()), [`van_loan_q`] |
//! | exact diffuse initialisation (Durbin & Koopman 2012) | [`diffuse`] | [`DiffuseInit`], [`diffuse_kalman_loglik`], [`diffuse_kalman_loglik_grad`], [`diffuse_kalman_loglik_tape`] |
//! | small dense algebra over [`Real`](crate::ad::Real) | [`dense`] | [`cholesky_in_place`](dense::cholesky_in_place), [`matmul`](dense::matmul) |
//!
//! The one Kalman filter of the engine: the temporal Gaussian processes of
//! [`gp::statespace`](crate::gp::statespace) run on it, and so do the models of
//! `mechml-models` (energy-balance models, nonlinear filters).
//!
//! # Example
//! A local-level model `x_{t+1} = x_t + w_t`, `y_t = x_t + v_t`: its log-likelihood, the
//! gradient with respect to every matrix by the hand-written adjoint, the same as one block
//! on a tape, the smoothed states, and the diffuse log-likelihood.
//!
//! ```
//! use mechml_engine::ad::{Tape, Var};
//! use mechml_engine::ssm::{DiffuseInit, Observations, TimeInvariant, diffuse_kalman_loglik};
//! use mechml_engine::ssm::{kalman_filter, kalman_loglik, kalman_loglik_grad, kalman_loglik_tape};
//! use mechml_engine::ssm::{KalmanGradient, rts_smoother};
//!
//! let model = TimeInvariant {
//!     f: vec![1.0],
//!     q: vec![0.1],
//!     h: vec![1.0],
//!     r: vec![0.5],
//!     m1: vec![0.0],
//!     p1: vec![1.0],
//! }
//! .build()?;
//! let data = Observations::univariate(vec![0.3, f64::NAN, 0.1, 0.4])?;
//! let ll = kalman_loglik(&model, &data)?;
//! let (ll2, grad) = kalman_loglik_grad(&model, &data, 1.0)?;
//! assert!((ll - ll2).abs() < 1e-14);
//!
//! // The same log-likelihood as one tape block, differentiated in the process noise q.
//! let tape = Tape::new();
//! let q = tape.var(0.1);
//! let c = Var::constant;
//! let on_tape = TimeInvariant {
//!     f: vec![c(1.0)],
//!     q: vec![q],
//!     h: vec![c(1.0)],
//!     r: vec![c(0.5)],
//!     m1: vec![c(0.0)],
//!     p1: vec![c(1.0)],
//! }
//! .build()?;
//! let ll3 = kalman_loglik_tape(&tape, &on_tape, &data, KalmanGradient::Adjoint)?;
//! let dq = tape.gradient(&ll3)?.wrt(&q);
//! assert!((dq - grad.q.data()[0]).abs() < 1e-12);
//!
//! let smoothed = rts_smoother(&model, &kalman_filter(&model, &data)?)?;
//! assert_eq!(smoothed.mean.len(), 4);
//!
//! // With the initial level unknown (exact diffuse initialisation) instead of N(0, 1).
//! let ll_d = diffuse_kalman_loglik(&model, &DiffuseInit::all(1), &data)?;
//! assert!(ll_d.is_finite());
//! # Ok::<(), mechml_engine::Error>(())
//! ```

// Index loops mirror the equations (entries (i, j) of several matrices at once).
#![allow(clippy::needless_range_loop)]

pub mod adjoint;
pub mod dense;
pub mod diffuse;
pub mod discretize;
pub mod expm;
pub mod kalman;
pub(crate) mod kalman_scalar;
pub mod loglik_op;
pub mod model;
pub mod simulate;
pub mod smoother;
pub(crate) mod steps;

pub use adjoint::{SsmGradient, kalman_loglik_grad};
pub use diffuse::{
    DiffuseHead, DiffuseInit, diffuse_head, diffuse_kalman_loglik, diffuse_kalman_loglik_grad,
    diffuse_kalman_loglik_tape,
};
pub use discretize::{ContinuousLinearSde, DiscreteLinear, discretize, van_loan_q};
pub use expm::expm;
pub use kalman::{FilterOutput, kalman_filter, kalman_loglik};
pub use loglik_op::{KalmanGradient, kalman_loglik_tape};
pub use model::{LinearGaussianSsm, Observations, Seq, TimeInvariant};
pub use simulate::{Simulation, simulate};
pub use smoother::{SmootherOutput, rts_smoother};

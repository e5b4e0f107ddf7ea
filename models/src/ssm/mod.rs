//! State-space models on the engine's linear-Gaussian core
//! ([`mechml_engine::ssm`]: model, Kalman filter, adjoint, tape block, smoother,
//! simulation, matrix exponential, exact discretisation — re-exported here under their
//! old paths), with the energy-balance models, maximum likelihood and the nonlinear
//! filters built on it.
//!
//! | capability | module | entry points |
//! |---|---|---|
//! | model and data | [`model`] | [`LinearGaussianSsm`], [`Seq`], [`Observations`] |
//! | filter, log-likelihood | [`kalman`] | [`kalman_filter`](kalman::kalman_filter), [`kalman_loglik`](kalman::kalman_loglik) |
//! | gradient (hand-written adjoint) | [`adjoint`] | [`kalman_loglik_grad`](adjoint::kalman_loglik_grad) |
//! | log-likelihood as one tape block | [`loglik_op`] | [`kalman_loglik_tape`](loglik_op::kalman_loglik_tape) |
//! | k-box energy-balance model | [`ebm`] | [`KBoxEbm`](ebm::KBoxEbm) |
//! | maximum likelihood, standard errors | [`fit`] | [`fit_mle`](fit::fit_mle), [`delta_method`](fit::delta_method) |
//! | EKF, UKF, particle filter, hybrid models | [`nonlinear`] | [`ekf`](nonlinear::ekf::ekf), [`ukf`](nonlinear::ukf::ukf), [`particle_filter`](nonlinear::particle::particle_filter), [`HybridSsm`](nonlinear::hybrid::HybridSsm), [`OdeHybridSsm`](nonlinear::hybrid_ode::OdeHybridSsm) |
//! | smoother | [`smoother`] | [`rts_smoother`](smoother::rts_smoother) |
//! | simulation | [`simulate`](mod@simulate) | [`simulate`](simulate::simulate) |
//! | matrix exponential | [`expm`](mod@expm) | [`expm`](expm::expm) |
//! | exact discretisation | [`discretize`](mod@discretize) | [`discretize`](discretize::discretize), [`van_loan_q`](discretize::van_loan_q) |

pub use mechml_engine::ssm::{
    adjoint, dense, discretize, expm, kalman, loglik_op, model, simulate, smoother,
};

pub mod ebm;
pub mod fit;
pub mod nonlinear;

pub use model::{LinearGaussianSsm, Observations, Seq};

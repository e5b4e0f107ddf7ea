//! State-space models: linear-Gaussian models with time-varying matrices and missing
//! observations, the Kalman filter and its log-likelihood as one differentiable tape
//! block, the Rauch–Tung–Striebel smoother, simulation, and exact discretisation of
//! continuous-time linear SDEs (matrix exponential and Van Loan's method).
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
//! | simulation | [`simulate`] | [`simulate`](simulate::simulate) |
//! | matrix exponential | [`expm`] | [`expm`](expm::expm) |
//! | exact discretisation | [`discretize`] | [`discretize`](discretize::discretize), [`van_loan_q`](discretize::van_loan_q) |

pub mod adjoint;
pub mod dense;
pub mod discretize;
pub mod ebm;
pub mod expm;
pub mod fit;
pub mod kalman;
mod kalman_scalar;
pub mod loglik_op;
pub mod model;
pub mod nonlinear;
pub mod simulate;
pub mod smoother;

pub use model::{LinearGaussianSsm, Observations, Seq};

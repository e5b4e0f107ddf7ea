//! What a fit needs from a model: the family θ ↦ state-space model ([`ParametricSsm`]),
//! derived quantities for the delta method ([`Derived`]), the state-space defaults of
//! the engine's [`FitOptions`], and the check of a [`ParamLayout`] against a family.

use mechml_engine::ad::Real;
use mechml_engine::optim::{FitOptions, LbfgsOptions};
use mechml_engine::param::ParamLayout;
use mechml_engine::{Error, Result};

use crate::ssm::loglik_op::KalmanGradient;
use crate::ssm::model::{LinearGaussianSsm, Observations};

/// A family of linear-Gaussian state-space models indexed by named parameters.
pub trait ParametricSsm: Sync {
    /// Parameter names (the order of θ).
    fn param_names(&self) -> Vec<String>;
    /// The model at θ (natural scale), generic over the scalar type.
    fn build<R: Real>(&self, theta: &[R]) -> Result<LinearGaussianSsm<R>>;
    /// The data the likelihood is evaluated on.
    fn observations(&self) -> &Observations;
    /// How the filter block of the likelihood is differentiated (a computation choice,
    /// not a fit option): the hand-written adjoint unless the family says otherwise.
    fn kalman_gradient(&self) -> KalmanGradient {
        KalmanGradient::Adjoint
    }
}

/// A scalar quantity derived from the parameters (e.g. a climate sensitivity).
pub trait Derived: Sync {
    /// g(θ), generic over the scalar type.
    fn eval<R: Real>(&self, theta: &[R]) -> Result<R>;
}

/// The defaults of a state-space fit, which differ from [`FitOptions::default`] because
/// a Kalman log-likelihood per observation is smooth and cheap: 4 starts (the given one
/// and 3 perturbations of spread 0.5 on the unconstrained scale, seed 0); L-BFGS with
/// `grad_tol = 1e-7`, at most 500 iterations and 2000 evaluations (the rest as
/// [`LbfgsOptions::default`]); the observed information and standard errors computed.
///
/// ```
/// let opts = mechml_models::ssm::fit::default_fit_options();
/// assert_eq!((opts.n_starts, opts.lbfgs.max_iters, opts.hessian), (4, 500, true));
/// ```
pub fn default_fit_options() -> FitOptions {
    FitOptions {
        lbfgs: LbfgsOptions {
            grad_tol: 1e-7,
            max_iters: 500,
            max_evals: 2000,
            ..LbfgsOptions::default()
        },
        fixed: Vec::new(),
        n_starts: 4,
        start_spread: 0.5,
        seed: 0,
        hessian: true,
    }
}

/// Checks that `layout` lists the family's parameters, by name and in order.
pub(crate) fn check_layout(op: &'static str, names: &[String], layout: &ParamLayout) -> Result<()> {
    let given = layout.names();
    if given.len() != names.len() || given.iter().zip(names).any(|(g, n)| g != n) {
        return Err(Error::invalid_option(
            op,
            "params",
            format!("[{}]", given.join(", ")),
            format!("the model's parameters in the order [{}]", names.join(", ")),
        ));
    }
    Ok(())
}

/// The free parameters of the full natural-scale vector `theta` on their unconstrained
/// scale (the coordinates z of a fit with this layout), e.g. the truth in a recovery
/// study.
pub fn unconstrained(layout: &ParamLayout, theta: &[f64]) -> Result<Vec<f64>> {
    let mut at = layout.clone();
    at.set_values(theta)?;
    at.free_unconstrained()
}

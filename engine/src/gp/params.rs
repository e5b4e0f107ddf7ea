//! The parameter vector `θ` of a GP model: the kernel's parameters (in the order of
//! [`Kernel::layout`](crate::gp::Kernel::layout): variance first, then shape
//! parameters), then the likelihood's (`noise_variance` for Gaussian noise), on the
//! natural scale, as in GPflow and scikit-learn. A model keeps the values in one
//! [`ParamLayout`]; gradients come on the natural scale and, by the chain rule through
//! each parameter's transform, on the unconstrained (log) scale.

use crate::error::Result;
use crate::param::{Param, ParamLayout, Transform};

/// `dθ/dz` of `θ = T(z)`, from the natural value `θ` (exact for the log transform:
/// `dθ/dz = θ`).
pub(crate) fn natural_derivative(t: &Transform, theta: f64) -> f64 {
    match *t {
        Transform::Identity => 1.0,
        Transform::Log => theta,
        Transform::LowerBound(lo) => theta - lo,
        Transform::UpperBound(hi) => -(hi - theta),
        Transform::Interval { lo, hi } => (theta - lo) * (hi - theta) / (hi - lo),
    }
}

/// The gradient on the unconstrained scale of every parameter (fixed or not):
/// `∂f/∂zᵢ = ∂f/∂θᵢ · T'(zᵢ)`.
pub(crate) fn unconstrained_gradient(
    layout: &ParamLayout,
    theta: &[f64],
    grad: &[f64],
) -> Vec<f64> {
    layout
        .params()
        .iter()
        .zip(theta)
        .zip(grad)
        .map(|((p, &t), &g)| g * natural_derivative(&p.transform, t))
        .collect()
}

/// The layout of a model: the kernel's parameters followed by `extra` (the likelihood's).
pub(crate) fn model_layout(kernel: ParamLayout, extra: &ParamLayout) -> Result<ParamLayout> {
    let mut layout = kernel;
    layout.extend_prefixed("", extra)?;
    Ok(layout)
}

/// The layout of a Gaussian-noise model: the kernel's parameters, then `noise_variance`.
pub(crate) fn with_noise(kernel: ParamLayout) -> Result<ParamLayout> {
    model_layout(
        kernel,
        &ParamLayout::new(vec![Param::positive("noise_variance", 1.0)])?,
    )
}

/// A layout holding `theta` (checked: length, and each value in its support, named in the
/// error as an option of `op`).
pub(crate) fn at_values(
    op: &'static str,
    mut layout: ParamLayout,
    theta: &[f64],
) -> Result<ParamLayout> {
    crate::gp::kernels::matrix::check_support(op, &layout, theta)?;
    layout.set_values(theta)?;
    Ok(layout)
}

/// The names of an `m × d` block of inducing inputs: `inducing[i][k]`.
pub(crate) fn inducing_params(z: &crate::gp::Inputs) -> Vec<Param> {
    let d = z.d();
    z.as_slice()
        .iter()
        .enumerate()
        .map(|(j, &v)| Param::real(format!("inducing[{}][{}]", j / d, j % d), v))
        .collect()
}

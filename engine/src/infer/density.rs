//! Log densities: the `f64` interface that samplers and optimisers call
//! ([`LogDensity`]), and adapters that build it from a model written once over
//! [`Real`] ([`RealLogDensity`] → [`TapeDensity`]) or from a closure over the tape
//! ([`TapeFn`], which may use block operations).
//!
//! Gradients come from one reverse sweep of the engine's tape; exact Hessians (for the
//! Laplace approximation) from `n` forward-over-reverse sweeps on a tape of dual numbers
//! (the same scheme as [`crate::ad::api::hessian`]).

use faer::Mat;

use crate::ad::{Adjoints, Dual, Real, Tape, Var, VarVec};
use crate::error::{Error, Result};

/// A differentiable log density on `ℝⁿ` (usually the unconstrained scale of a model).
///
/// Samplers hold one per chain (they clone it), so an implementation may keep scratch
/// state such as a tape; it must be `Clone + Send` to be sampled by several chains.
pub trait LogDensity {
    /// Dimension `n` of the argument.
    fn dim(&self) -> usize;

    /// `ln p(x)` (up to a constant), writing `∇ ln p(x)` into `grad` (length `n`).
    ///
    /// A point outside the support may return `-∞` or a recoverable error (see
    /// [`is_recoverable`]); samplers then treat the step as divergent.
    fn log_density_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64>;

    /// `(ln p(x), ∇ ln p(x))`, allocating the gradient.
    fn value_and_grad(&mut self, x: &[f64]) -> Result<(f64, Vec<f64>)> {
        let mut g = vec![0.0; self.dim()];
        let v = self.log_density_grad(x, &mut g)?;
        Ok((v, g))
    }

    /// The Hessian `∇² ln p(x)` (symmetric). The default says it is not available.
    fn hessian(&mut self, x: &[f64]) -> Result<Mat<f64>> {
        let _ = x;
        Err(Error::Unsupported {
            op: "LogDensity::hessian",
            reason: "this log density has no exact Hessian; use a model generic over Real \
                     (TapeDensity), give a TapeFn a dual-tape closure (TapeFn::with_hessian), \
                     or ask the Laplace approximation for central differences"
                .into(),
        })
    }

    /// Names of the reported quantities (those of [`LogDensity::constrain`]); by default
    /// `x[0]`, `x[1]`, ….
    fn param_names(&self) -> Vec<String> {
        (0..self.dim()).map(|i| format!("x[{i}]")).collect()
    }

    /// The reported quantities at `x` (the natural-scale parameters of a model); by default
    /// `x` itself.
    fn constrain(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(x.to_vec())
    }
}

/// Whether an error from a log density means "this point is outside where the density
/// can be evaluated" (a sampler rejects the step as divergent and goes on), rather than a
/// mistake in the model (which stops sampling): non-finite values, matrices that are not
/// positive definite or singular, solver failures and invalid arguments are recoverable;
/// shape mismatches, mixed tapes, unsupported operations and invalid options are not.
pub fn is_recoverable(e: &Error) -> bool {
    matches!(
        e,
        Error::NonFinite { .. }
            | Error::NotPositiveDefinite { .. }
            | Error::Singular { .. }
            | Error::InvalidArgument { .. }
            | Error::StepSizeUnderflow { .. }
            | Error::TooManySteps { .. }
            | Error::NonFiniteState { .. }
            | Error::NewtonFailure { .. }
            | Error::NoConvergence { .. }
    )
}

/// A log density written once, generic over [`Real`]: it runs on `f64`, on dual numbers
/// and on the tape, so [`TapeDensity`] gets its gradient and exact Hessian from it.
///
/// ```
/// use mechml_engine::ad::Real;
/// use mechml_engine::infer::{LogDensity, RealLogDensity, TapeDensity};
/// use mechml_engine::Result;
///
/// /// A standard normal in two dimensions.
/// struct StdNormal;
/// impl RealLogDensity for StdNormal {
///     fn dim(&self) -> usize { 2 }
///     fn log_density<R: Real>(&self, x: &[R]) -> Result<R> {
///         Ok((x[0].square() + x[1].square()) * -0.5)
///     }
/// }
/// let mut d = TapeDensity::new(StdNormal);
/// let (lp, g) = d.value_and_grad(&[1.0, -2.0])?;
/// assert_eq!((lp, g), (-2.5, vec![-1.0, 2.0]));
/// let h = d.hessian(&[1.0, -2.0])?;
/// assert_eq!((h[(0, 0)], h[(0, 1)]), (-1.0, 0.0));
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub trait RealLogDensity {
    /// Dimension of the argument.
    fn dim(&self) -> usize;
    /// `ln p(x)` up to a constant.
    fn log_density<R: Real>(&self, x: &[R]) -> Result<R>;
    /// Names of the reported quantities (see [`LogDensity::param_names`]).
    fn param_names(&self) -> Vec<String> {
        (0..self.dim()).map(|i| format!("x[{i}]")).collect()
    }
    /// Reported quantities at `x` (see [`LogDensity::constrain`]).
    fn constrain(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(x.to_vec())
    }
}

fn check_dim(op: &'static str, x: &[f64], n: usize) -> Result<()> {
    crate::error::check_len(op, "x", x.len(), n)
}

/// [`LogDensity`] of a [`RealLogDensity`] through the tape: value and gradient by one
/// recording and one reverse sweep (tape and adjoint storage reused between calls), the
/// Hessian exactly by forward-over-reverse.
pub struct TapeDensity<M> {
    model: M,
    tape: Tape,
    adj: Adjoints,
}

impl<M> TapeDensity<M> {
    /// Wraps a model.
    pub fn new(model: M) -> Self {
        Self {
            model,
            tape: Tape::new(),
            adj: Adjoints::default(),
        }
    }
    /// The wrapped model.
    pub fn model(&self) -> &M {
        &self.model
    }
}

impl<M: Clone> Clone for TapeDensity<M> {
    /// A copy of the model with a fresh tape.
    fn clone(&self) -> Self {
        Self::new(self.model.clone())
    }
}

impl<M: RealLogDensity> LogDensity for TapeDensity<M> {
    fn dim(&self) -> usize {
        self.model.dim()
    }

    fn log_density_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64> {
        let n = self.model.dim();
        check_dim("TapeDensity", x, n)?;
        crate::error::check_len("TapeDensity", "grad", grad.len(), n)?;
        self.tape.clear();
        let tape: &Tape = &self.tape;
        let xs = tape.vars(x);
        let y = self.model.log_density(&xs)?;
        tape.gradient_into(&y, &mut self.adj)?;
        for (g, v) in grad.iter_mut().zip(&xs) {
            *g = self.adj.wrt(v);
        }
        Ok(y.val())
    }

    fn hessian(&mut self, x: &[f64]) -> Result<Mat<f64>> {
        let n = self.model.dim();
        check_dim("TapeDensity::hessian", x, n)?;
        let mut tape: Tape<Dual> = Tape::with_capacity_generic(1024);
        hessian_by_columns(n, |j| {
            tape.clear();
            let t: &Tape<Dual> = &tape;
            let xs: Vec<Var<'_, Dual>> = x
                .iter()
                .enumerate()
                .map(|(i, &xi)| t.var(Dual::dual(xi, if i == j { 1.0 } else { 0.0 })))
                .collect();
            let y = self.model.log_density(&xs)?;
            let adj = t.gradient(&y)?;
            Ok(xs.iter().map(|v| adj.wrt(v).d[0]).collect())
        })
    }

    fn param_names(&self) -> Vec<String> {
        self.model.param_names()
    }

    fn constrain(&self, x: &[f64]) -> Result<Vec<f64>> {
        self.model.constrain(x)
    }
}

/// Assembles a symmetric matrix from its columns (`column(j)` = `H e_j`), averaging the
/// two triangles.
pub(crate) fn hessian_by_columns(
    n: usize,
    mut column: impl FnMut(usize) -> Result<Vec<f64>>,
) -> Result<Mat<f64>> {
    let mut h = Mat::zeros(n, n);
    for j in 0..n {
        let c = column(j)?;
        for (i, v) in c.iter().enumerate() {
            h[(i, j)] = *v;
        }
    }
    for j in 0..n {
        for i in 0..j {
            let s = 0.5 * (h[(i, j)] + h[(j, i)]);
            h[(i, j)] = s;
            h[(j, i)] = s;
        }
    }
    Ok(h)
}

/// The closure type of [`TapeFn`]: a log density recorded on a tape from the leaf vector
/// `x` (block operations allowed).
pub trait TapeLogDensityFn: for<'t> Fn(&'t Tape, &VarVec<'t>) -> Result<Var<'t>> {}
impl<F> TapeLogDensityFn for F where F: for<'t> Fn(&'t Tape, &VarVec<'t>) -> Result<Var<'t>> {}

/// The closure type of [`TapeFn::with_hessian`]: the same log density recorded on a tape
/// of dual numbers, from scalar leaves.
pub trait DualLogDensityFn:
    for<'t> Fn(&'t Tape<Dual>, &[Var<'t, Dual>]) -> Result<Var<'t, Dual>>
{
}
impl<F> DualLogDensityFn for F where
    F: for<'t> Fn(&'t Tape<Dual>, &[Var<'t, Dual>]) -> Result<Var<'t, Dual>>
{
}

/// Placeholder for a [`TapeFn`] without a Hessian closure.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHessian;

/// [`LogDensity`] from a closure over the tape, which may use block operations
/// (`quad_form`, `mvn_logpdf`, a whole ODE solve or Kalman filter).
///
/// ```
/// use mechml_engine::ad::{Tape, VarMat};
/// use mechml_engine::infer::{LogDensity, TapeFn};
///
/// // ln p(x) = −½ xᵀ A x with A = diag(1, 4), as one block.
/// let a = vec![1.0, 0.0, 0.0, 4.0];
/// let mut d = TapeFn::new(2, move |t: &Tape, x| {
///     let am = VarMat::constant(2, 2, a.clone())?;
///     Ok(t.quad_form(x, &am)? * -0.5)
/// });
/// let (lp, g) = d.value_and_grad(&[1.0, 1.0])?;
/// assert_eq!((lp, g), (-2.5, vec![-1.0, -4.0]));
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub struct TapeFn<F, H = NoHessian> {
    dim: usize,
    f: F,
    hess: H,
    names: Option<Vec<String>>,
    tape: Tape,
    adj: Adjoints,
}

impl<F: Clone, H: Clone> Clone for TapeFn<F, H> {
    /// The same closures with a fresh tape.
    fn clone(&self) -> Self {
        Self {
            dim: self.dim,
            f: self.f.clone(),
            hess: self.hess.clone(),
            names: self.names.clone(),
            tape: Tape::new(),
            adj: Adjoints::default(),
        }
    }
}

impl<F: TapeLogDensityFn> TapeFn<F, NoHessian> {
    /// A log density of dimension `dim` recorded by `f`.
    pub fn new(dim: usize, f: F) -> Self {
        Self {
            dim,
            f,
            hess: NoHessian,
            names: None,
            tape: Tape::new(),
            adj: Adjoints::default(),
        }
    }

    /// The same density with `h`, the same function recorded on a tape of dual numbers,
    /// for exact Hessians.
    pub fn with_hessian<H: DualLogDensityFn>(self, h: H) -> TapeFn<F, H> {
        TapeFn {
            dim: self.dim,
            f: self.f,
            hess: h,
            names: self.names,
            tape: self.tape,
            adj: self.adj,
        }
    }
}

impl<F, H> TapeFn<F, H> {
    /// The same density reporting these parameter names (one per dimension).
    pub fn with_names(mut self, names: Vec<String>) -> Result<Self> {
        crate::error::check_len("TapeFn::with_names", "names", names.len(), self.dim)?;
        self.names = Some(names);
        Ok(self)
    }
}

impl<F: TapeLogDensityFn, H> TapeFn<F, H> {
    fn eval(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64> {
        check_dim("TapeFn", x, self.dim)?;
        crate::error::check_len("TapeFn", "grad", grad.len(), self.dim)?;
        self.tape.clear();
        let tape: &Tape = &self.tape;
        let xs = tape.var_vec(x);
        let y = (self.f)(tape, &xs)?;
        tape.gradient_into(&y, &mut self.adj)?;
        match self.adj.wrt_vec_ref(&xs) {
            Some(g) if g.len() == grad.len() => grad.copy_from_slice(g),
            _ => grad.iter_mut().for_each(|g| *g = 0.0),
        }
        Ok(y.val())
    }

    fn names_or_default(&self) -> Vec<String> {
        self.names
            .clone()
            .unwrap_or_else(|| (0..self.dim).map(|i| format!("x[{i}]")).collect())
    }
}

impl<F: TapeLogDensityFn> LogDensity for TapeFn<F, NoHessian> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn log_density_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64> {
        self.eval(x, grad)
    }
    fn param_names(&self) -> Vec<String> {
        self.names_or_default()
    }
}

/// A [`TapeFn`] with a dual-tape closure: exact Hessians.
impl<F: TapeLogDensityFn, H: DualLogDensityFn> LogDensity for TapeFn<F, H> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn log_density_grad(&mut self, x: &[f64], grad: &mut [f64]) -> Result<f64> {
        self.eval(x, grad)
    }
    fn hessian(&mut self, x: &[f64]) -> Result<Mat<f64>> {
        check_dim("TapeFn::hessian", x, self.dim)?;
        let mut tape: Tape<Dual> = Tape::with_capacity_generic(1024);
        let h = &self.hess;
        hessian_by_columns(self.dim, |j| {
            let e: Vec<f64> = (0..x.len())
                .map(|i| if i == j { 1.0 } else { 0.0 })
                .collect();
            let (_, _, hv) = crate::ad::api::hvp_tape(&mut tape, x, &e, |t, xs| h(t, xs))?;
            Ok(hv)
        })
    }
    fn param_names(&self) -> Vec<String> {
        self.names_or_default()
    }
}

//! The [`Sde`] trait (drift and diffusion written once, generic over [`Real`]) and the
//! [`SdeProblem`]: an SDE with its interval, initial state and parameters.
//!
//! ```text
//! dx = f(t, x, p) dt + g(t, x, p) dW      (Itô)   or   … + g(t, x, p) ∘ dW   (Stratonovich)
//! ```
//! with `x ∈ ℝᵈ`, parameters `p ∈ ℝᴾ` and an `m`-dimensional Brownian motion `W`. Writing
//! `f` and `g` against [`Real`] lets the same code run at full speed on `f64`, on
//! [`Tangent`](crate::ad::Tangent) numbers (Milstein's derivative term, calculus conversion),
//! on dual numbers (forward sensitivities) and on the tape (adjoints).
//!
//! ```
//! use mechml_engine::ad::Real;
//! use mechml_engine::sde::{Sde, SdeProblem, SdeShape};
//!
//! /// Geometric Brownian motion dX = μ X dt + σ X dW, p = [μ, σ].
//! struct Gbm;
//! impl Sde for Gbm {
//!     fn shape(&self) -> SdeShape { SdeShape::diagonal(1).with_params(2) }
//!     fn drift<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) { out[0] = p[0] * x[0]; }
//!     fn diffusion<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) { out[0] = p[1] * x[0]; }
//! }
//! let mut f = [0.0];
//! Gbm.drift(0.0, &[2.0], &[0.05, 0.2], &mut f);
//! assert_eq!(f[0], 0.1);
//! // The problem: checked on construction.
//! let problem = SdeProblem::new(Gbm, 0.0, 1.0, vec![1.0], vec![0.05, 0.2])?;
//! assert!(SdeProblem::new(Gbm, 0.0, 1.0, vec![1.0], vec![0.05]).is_err()); // one parameter short
//! # let _ = problem;
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use super::noise::{Calculus, NoiseType};
use crate::ad::{Real, VarVec};
use crate::error::{Error, Result};

/// An SDE `dx = f dt + g dW` (see the [module docs](self)).
///
/// Required: the [`SdeShape`] (dimensions, noise type, calculus) and `drift`/`diffusion`
/// generic over [`Real`]; `n_states`, `n_noise`, `n_params`, `noise` and `calculus` read the
/// shape. `diffusion` writes [`NoiseType::diffusion_len`] entries (`d` for scalar and
/// diagonal noise, `d × m` column-major otherwise).
///
/// Optional: [`drift_batch`](Sde::drift_batch) and [`diffusion_batch`](Sde::diffusion_batch)
/// evaluate many paths at once in structure-of-arrays layout; override them with a loop
/// over lanes to let ensembles vectorise.
///
/// Time is of the scalar type `R`, as in [`OdeRhs::rhs`](crate::ode::OdeRhs::rhs): the
/// solvers pass a constant (`R::from_f64(t)`; gradients are with respect to `x₀` and `p`,
/// not time), so for `R = f64` it is the plain number. The batch functions, which serve
/// `f64` ensembles only, take `t: f64`.
pub trait Sde: Send + Sync {
    /// The dimensions, the structure of `g` and the calculus, in one value: e.g.
    /// `SdeShape::diagonal(2).with_params(4)`.
    fn shape(&self) -> SdeShape;
    /// Number of states `d` (from [`shape`](Sde::shape)).
    #[inline]
    fn n_states(&self) -> usize {
        self.shape().n_states
    }
    /// Number of Brownian motions `m` (from [`shape`](Sde::shape)).
    #[inline]
    fn n_noise(&self) -> usize {
        self.shape().n_noise
    }
    /// Number of parameters `P` (from [`shape`](Sde::shape)).
    #[inline]
    fn n_params(&self) -> usize {
        self.shape().n_params
    }
    /// The structure of `g` (from [`shape`](Sde::shape)).
    #[inline]
    fn noise(&self) -> NoiseType {
        self.shape().noise
    }
    /// Itô or Stratonovich (from [`shape`](Sde::shape)).
    #[inline]
    fn calculus(&self) -> Calculus {
        self.shape().calculus
    }
    /// Whether the noise is commutative (`Lʲ gᵏ = Lᵏ gʲ` with `Lʲ = Σᵢ gᵢⱼ ∂ᵢ`), which lets
    /// Milstein's method reach strong order 1 without Lévy areas. Scalar, diagonal and
    /// additive noise always commute; for general noise the default is `false`.
    fn commutative_noise(&self) -> bool {
        !matches!(self.noise(), NoiseType::General)
    }
    /// `out = f(t, x, p)` (`d` entries).
    fn drift<R: Real>(&self, t: R, x: &[R], p: &[R], out: &mut [R]);
    /// `out = g(t, x, p)` ([`NoiseType::diffusion_len`] entries).
    fn diffusion<R: Real>(&self, t: R, x: &[R], p: &[R], out: &mut [R]);

    /// The drift of `lanes` paths: component `i` of lane `l` at `x[i * lanes + l]`, and
    /// likewise for `out`. The default evaluates [`drift`](Sde::drift) lane by lane.
    fn drift_batch(&self, t: f64, x: &[f64], lanes: usize, p: &[f64], out: &mut [f64]) {
        let d = self.n_states();
        by_lane(d, d, lanes, x, out, |xl, ol| self.drift(t, xl, p, ol));
    }

    /// The diffusion of `lanes` paths, entry `e` of lane `l` at `out[e * lanes + l]`. The
    /// default evaluates [`diffusion`](Sde::diffusion) lane by lane.
    fn diffusion_batch(&self, t: f64, x: &[f64], lanes: usize, p: &[f64], out: &mut [f64]) {
        let d = self.n_states();
        let gl = self.noise().diffusion_len(d, self.n_noise());
        by_lane(d, gl, lanes, x, out, |xl, ol| self.diffusion(t, xl, p, ol));
    }
}

/// The dimensions of an SDE, the structure of its diffusion and its calculus: what
/// [`Sde::shape`] returns. Built by the constructor of the noise type, then
/// [`with_params`](SdeShape::with_params) and [`stratonovich`](SdeShape::stratonovich):
///
/// ```
/// use mechml_engine::sde::{Calculus, NoiseType, SdeShape};
/// let s = SdeShape::diagonal(2).with_params(4).stratonovich();
/// assert_eq!((s.n_states, s.n_noise, s.n_params), (2, 2, 4));
/// assert_eq!((s.noise, s.calculus), (NoiseType::Diagonal, Calculus::Stratonovich));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SdeShape {
    /// Number of states `d`.
    pub n_states: usize,
    /// Number of Brownian motions `m`.
    pub n_noise: usize,
    /// Number of parameters `P`.
    pub n_params: usize,
    /// The structure of `g`.
    pub noise: NoiseType,
    /// Itô or Stratonovich.
    pub calculus: Calculus,
}

impl SdeShape {
    /// `d` states driven by `m` Brownian motions with noise of type `noise`; no parameters,
    /// Itô.
    pub const fn new(noise: NoiseType, n_states: usize, n_noise: usize) -> Self {
        Self {
            n_states,
            n_noise,
            n_params: 0,
            noise,
            calculus: Calculus::Ito,
        }
    }
    /// One Brownian motion shared by `d` states ([`NoiseType::Scalar`]).
    pub const fn scalar(n_states: usize) -> Self {
        Self::new(NoiseType::Scalar, n_states, 1)
    }
    /// One Brownian motion per state ([`NoiseType::Diagonal`], `m = d`).
    pub const fn diagonal(n_states: usize) -> Self {
        Self::new(NoiseType::Diagonal, n_states, n_states)
    }
    /// A state-independent `d × m` diffusion ([`NoiseType::Additive`]).
    pub const fn additive(n_states: usize, n_noise: usize) -> Self {
        Self::new(NoiseType::Additive, n_states, n_noise)
    }
    /// Any `d × m` diffusion ([`NoiseType::General`]).
    pub const fn general(n_states: usize, n_noise: usize) -> Self {
        Self::new(NoiseType::General, n_states, n_noise)
    }
    /// The same shape with `n_params` parameters.
    pub const fn with_params(self, n_params: usize) -> Self {
        Self { n_params, ..self }
    }
    /// The same shape read in `calculus`.
    pub const fn with_calculus(self, calculus: Calculus) -> Self {
        Self { calculus, ..self }
    }
    /// The same shape read in the Stratonovich calculus.
    pub const fn stratonovich(self) -> Self {
        self.with_calculus(Calculus::Stratonovich)
    }
}

/// A reference to an SDE is the same SDE.
impl<T: Sde + ?Sized> Sde for &T {
    fn shape(&self) -> SdeShape {
        (**self).shape()
    }
    fn commutative_noise(&self) -> bool {
        (**self).commutative_noise()
    }
    fn drift<R: Real>(&self, t: R, x: &[R], p: &[R], out: &mut [R]) {
        (**self).drift(t, x, p, out)
    }
    fn diffusion<R: Real>(&self, t: R, x: &[R], p: &[R], out: &mut [R]) {
        (**self).diffusion(t, x, p, out)
    }
    fn drift_batch(&self, t: f64, x: &[f64], lanes: usize, p: &[f64], out: &mut [f64]) {
        (**self).drift_batch(t, x, lanes, p, out)
    }
    fn diffusion_batch(&self, t: f64, x: &[f64], lanes: usize, p: &[f64], out: &mut [f64]) {
        (**self).diffusion_batch(t, x, lanes, p, out)
    }
}

/// Gathers each lane of a structure-of-arrays block, applies `f`, scatters the result.
fn by_lane(
    n_in: usize,
    n_out: usize,
    lanes: usize,
    x: &[f64],
    out: &mut [f64],
    mut f: impl FnMut(&[f64], &mut [f64]),
) {
    const STACK: usize = 16;
    let (mut xs, mut os) = ([0.0; STACK], [0.0; STACK]);
    let (mut xv, mut ov) = (Vec::new(), Vec::new());
    let (xl, ol): (&mut [f64], &mut [f64]) = if n_in <= STACK && n_out <= STACK {
        (&mut xs[..n_in], &mut os[..n_out])
    } else {
        xv.resize(n_in, 0.0);
        ov.resize(n_out, 0.0);
        (&mut xv, &mut ov)
    };
    for l in 0..lanes {
        for (i, v) in xl.iter_mut().enumerate() {
            *v = x[i * lanes + l];
        }
        f(xl, ol);
        for (e, v) in ol.iter().enumerate() {
            out[e * lanes + l] = *v;
        }
    }
}

/// What holds a problem's initial state and parameters: numbers (`Vec<f64>`, for
/// [`solve`](super::solve()), [`ensemble`](super::ensemble()) and the VJPs) or tape
/// variables ([`VarVec`], for [`solve_on_tape`](super::solve_on_tape) and
/// [`ensemble_on_tape`](super::ensemble_on_tape)).
pub trait SdeInputs {
    /// The values.
    fn values(&self) -> &[f64];
}

impl SdeInputs for Vec<f64> {
    fn values(&self) -> &[f64] {
        self
    }
}

impl SdeInputs for VarVec<'_> {
    fn values(&self) -> &[f64] {
        VarVec::values(self)
    }
}

/// An SDE on `[t0, t1]` from `x0` with parameters `p`, checked on construction.
///
/// `V` is `Vec<f64>` for plain solves and [`VarVec`] for solves recorded on a tape
/// (gradients with respect to `x0` and `p`).
#[derive(Clone, Debug)]
pub struct SdeProblem<S, V = Vec<f64>> {
    /// The SDE.
    pub sde: S,
    /// Start time.
    pub t0: f64,
    /// End time (`t1 > t0`).
    pub t1: f64,
    /// Initial state (`n_states` entries).
    pub x0: V,
    /// Parameters (`n_params` entries).
    pub p: V,
}

impl<S: Sde, V: SdeInputs> SdeProblem<S, V> {
    /// A problem, checked by [`validate`](Self::validate).
    pub fn new(sde: S, t0: f64, t1: f64, x0: V, p: V) -> Result<Self> {
        let problem = Self { sde, t0, t1, x0, p };
        problem.validate()?;
        Ok(problem)
    }

    /// Checks the noise dimensions, the lengths of `x0` and `p` and that they are finite,
    /// and the interval (finite, `t1 > t0`).
    pub fn validate(&self) -> Result<()> {
        check_problem(&self.sde, self.x0.values(), self.p.values())?;
        check_interval("sde", self.t0, self.t1)
    }

    /// The initial state's values.
    pub fn x0_values(&self) -> &[f64] {
        self.x0.values()
    }

    /// The parameters' values.
    pub fn p_values(&self) -> &[f64] {
        self.p.values()
    }
}

/// Checks that `[t0, t1]` is finite with `t1 > t0`.
pub(crate) fn check_interval(op: &'static str, t0: f64, t1: f64) -> Result<()> {
    if !t0.is_finite() {
        return Err(Error::invalid_option(op, "t0", t0, "finite"));
    }
    if !(t1.is_finite() && t1 > t0) {
        return Err(Error::invalid_option(
            op,
            "t1",
            t1,
            format!("finite and > t0 = {t0}"),
        ));
    }
    Ok(())
}

/// Checks the dimensions of an SDE against an initial state and parameters, and that both
/// are finite.
pub(crate) fn check_problem<S: Sde + ?Sized>(sde: &S, x0: &[f64], p: &[f64]) -> Result<()> {
    let (d, m) = (sde.n_states(), sde.n_noise());
    sde.noise().check_dims(d, m)?;
    crate::error::check_len("sde", "x0", x0.len(), d)?;
    crate::error::check_len("sde", "p", p.len(), sde.n_params())?;
    for (arg, xs) in [("x0", x0), ("p", p)] {
        if let Some(i) = xs.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                op: "sde",
                index: i,
                value: xs[i],
                context: format!("argument `{arg}`"),
            });
        }
    }
    Ok(())
}

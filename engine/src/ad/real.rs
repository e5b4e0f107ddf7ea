//! The [`Real`] trait: the scalar type model code is written against.
//!
//! A right-hand side, a kernel or a likelihood written once as `fn f<R: Real>(x: &[R]) -> R`
//! runs at full speed on `f64`, propagates tangents on [`Dual`](super::Dual) and
//! [`DualN`](super::DualN), and records itself on a [`Tape`](super::Tape) through
//! [`Var`](super::Var).
//!
//! Conventions: comparisons look at the value only; non-differentiable points take a
//! one-sided derivative (`abs` at 0 has derivative 0; `min`/`max` pass the derivative of the
//! chosen argument, the first on ties).

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::fused::FusedOp;
use super::special;
use super::var::Var as TapeVar;

/// A real scalar: `f64`, a dual number, or a tape variable.
///
/// Arithmetic works between two `Real`s and between a `Real` and an `f64` on the right
/// (`x * 2.0`); write constants on the left as `R::from_f64(2.0) * x` or reorder.
pub trait Real:
    Copy
    + Debug
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + AddAssign<f64>
    + SubAssign<f64>
    + MulAssign<f64>
    + DivAssign<f64>
{
    /// The primal value.
    fn value(&self) -> f64;
    /// A constant (zero derivative; not recorded on any tape).
    fn from_f64(x: f64) -> Self;
    /// The constant 0.
    #[inline]
    fn zero() -> Self {
        Self::from_f64(0.0)
    }
    /// The constant 1.
    #[inline]
    fn one() -> Self {
        Self::from_f64(1.0)
    }
    /// Whether this is exactly zero *including its derivative parts*: for `f64` the value
    /// is 0; a dual number also needs zero tangents, a tape variable must be a constant.
    /// (`==` compares values only, so `x == R::zero()` holds for a dual number with value 0
    /// and a nonzero tangent.) Used to skip work that would only add zeros.
    #[inline]
    fn is_exact_zero(&self) -> bool {
        self.value() == 0.0
    }
    /// Whether the value is finite.
    #[inline]
    fn is_finite(&self) -> bool {
        self.value().is_finite()
    }

    /// eˣ.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// ln(1 + x), accurate for small x.
    fn ln_1p(self) -> Self;
    /// eˣ − 1, accurate for small x.
    fn exp_m1(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Cube root.
    fn cbrt(self) -> Self;
    /// Integer power.
    fn powi(self, n: i32) -> Self;
    /// Real power xʸ (x > 0 for a derivative in y).
    fn powf(self, y: Self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Tangent.
    fn tan(self) -> Self;
    /// Arcsine.
    fn asin(self) -> Self;
    /// Arccosine.
    fn acos(self) -> Self;
    /// Arctangent.
    fn atan(self) -> Self;
    /// Four-quadrant arctangent of `self / x`.
    fn atan2(self, x: Self) -> Self;
    /// Hyperbolic sine.
    fn sinh(self) -> Self;
    /// Hyperbolic cosine.
    fn cosh(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Absolute value (derivative 0 at 0).
    fn abs(self) -> Self;
    /// The smaller of two values (derivative of the chosen one; `self` on ties).
    fn min(self, other: Self) -> Self;
    /// The larger of two values (derivative of the chosen one; `self` on ties).
    fn max(self, other: Self) -> Self;
    /// The error function.
    fn erf(self) -> Self;
    /// The complementary error function 1 − erf(x).
    fn erfc(self) -> Self;
    /// ln |Γ(x)|.
    fn lgamma(self) -> Self;
    /// The digamma function ψ(x). Its own derivative (trigamma) is exact in value but is
    /// treated as a constant by nested duals, so third derivatives of `lgamma` are not.
    fn digamma(self) -> Self;

    /// 1 / x.
    #[inline]
    fn recip(self) -> Self {
        Self::one() / self
    }
    /// x².
    #[inline]
    fn square(self) -> Self {
        self * self
    }
    /// The logistic sigmoid 1 / (1 + e⁻ˣ), evaluated without overflow.
    #[inline]
    fn sigmoid(self) -> Self {
        if self.value() >= 0.0 {
            ((-self).exp() + 1.0).recip()
        } else {
            let e = self.exp();
            e / (e + 1.0)
        }
    }
    /// softplus(x) = ln(1 + eˣ), evaluated without overflow.
    #[inline]
    fn softplus(self) -> Self {
        if self.value() > 0.0 {
            self + (-self).exp().ln_1p()
        } else {
            self.exp().ln_1p()
        }
    }
    /// √(x² + y²).
    #[inline]
    fn hypot(self, y: Self) -> Self {
        (self * self + y * y).sqrt()
    }
    /// The standard normal CDF Φ(x) = ½ erfc(−x/√2).
    #[inline]
    fn normal_cdf(self) -> Self {
        (-self * std::f64::consts::FRAC_1_SQRT_2).erfc() * 0.5
    }
    /// Sum of a slice (one tape entry per term; use block sums for long vectors).
    #[inline]
    fn sum(xs: &[Self]) -> Self {
        let mut acc = Self::zero();
        for &x in xs {
            acc += x;
        }
        acc
    }
    /// `out = op(args)` for a fused operation ([`super::fused`]): one block on a
    /// `Tape<f64>`, [`FusedOp::eval`] (scalar operations) for every other scalar type.
    #[inline]
    fn fused<K: FusedOp>(op: &K, args: &[&[Self]], out: &mut [Self])
    where
        Self: Sized,
    {
        op.eval(args, out);
    }
    /// How variables on a `Tape<Self>` evaluate a fused operation: `f64` records one block,
    /// other scalar types (dual-number tapes) run [`FusedOp::eval`]. Called by
    /// [`Real::fused`] for [`Var`](super::Var); not meant to be called directly.
    #[doc(hidden)]
    #[inline]
    fn fused_on_tape<'t, K: FusedOp>(
        op: &K,
        args: &[&[TapeVar<'t, Self>]],
        out: &mut [TapeVar<'t, Self>],
    ) where
        Self: Sized,
    {
        op.eval(args, out);
    }
}

/// Derivative of each elementary function at `x`, shared by the dual and tape
/// implementations so the rules live in one place.
pub(crate) mod deriv {
    use super::special;
    use std::f64::consts::PI;

    /// d/dx erf(x) = 2/√π e^{−x²}.
    #[inline]
    pub fn erf(x: f64) -> f64 {
        2.0 / PI.sqrt() * (-x * x).exp()
    }
    /// d/dx lgamma = digamma.
    #[inline]
    pub fn lgamma(x: f64) -> f64 {
        special::digamma(x)
    }
    /// d/dx digamma = trigamma.
    #[inline]
    pub fn digamma(x: f64) -> f64 {
        special::trigamma(x)
    }
}

impl Real for f64 {
    #[inline]
    fn value(&self) -> f64 {
        *self
    }
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline]
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    #[inline]
    fn exp_m1(self) -> Self {
        f64::exp_m1(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline]
    fn cbrt(self) -> Self {
        f64::cbrt(self)
    }
    #[inline]
    fn powi(self, n: i32) -> Self {
        f64::powi(self, n)
    }
    #[inline]
    fn powf(self, y: Self) -> Self {
        f64::powf(self, y)
    }
    #[inline]
    fn sin(self) -> Self {
        f64::sin(self)
    }
    #[inline]
    fn cos(self) -> Self {
        f64::cos(self)
    }
    #[inline]
    fn tan(self) -> Self {
        f64::tan(self)
    }
    #[inline]
    fn asin(self) -> Self {
        f64::asin(self)
    }
    #[inline]
    fn acos(self) -> Self {
        f64::acos(self)
    }
    #[inline]
    fn atan(self) -> Self {
        f64::atan(self)
    }
    #[inline]
    fn atan2(self, x: Self) -> Self {
        f64::atan2(self, x)
    }
    #[inline]
    fn sinh(self) -> Self {
        f64::sinh(self)
    }
    #[inline]
    fn cosh(self) -> Self {
        f64::cosh(self)
    }
    #[inline]
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    #[inline]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline]
    fn min(self, other: Self) -> Self {
        if other < self { other } else { self }
    }
    #[inline]
    fn max(self, other: Self) -> Self {
        if other > self { other } else { self }
    }
    #[inline]
    fn erf(self) -> Self {
        special::erf(self)
    }
    #[inline]
    fn erfc(self) -> Self {
        special::erfc(self)
    }
    #[inline]
    fn lgamma(self) -> Self {
        special::lgamma(self)
    }
    #[inline]
    fn digamma(self) -> Self {
        special::digamma(self)
    }
    #[inline]
    fn recip(self) -> Self {
        1.0 / self
    }
    #[inline]
    fn sum(xs: &[Self]) -> Self {
        xs.iter().sum()
    }
    #[inline]
    fn fused<K: FusedOp>(op: &K, args: &[&[f64]], out: &mut [f64]) {
        op.eval_f64(args, out);
    }
    #[inline]
    fn fused_on_tape<'t, K: FusedOp>(
        op: &K,
        args: &[&[TapeVar<'t, f64>]],
        out: &mut [TapeVar<'t, f64>],
    ) {
        super::fused::record_on_tape(op, args, out);
    }
}

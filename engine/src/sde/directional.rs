//! Directional derivatives of model functions over any [`Real`]: the [`Tangent`] number.
//!
//! Milstein's method and the Itô–Stratonovich conversion need `(L g)(x) = (g·∇) g`, the
//! derivative of the diffusion along a direction. [`Tangent<R>`] is a dual number whose
//! value and tangent are themselves of type `R`: evaluating the diffusion on
//! `x + ε v` gives `g(x) + ε (v·∇)g(x)` with both parts in `R`. With `R = f64` this is plain
//! forward mode; with `R = Var` (a tape variable) the directional derivative is itself
//! recorded, so gradients flow through Milstein steps and converted drifts exactly.
//!
//! Nested derivatives are exact except through `digamma`, whose derivative (trigamma) is
//! taken as a constant with respect to `R`.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::ad::Real;
use crate::ad::special;

/// `v + ε d` with `ε² = 0`, over any scalar `R`.
#[derive(Clone, Copy, Debug)]
pub struct Tangent<R> {
    /// The value.
    pub v: R,
    /// The directional derivative.
    pub d: R,
}

impl<R: Real> Tangent<R> {
    /// `v + ε d`.
    #[inline]
    pub fn new(v: R, d: R) -> Self {
        Self { v, d }
    }
    /// A constant (zero tangent).
    #[inline]
    pub fn constant(v: R) -> Self {
        Self { v, d: R::zero() }
    }
    #[inline]
    fn chain(self, fv: R, dfdx: R) -> Self {
        Self {
            v: fv,
            d: dfdx * self.d,
        }
    }
}

impl<R: Real> PartialEq for Tangent<R> {
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        self.v.value() == o.v.value()
    }
}
impl<R: Real> PartialOrd for Tangent<R> {
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        self.v.value().partial_cmp(&o.v.value())
    }
}

impl<R: Real> Add for Tangent<R> {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        Self::new(self.v + o.v, self.d + o.d)
    }
}
impl<R: Real> Sub for Tangent<R> {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        Self::new(self.v - o.v, self.d - o.d)
    }
}
impl<R: Real> Mul for Tangent<R> {
    type Output = Self;
    #[inline]
    fn mul(self, o: Self) -> Self {
        Self::new(self.v * o.v, self.d * o.v + self.v * o.d)
    }
}
impl<R: Real> Div for Tangent<R> {
    type Output = Self;
    #[inline]
    fn div(self, o: Self) -> Self {
        let q = self.v / o.v;
        Self::new(q, (self.d - q * o.d) / o.v)
    }
}
impl<R: Real> Neg for Tangent<R> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Self::new(-self.v, -self.d)
    }
}
impl<R: Real> Add<f64> for Tangent<R> {
    type Output = Self;
    #[inline]
    fn add(self, o: f64) -> Self {
        Self::new(self.v + o, self.d)
    }
}
impl<R: Real> Sub<f64> for Tangent<R> {
    type Output = Self;
    #[inline]
    fn sub(self, o: f64) -> Self {
        Self::new(self.v - o, self.d)
    }
}
impl<R: Real> Mul<f64> for Tangent<R> {
    type Output = Self;
    #[inline]
    fn mul(self, o: f64) -> Self {
        Self::new(self.v * o, self.d * o)
    }
}
impl<R: Real> Div<f64> for Tangent<R> {
    type Output = Self;
    #[inline]
    fn div(self, o: f64) -> Self {
        Self::new(self.v / o, self.d / o)
    }
}

macro_rules! assign_ops {
    ($($tr:ident $m:ident $op:tt),*) => {$(
        impl<R: Real> $tr for Tangent<R> {
            #[inline]
            fn $m(&mut self, o: Self) { *self = *self $op o; }
        }
        impl<R: Real> $tr<f64> for Tangent<R> {
            #[inline]
            fn $m(&mut self, o: f64) { *self = *self $op o; }
        }
    )*};
}
assign_ops!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /);

impl<R: Real> Real for Tangent<R> {
    #[inline]
    fn value(&self) -> f64 {
        self.v.value()
    }
    #[inline]
    fn from_f64(x: f64) -> Self {
        Self::constant(R::from_f64(x))
    }
    #[inline]
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e)
    }
    #[inline]
    fn ln(self) -> Self {
        self.chain(self.v.ln(), self.v.recip())
    }
    #[inline]
    fn ln_1p(self) -> Self {
        self.chain(self.v.ln_1p(), (self.v + 1.0).recip())
    }
    #[inline]
    fn exp_m1(self) -> Self {
        self.chain(self.v.exp_m1(), self.v.exp())
    }
    #[inline]
    fn sqrt(self) -> Self {
        let s = self.v.sqrt();
        self.chain(s, (s * 2.0).recip())
    }
    #[inline]
    fn cbrt(self) -> Self {
        let c = self.v.cbrt();
        self.chain(c, (c * c * 3.0).recip())
    }
    #[inline]
    fn powi(self, n: i32) -> Self {
        let d = if n == 0 {
            R::zero()
        } else {
            self.v.powi(n - 1) * n as f64
        };
        self.chain(self.v.powi(n), d)
    }
    #[inline]
    fn powf(self, y: Self) -> Self {
        let p = self.v.powf(y.v);
        let da = if y.v.value() == 0.0 {
            R::zero()
        } else {
            y.v * self.v.powf(y.v - 1.0)
        };
        let db = if p.value() == 0.0 {
            R::zero()
        } else {
            p * self.v.ln()
        };
        Self::new(p, da * self.d + db * y.d)
    }
    #[inline]
    fn sin(self) -> Self {
        self.chain(self.v.sin(), self.v.cos())
    }
    #[inline]
    fn cos(self) -> Self {
        self.chain(self.v.cos(), -self.v.sin())
    }
    #[inline]
    fn tan(self) -> Self {
        let t = self.v.tan();
        self.chain(t, t * t + 1.0)
    }
    #[inline]
    fn asin(self) -> Self {
        self.chain(self.v.asin(), (R::one() - self.v * self.v).sqrt().recip())
    }
    #[inline]
    fn acos(self) -> Self {
        self.chain(self.v.acos(), -(R::one() - self.v * self.v).sqrt().recip())
    }
    #[inline]
    fn atan(self) -> Self {
        self.chain(self.v.atan(), (self.v * self.v + 1.0).recip())
    }
    #[inline]
    fn atan2(self, x: Self) -> Self {
        let r2 = self.v * self.v + x.v * x.v;
        Self::new(self.v.atan2(x.v), (x.v * self.d - self.v * x.d) / r2)
    }
    #[inline]
    fn sinh(self) -> Self {
        self.chain(self.v.sinh(), self.v.cosh())
    }
    #[inline]
    fn cosh(self) -> Self {
        self.chain(self.v.cosh(), self.v.sinh())
    }
    #[inline]
    fn tanh(self) -> Self {
        let t = self.v.tanh();
        self.chain(t, R::one() - t * t)
    }
    #[inline]
    fn abs(self) -> Self {
        let v = self.v.value();
        let s = if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        };
        Self::new(self.v.abs(), self.d * s)
    }
    #[inline]
    fn min(self, other: Self) -> Self {
        if other.v.value() < self.v.value() {
            other
        } else {
            self
        }
    }
    #[inline]
    fn max(self, other: Self) -> Self {
        if other.v.value() > self.v.value() {
            other
        } else {
            self
        }
    }
    #[inline]
    fn erf(self) -> Self {
        let d = (-(self.v * self.v)).exp() * std::f64::consts::FRAC_2_SQRT_PI;
        self.chain(self.v.erf(), d)
    }
    #[inline]
    fn erfc(self) -> Self {
        let d = (-(self.v * self.v)).exp() * -std::f64::consts::FRAC_2_SQRT_PI;
        self.chain(self.v.erfc(), d)
    }
    #[inline]
    fn lgamma(self) -> Self {
        self.chain(self.v.lgamma(), self.v.digamma())
    }
    #[inline]
    fn digamma(self) -> Self {
        let d = R::from_f64(special::trigamma(self.v.value()));
        self.chain(self.v.digamma(), d)
    }
}

/// Writes `J_f(x) v` (the derivative of `f` at `x` along `v`) into `jv` and `f(x)` into
/// `fx`, where `f` is any function written against [`Real`], evaluated on [`Tangent<R>`].
///
/// `xt` and `out` are scratch buffers of the input and output sizes.
pub fn directional<R: Real>(
    x: &[R],
    v: &[R],
    xt: &mut [Tangent<R>],
    out: &mut [Tangent<R>],
    f: impl FnOnce(&[Tangent<R>], &mut [Tangent<R>]),
    fx: &mut [R],
    jv: &mut [R],
) {
    for ((t, &xi), &vi) in xt.iter_mut().zip(x).zip(v) {
        *t = Tangent::new(xi, vi);
    }
    f(xt, out);
    for ((o, a), b) in out.iter().zip(fx.iter_mut()).zip(jv.iter_mut()) {
        *a = o.v;
        *b = o.d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::Tape;

    fn f<R: Real>(x: R) -> R {
        (x.sin() * x.exp() + x.powi(3)).tanh() + x.sqrt().atan2(x + 2.0) + x.erf() * x.lgamma()
    }

    #[test]
    fn tangent_over_f64_matches_finite_differences() {
        let x = 0.7;
        let t = f(Tangent::new(x, 1.0));
        let h = 1e-6;
        let fd = (f(x + h) - f(x - h)) / (2.0 * h);
        assert!((t.v - f(x)).abs() < 1e-15);
        assert!((t.d - fd).abs() < 1e-8, "{} vs {fd}", t.d);
    }

    #[test]
    fn tangent_over_tape_gives_second_derivative() {
        // d/dx [f'(x)] by reverse mode over the tangent, against differences of f'.
        let x0 = 0.9;
        let tape = Tape::new();
        let x = tape.var(x0);
        let t = f(Tangent::new(x, crate::ad::Var::constant(1.0)));
        let second = tape.gradient(&t.d).unwrap().wrt(&x);
        let d1 = |x: f64| f(Tangent::new(x, 1.0)).d;
        let h = 1e-5;
        let fd = (d1(x0 + h) - d1(x0 - h)) / (2.0 * h);
        assert!((second - fd).abs() < 1e-6, "{second} vs {fd}");
    }
}

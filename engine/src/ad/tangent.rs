//! The nested dual number [`Tangent<R>`]: a value and one directional derivative, both of
//! any scalar type `R: Real`.
//!
//! # The dual-number family
//! | type | value | tangents | use |
//! |---|---|---|---|
//! | [`Dual`](super::Dual) `= DualN<1>` | `f64` | one `f64` | a derivative along one direction |
//! | [`DualN<N>`](super::DualN) | `f64` | `N` `f64`s | `N` columns of a Jacobian per pass |
//! | [`Tangent<R>`] | `R` | one `R` | a directional derivative that is itself differentiable |
//!
//! All three implement [`Real`] with the same conventions (comparisons on the value,
//! one-sided derivatives at kinks, a term of `powf` dropped where its direction has a zero
//! tangent). For `x = v + ε d` with `ε² = 0`, `f(x) = f(v) + ε f'(v) d`; in `Tangent<R>`
//! the parts `v` and `d` are of type `R`, so the derivative rule is evaluated in `R`:
//!
//! * `Tangent<f64>` is forward mode, the same numbers as [`Dual`](super::Dual);
//! * `Tangent<Var>` records the directional derivative on a tape, so a gradient of an
//!   expression that contains a directional derivative (the Milstein correction
//!   `(g·∇)g`, the Itô–Stratonovich drift correction) is exact;
//! * `Tangent<Tangent<f64>>` gives second directional derivatives (forward over forward).
//!
//! Nested derivatives are exact except through `digamma`, whose derivative (trigamma) is a
//! constant with respect to `R` (as for the other dual numbers).
//!
//! ```
//! use mechml_engine::ad::{Real, Tangent, Tape};
//!
//! fn f<R: Real>(x: R) -> R { x.sin() * x }
//! // f'(x) = sin x + x cos x, by forward mode over f64.
//! let t = f(Tangent::new(0.5, 1.0));
//! assert!((t.d - (0.5f64.sin() + 0.5 * 0.5f64.cos())).abs() < 1e-15);
//! // f''(x) = 2 cos x − x sin x, by reverse mode over the tangent.
//! let tape = Tape::new();
//! let x = tape.var(0.5);
//! let t = f(Tangent::new(x, Real::one()));
//! let f2 = tape.gradient(&t.d)?.wrt(&x);
//! assert!((f2 - (2.0 * 0.5f64.cos() - 0.5 * 0.5f64.sin())).abs() < 1e-14);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::Real;
use super::special;

/// `v + ε d` with `ε² = 0`, both parts of type `R` (see the [module docs](self)).
///
/// Comparisons (`==`, `<`, …) look at the value only, as for every [`Real`]; to test for an
/// exact zero including the tangent use [`Real::is_exact_zero`].
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
    /// Chain rule for a unary function with value `fv` and derivative `dfdx` at `self.v`.
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
    fn is_exact_zero(&self) -> bool {
        self.v.is_exact_zero() && self.d.is_exact_zero()
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
    /// `xʸ`. As for [`DualN`](super::DualN), a part whose tangent is exactly zero takes no
    /// term from its partial: a negative base with a constant (integer) exponent has the
    /// tangent `y xʸ⁻¹ dx` although `∂/∂y = xʸ ln x` is NaN.
    #[inline]
    fn powf(self, y: Self) -> Self {
        let p = self.v.powf(y.v);
        let ta = if self.d.is_exact_zero() || y.v.is_exact_zero() {
            R::zero()
        } else {
            y.v * self.v.powf(y.v - 1.0) * self.d
        };
        let tb = if y.d.is_exact_zero() || p.is_exact_zero() {
            R::zero()
        } else {
            p * self.v.ln() * y.d
        };
        Self::new(p, ta + tb)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::{Dual, Tape, Var};
    use proptest::prelude::*;

    /// Every operation of [`Real`] on a smooth domain: `(name, lo, hi)`, applied by
    /// [`apply`] (one generic function, so the same code runs on every scalar type).
    const OPS: &[(&str, f64, f64)] = &[
        ("exp", -3.0, 3.0),
        ("ln", 0.1, 5.0),
        ("ln_1p", -0.9, 5.0),
        ("exp_m1", -3.0, 3.0),
        ("sqrt", 0.1, 5.0),
        ("cbrt", 0.1, 5.0),
        ("powi3", -2.0, 2.0),
        ("powi-2", 0.3, 2.0),
        ("powf", 0.2, 3.0),
        ("powf-const", -2.0, -0.2),
        ("sin", -4.0, 4.0),
        ("cos", -4.0, 4.0),
        ("tan", -1.2, 1.2),
        ("asin", -0.9, 0.9),
        ("acos", -0.9, 0.9),
        ("atan", -4.0, 4.0),
        ("atan2", -3.0, 3.0),
        ("sinh", -3.0, 3.0),
        ("cosh", -3.0, 3.0),
        ("tanh", -3.0, 3.0),
        ("abs", 0.1, 3.0),
        ("abs-neg", -3.0, -0.1),
        ("min", -1.0, 2.0),
        ("max", 0.6, 2.5),
        ("erf", -2.5, 2.5),
        ("erfc", -2.5, 2.5),
        ("lgamma", 0.2, 8.0),
        ("digamma", 0.3, 8.0),
        ("recip", 0.2, 4.0),
        ("square", -3.0, 3.0),
        ("sigmoid", -6.0, 6.0),
        ("softplus", -6.0, 6.0),
        ("hypot", -3.0, 3.0),
        ("normal_cdf", -3.0, 3.0),
        ("div", 0.3, 3.0),
        ("mixed", -2.0, 2.0),
    ];

    /// Operation `name` at `x`, composed with arithmetic so that the chain rule and the
    /// binary rules are exercised.
    fn apply<R: Real>(name: &str, x: R) -> R {
        let c = R::from_f64(0.7);
        match name {
            "exp" => x.exp(),
            "ln" => x.ln(),
            "ln_1p" => x.ln_1p(),
            "exp_m1" => x.exp_m1(),
            "sqrt" => x.sqrt(),
            "cbrt" => x.cbrt(),
            "powi3" => x.powi(3),
            "powi-2" => x.powi(-2),
            "powf" => x.powf(x * 0.5 + 0.3),
            "powf-const" => x.powf(R::from_f64(3.0)),
            "sin" => x.sin(),
            "cos" => x.cos(),
            "tan" => x.tan(),
            "asin" => x.asin(),
            "acos" => x.acos(),
            "atan" => x.atan(),
            "atan2" => (x - 4.0).atan2(x * 0.5 + 2.5),
            "sinh" => x.sinh(),
            "cosh" => x.cosh(),
            "tanh" => x.tanh(),
            "abs" | "abs-neg" => x.abs(),
            "min" => (x * x).min(x + 3.0),
            "max" => (x * x).max(c - x),
            "erf" => x.erf(),
            "erfc" => x.erfc(),
            "lgamma" => x.lgamma(),
            "digamma" => x.digamma(),
            "recip" => x.recip(),
            "square" => x.square(),
            "sigmoid" => x.sigmoid(),
            "softplus" => x.softplus(),
            "hypot" => x.hypot(x * 0.3 - 2.0),
            "normal_cdf" => x.normal_cdf(),
            "div" => (x * x + 1.0) / (x - c * 2.0 - 3.0),
            "mixed" => (x.sin() * x.exp() + x.powi(3)).tanh() - (-x) * c,
            other => panic!("unknown op {other}"),
        }
    }

    /// A central difference with its own error estimate: the difference of the estimates
    /// at steps `h` and `h/2` bounds the truncation error (Richardson).
    fn central(f: impl Fn(f64) -> f64, x: f64) -> (f64, f64) {
        let h = 1e-4 * (1.0 + x.abs());
        let d = |h: f64| (f(x + h) - f(x - h)) / (2.0 * h);
        let (a, b) = (d(h), d(0.5 * h));
        (b + (b - a) / 3.0, (b - a).abs())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// `Tangent<f64>` agrees with `Dual` (the same forward mode) and with finite
        /// differences.
        #[test]
        fn tangent_over_f64_matches_dual_and_finite_differences(u in 0.0f64..1.0) {
            for &(name, lo, hi) in OPS {
                let x = lo + (hi - lo) * u;
                let t = apply(name, Tangent::new(x, 1.0));
                let dual = apply(name, Dual::dual(x, 1.0));
                prop_assert_eq!(t.v.to_bits(), dual.v.to_bits(), "{} value at {}", name, x);
                prop_assert!(
                    (t.d - dual.d[0]).abs() <= 1e-13 * (1.0 + dual.d[0].abs()),
                    "{name} at {x}: tangent {} vs dual {}", t.d, dual.d[0]
                );
                let (fd, err) = central(|x| apply(name, x), x);
                prop_assert!(
                    (t.d - fd).abs() <= 1e-7 * (1.0 + fd.abs()) + 10.0 * err,
                    "{name} at {x}: tangent {} vs finite difference {fd} (± {err:e})", t.d
                );
            }
        }

        /// Nested: the tangent of `Tangent<Tangent<f64>>` in both directions is the second
        /// derivative, equal to reverse mode over `Tangent<Var>` and to differences of the
        /// first derivative.
        #[test]
        fn nested_tangents_give_second_derivatives(u in 0.0f64..1.0) {
            for &(name, lo, hi) in OPS {
                if name == "digamma" || name == "lgamma" {
                    continue; // trigamma is a constant for nested duals (documented)
                }
                let x = lo + (hi - lo) * u;
                let xx = Tangent::new(Tangent::new(x, 1.0), Tangent::new(1.0, 0.0));
                let second = apply(name, xx).d.d;
                let tape = Tape::new();
                let xv = tape.var(x);
                let t = apply(name, Tangent::new(xv, Var::constant(1.0)));
                let rev = tape.gradient(&t.d).map_err(|e| TestCaseError::fail(e.to_string()))?.wrt(&xv);
                prop_assert!(
                    (second - rev).abs() <= 1e-10 * (1.0 + rev.abs()),
                    "{name} at {x}: forward-over-forward {second} vs reverse-over-forward {rev}"
                );
                let (fd, err) = central(|x| apply(name, Tangent::new(x, 1.0)).d, x);
                prop_assert!(
                    (second - fd).abs() <= 1e-6 * (1.0 + fd.abs()) + 10.0 * err,
                    "{name} at {x}: {second} vs finite difference {fd} (± {err:e})"
                );
            }
        }
    }

    /// A composition of many rules (from the former `sde::directional` tests).
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
        let t = f(Tangent::new(x, Var::constant(1.0)));
        let second = tape.gradient(&t.d).unwrap().wrt(&x);
        let d1 = |x: f64| f(Tangent::new(x, 1.0)).d;
        let h = 1e-5;
        let fd = (d1(x0 + h) - d1(x0 - h)) / (2.0 * h);
        assert!((second - fd).abs() < 1e-6, "{second} vs {fd}");
    }

    #[test]
    fn exact_zero_includes_the_tangent() {
        assert!(Tangent::new(0.0, 0.0).is_exact_zero());
        assert!(!Tangent::new(0.0, 1.0).is_exact_zero());
        assert_eq!(Tangent::new(0.0, 1.0), Tangent::constant(0.0)); // values only
    }

    #[test]
    fn powf_of_a_negative_base_with_a_constant_exponent_is_finite() {
        // ∂/∂y xʸ = xʸ ln x is NaN for x < 0; the exponent is constant, so no term from it.
        let t = Tangent::new(-2.0, 1.0).powf(Tangent::constant(3.0));
        assert_eq!((t.v, t.d), (-8.0, 12.0));
    }
}

//! Forward-mode dual numbers: [`DualN`] carries `N` tangents (one column of a Jacobian
//! per tangent), [`Dual`] is the single-tangent case.
//!
//! For `x = v + Σ dₖ εₖ` with εₖ εⱼ = 0, `f(x) = f(v) + f'(v) Σ dₖ εₖ`: every operation
//! propagates the value and the `N` directional derivatives in one pass.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::real::{Real, deriv};
use super::special;

/// A dual number with `N` tangent directions.
///
/// Comparisons (`==`, `<`, …) look at the value only, like those of `f64` and
/// [`Var`](super::Var): `DualN::new(1.0, [2.0]) == DualN::constant(1.0)`. To test for an
/// exact zero including the tangents, use [`Real::is_exact_zero`].
#[derive(Clone, Copy, Debug)]
pub struct DualN<const N: usize> {
    /// The primal value.
    pub v: f64,
    /// The tangents ∂v/∂(direction k).
    pub d: [f64; N],
}

/// A dual number with one tangent.
pub type Dual = DualN<1>;

impl DualN<1> {
    /// `v + d ε`.
    #[inline]
    pub fn dual(v: f64, d: f64) -> Self {
        Self { v, d: [d] }
    }
    /// The tangent.
    #[inline]
    pub fn tangent(&self) -> f64 {
        self.d[0]
    }
}

impl<const N: usize> DualN<N> {
    /// A value with the given tangents.
    #[inline]
    pub fn new(v: f64, d: [f64; N]) -> Self {
        Self { v, d }
    }
    /// A constant (all tangents zero).
    #[inline]
    pub fn constant(v: f64) -> Self {
        Self { v, d: [0.0; N] }
    }
    /// The `k`-th seed: value `v`, tangent 1 in direction `k`, 0 elsewhere.
    /// `k >= N` gives a constant.
    #[inline]
    pub fn seed(v: f64, k: usize) -> Self {
        let mut d = [0.0; N];
        if k < N {
            d[k] = 1.0;
        }
        Self { v, d }
    }
    /// Chain rule for a unary function with value `fv` and derivative `dfdx` at `self.v`.
    #[inline]
    fn chain(self, fv: f64, dfdx: f64) -> Self {
        let mut d = self.d;
        for t in &mut d {
            *t *= dfdx;
        }
        Self { v: fv, d }
    }
    /// Chain rule for a binary function with partials `da`, `db`.
    #[inline]
    fn chain2(self, other: Self, fv: f64, da: f64, db: f64) -> Self {
        let mut d = [0.0; N];
        for ((dk, a), b) in d.iter_mut().zip(&self.d).zip(&other.d) {
            *dk = da * a + db * b;
        }
        Self { v: fv, d }
    }
}

impl<const N: usize> Default for DualN<N> {
    fn default() -> Self {
        Self::constant(0.0)
    }
}

impl<const N: usize> PartialEq for DualN<N> {
    /// Compares the values only (consistent with [`PartialOrd`]).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.v == other.v
    }
}

impl<const N: usize> PartialOrd for DualN<N> {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.v.partial_cmp(&other.v)
    }
}

impl<const N: usize> Add for DualN<N> {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        let mut d = self.d;
        for (dk, o) in d.iter_mut().zip(&o.d) {
            *dk += o;
        }
        Self { v: self.v + o.v, d }
    }
}
impl<const N: usize> Sub for DualN<N> {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        let mut d = self.d;
        for (dk, o) in d.iter_mut().zip(&o.d) {
            *dk -= o;
        }
        Self { v: self.v - o.v, d }
    }
}
impl<const N: usize> Mul for DualN<N> {
    type Output = Self;
    #[inline]
    fn mul(self, o: Self) -> Self {
        self.chain2(o, self.v * o.v, o.v, self.v)
    }
}
impl<const N: usize> Div for DualN<N> {
    type Output = Self;
    #[inline]
    fn div(self, o: Self) -> Self {
        let q = self.v / o.v;
        self.chain2(o, q, 1.0 / o.v, -q / o.v)
    }
}
impl<const N: usize> Neg for DualN<N> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        self.chain(-self.v, -1.0)
    }
}
impl<const N: usize> Add<f64> for DualN<N> {
    type Output = Self;
    #[inline]
    fn add(self, c: f64) -> Self {
        Self {
            v: self.v + c,
            d: self.d,
        }
    }
}
impl<const N: usize> Sub<f64> for DualN<N> {
    type Output = Self;
    #[inline]
    fn sub(self, c: f64) -> Self {
        Self {
            v: self.v - c,
            d: self.d,
        }
    }
}
impl<const N: usize> Mul<f64> for DualN<N> {
    type Output = Self;
    #[inline]
    fn mul(self, c: f64) -> Self {
        self.chain(self.v * c, c)
    }
}
impl<const N: usize> Div<f64> for DualN<N> {
    type Output = Self;
    #[inline]
    fn div(self, c: f64) -> Self {
        self.chain(self.v / c, 1.0 / c)
    }
}
impl<const N: usize> Add<DualN<N>> for f64 {
    type Output = DualN<N>;
    #[inline]
    fn add(self, x: DualN<N>) -> DualN<N> {
        x + self
    }
}
impl<const N: usize> Sub<DualN<N>> for f64 {
    type Output = DualN<N>;
    #[inline]
    fn sub(self, x: DualN<N>) -> DualN<N> {
        -x + self
    }
}
impl<const N: usize> Mul<DualN<N>> for f64 {
    type Output = DualN<N>;
    #[inline]
    fn mul(self, x: DualN<N>) -> DualN<N> {
        x * self
    }
}
impl<const N: usize> Div<DualN<N>> for f64 {
    type Output = DualN<N>;
    #[inline]
    fn div(self, x: DualN<N>) -> DualN<N> {
        DualN::constant(self) / x
    }
}

macro_rules! assign_ops {
    ($($tr:ident $m:ident $op:tt),*) => {$(
        impl<const N: usize> $tr for DualN<N> {
            #[inline]
            fn $m(&mut self, o: Self) { *self = *self $op o; }
        }
        impl<const N: usize> $tr<f64> for DualN<N> {
            #[inline]
            fn $m(&mut self, o: f64) { *self = *self $op o; }
        }
    )*};
}
assign_ops!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /);

impl<const N: usize> Real for DualN<N> {
    #[inline]
    fn value(&self) -> f64 {
        self.v
    }
    #[inline]
    fn from_f64(x: f64) -> Self {
        Self::constant(x)
    }
    #[inline]
    fn is_exact_zero(&self) -> bool {
        self.v == 0.0 && self.d.iter().all(|t| *t == 0.0)
    }
    #[inline]
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e)
    }
    #[inline]
    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v)
    }
    #[inline]
    fn ln_1p(self) -> Self {
        self.chain(self.v.ln_1p(), 1.0 / (1.0 + self.v))
    }
    #[inline]
    fn exp_m1(self) -> Self {
        self.chain(self.v.exp_m1(), self.v.exp())
    }
    #[inline]
    fn sqrt(self) -> Self {
        let s = self.v.sqrt();
        self.chain(s, 0.5 / s)
    }
    #[inline]
    fn cbrt(self) -> Self {
        let c = self.v.cbrt();
        self.chain(c, 1.0 / (3.0 * c * c))
    }
    #[inline]
    fn powi(self, n: i32) -> Self {
        let d = if n == 0 {
            0.0
        } else {
            n as f64 * self.v.powi(n - 1)
        };
        self.chain(self.v.powi(n), d)
    }
    /// `xʸ`. A direction in which `x` (or `y`) has a zero tangent takes no term from the
    /// partial in `x` (or `y`), as on the tape: for a negative base and a constant
    /// (integer) exponent the tangent is `y xʸ⁻¹` although `∂/∂y = xʸ ln x` is NaN, and for a
    /// zero base and a constant exponent below 1 the infinite `∂/∂x` is not multiplied into
    /// a NaN.
    #[inline]
    fn powf(self, y: Self) -> Self {
        let p = self.v.powf(y.v);
        let da = if y.v == 0.0 {
            0.0
        } else {
            y.v * self.v.powf(y.v - 1.0)
        };
        let db = if p == 0.0 { 0.0 } else { p * self.v.ln() };
        let mut d = [0.0; N];
        for ((dk, &a), &b) in d.iter_mut().zip(&self.d).zip(&y.d) {
            let ta = if a == 0.0 { 0.0 } else { da * a };
            let tb = if b == 0.0 { 0.0 } else { db * b };
            *dk = ta + tb;
        }
        Self { v: p, d }
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
        self.chain(t, 1.0 + t * t)
    }
    #[inline]
    fn asin(self) -> Self {
        self.chain(self.v.asin(), 1.0 / (1.0 - self.v * self.v).sqrt())
    }
    #[inline]
    fn acos(self) -> Self {
        self.chain(self.v.acos(), -1.0 / (1.0 - self.v * self.v).sqrt())
    }
    #[inline]
    fn atan(self) -> Self {
        self.chain(self.v.atan(), 1.0 / (1.0 + self.v * self.v))
    }
    #[inline]
    fn atan2(self, x: Self) -> Self {
        let r2 = self.v * self.v + x.v * x.v;
        self.chain2(x, self.v.atan2(x.v), x.v / r2, -self.v / r2)
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
        self.chain(t, 1.0 - t * t)
    }
    #[inline]
    fn abs(self) -> Self {
        let s = if self.v > 0.0 {
            1.0
        } else if self.v < 0.0 {
            -1.0
        } else {
            0.0
        };
        self.chain(self.v.abs(), s)
    }
    #[inline]
    fn min(self, other: Self) -> Self {
        if other.v < self.v { other } else { self }
    }
    #[inline]
    fn max(self, other: Self) -> Self {
        if other.v > self.v { other } else { self }
    }
    #[inline]
    fn erf(self) -> Self {
        self.chain(special::erf(self.v), deriv::erf(self.v))
    }
    #[inline]
    fn erfc(self) -> Self {
        self.chain(special::erfc(self.v), -deriv::erf(self.v))
    }
    #[inline]
    fn lgamma(self) -> Self {
        self.chain(special::lgamma(self.v), deriv::lgamma(self.v))
    }
    #[inline]
    fn digamma(self) -> Self {
        self.chain(special::digamma(self.v), deriv::digamma(self.v))
    }
}

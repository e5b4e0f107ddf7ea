//! [`Var`]: a scalar on a [`Tape`], implementing [`Real`].
//!
//! A `Var` is 24 bytes for `S = f64` (tape reference, slot, value) and `Copy`. A constant
//! (`Var::constant`, [`Real::from_f64`]) belongs to no tape; operations between constants
//! record nothing.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::real::{Real, deriv};
use super::tape::Tape;
use crate::error::Error;

/// A scalar variable recorded on a tape (or a constant on none).
#[derive(Clone, Copy)]
pub struct Var<'t, S = f64> {
    tape: Option<&'t Tape<S>>,
    slot: u32,
    val: S,
}

impl<S: Real> std::fmt::Debug for Var<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.tape {
            Some(_) => write!(f, "Var({:?} @ {})", self.val, self.slot),
            None => write!(f, "Const({:?})", self.val),
        }
    }
}

impl<'t, S: Real> Var<'t, S> {
    /// A constant: not on any tape, zero derivative.
    #[inline(always)]
    pub fn constant(val: S) -> Self {
        Self {
            tape: None,
            slot: 0,
            val,
        }
    }
    #[inline(always)]
    pub(crate) fn from_parts(tape: &'t Tape<S>, slot: u32, val: S) -> Self {
        Self {
            tape: Some(tape),
            slot,
            val,
        }
    }
    /// The value (of scalar type `S`).
    #[inline(always)]
    pub fn val(&self) -> S {
        self.val
    }
    /// The slot on its tape, or `None` for a constant.
    #[inline(always)]
    pub fn slot_if_var(&self) -> Option<u32> {
        self.tape.map(|_| self.slot)
    }
    /// The slot (0 for a constant).
    #[inline(always)]
    pub fn slot(&self) -> u32 {
        self.slot
    }
    /// The tape this variable is on, if any.
    #[inline(always)]
    pub fn tape(&self) -> Option<&'t Tape<S>> {
        self.tape
    }
    /// Whether this is a constant.
    #[inline(always)]
    pub fn is_constant(&self) -> bool {
        self.tape.is_none()
    }

    /// Records `f(self)` with value `val` and derivative `d`.
    #[inline(always)]
    fn unary(self, val: S, d: S, op: &'static str) -> Self {
        match self.tape {
            None => Self::constant(val),
            Some(t) => Self {
                tape: Some(t),
                slot: t.push_unary(self.slot, d, &val, op),
                val,
            },
        }
    }

    /// Records `f(self, o)` with value `val` and partials `da`, `db`.
    #[inline(always)]
    fn binary(self, o: Self, val: S, da: S, db: S, op: &'static str) -> Self {
        match (self.tape, o.tape) {
            (None, None) => Self::constant(val),
            (Some(t), None) => Self {
                tape: Some(t),
                slot: t.push_unary(self.slot, da, &val, op),
                val,
            },
            (None, Some(t)) => Self {
                tape: Some(t),
                slot: t.push_unary(o.slot, db, &val, op),
                val,
            },
            (Some(t), Some(u)) => {
                if !std::ptr::eq(t, u) {
                    t.fail(Error::MixedTapes { op });
                }
                Self {
                    tape: Some(t),
                    slot: t.push_binary(self.slot, da, o.slot, db, &val, op),
                    val,
                }
            }
        }
    }
}

impl<S: Real> PartialEq for Var<'_, S> {
    #[inline(always)]
    fn eq(&self, o: &Self) -> bool {
        self.val == o.val
    }
}
impl<S: Real> PartialOrd for Var<'_, S> {
    #[inline(always)]
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        self.val.partial_cmp(&o.val)
    }
}

impl<S: Real> Add for Var<'_, S> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.binary(o, self.val + o.val, S::one(), S::one(), "add")
    }
}
impl<S: Real> Sub for Var<'_, S> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.binary(o, self.val - o.val, S::one(), -S::one(), "sub")
    }
}
impl<S: Real> Mul for Var<'_, S> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.binary(o, self.val * o.val, o.val, self.val, "mul")
    }
}
impl<S: Real> Div for Var<'_, S> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        let q = self.val / o.val;
        self.binary(o, q, o.val.recip(), -q / o.val, "div")
    }
}
impl<S: Real> Neg for Var<'_, S> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.unary(-self.val, -S::one(), "neg")
    }
}
impl<S: Real> Add<f64> for Var<'_, S> {
    type Output = Self;
    #[inline(always)]
    fn add(self, c: f64) -> Self {
        self.unary(self.val + c, S::one(), "add")
    }
}
impl<S: Real> Sub<f64> for Var<'_, S> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, c: f64) -> Self {
        self.unary(self.val - c, S::one(), "sub")
    }
}
impl<S: Real> Mul<f64> for Var<'_, S> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, c: f64) -> Self {
        self.unary(self.val * c, S::from_f64(c), "mul")
    }
}
impl<S: Real> Div<f64> for Var<'_, S> {
    type Output = Self;
    #[inline(always)]
    fn div(self, c: f64) -> Self {
        self.unary(self.val / c, S::from_f64(1.0 / c), "div")
    }
}
impl<'t, S: Real> Add<Var<'t, S>> for f64 {
    type Output = Var<'t, S>;
    #[inline(always)]
    fn add(self, x: Var<'t, S>) -> Var<'t, S> {
        x + self
    }
}
impl<'t, S: Real> Sub<Var<'t, S>> for f64 {
    type Output = Var<'t, S>;
    #[inline(always)]
    fn sub(self, x: Var<'t, S>) -> Var<'t, S> {
        x.unary(S::from_f64(self) - x.val, -S::one(), "sub")
    }
}
impl<'t, S: Real> Mul<Var<'t, S>> for f64 {
    type Output = Var<'t, S>;
    #[inline(always)]
    fn mul(self, x: Var<'t, S>) -> Var<'t, S> {
        x * self
    }
}
impl<'t, S: Real> Div<Var<'t, S>> for f64 {
    type Output = Var<'t, S>;
    #[inline(always)]
    fn div(self, x: Var<'t, S>) -> Var<'t, S> {
        let q = S::from_f64(self) / x.val;
        x.unary(q, -q / x.val, "div")
    }
}

macro_rules! var_assign_ops {
    ($($tr:ident $m:ident $op:tt),*) => {$(
        impl<S: Real> $tr for Var<'_, S> {
            #[inline(always)]
            fn $m(&mut self, o: Self) { *self = *self $op o; }
        }
        impl<S: Real> $tr<f64> for Var<'_, S> {
            #[inline(always)]
            fn $m(&mut self, o: f64) { *self = *self $op o; }
        }
    )*};
}
var_assign_ops!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /);

impl<S: Real> Real for Var<'_, S> {
    #[inline(always)]
    fn value(&self) -> f64 {
        self.val.value()
    }
    #[inline]
    fn fused<K: super::fused::FusedOp>(op: &K, args: &[&[Self]], out: &mut [Self]) {
        S::fused_on_tape(op, args, out);
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        Self::constant(S::from_f64(x))
    }
    #[inline(always)]
    fn is_exact_zero(&self) -> bool {
        self.is_constant() && self.val.is_exact_zero()
    }
    #[inline(always)]
    fn exp(self) -> Self {
        let e = self.val.exp();
        self.unary(e, e, "exp")
    }
    #[inline(always)]
    fn ln(self) -> Self {
        self.unary(self.val.ln(), self.val.recip(), "ln")
    }
    #[inline(always)]
    fn ln_1p(self) -> Self {
        self.unary(self.val.ln_1p(), (self.val + 1.0).recip(), "ln_1p")
    }
    #[inline(always)]
    fn exp_m1(self) -> Self {
        self.unary(self.val.exp_m1(), self.val.exp(), "exp_m1")
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        let s = self.val.sqrt();
        self.unary(s, (s * 2.0).recip(), "sqrt")
    }
    #[inline(always)]
    fn cbrt(self) -> Self {
        let c = self.val.cbrt();
        self.unary(c, (c * c * 3.0).recip(), "cbrt")
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        let d = if n == 0 {
            S::zero()
        } else {
            self.val.powi(n - 1) * n as f64
        };
        self.unary(self.val.powi(n), d, "powi")
    }
    #[inline(always)]
    fn powf(self, y: Self) -> Self {
        let p = self.val.powf(y.val);
        // `is_exact_zero`, not `value() == 0`: on a tape of dual numbers the partials'
        // tangents (second derivatives) must survive a zero value.
        let da = if y.val.is_exact_zero() {
            S::zero()
        } else {
            y.val * self.val.powf(y.val - 1.0)
        };
        let db = if p.is_exact_zero() {
            S::zero()
        } else {
            p * self.val.ln()
        };
        self.binary(y, p, da, db, "powf")
    }
    #[inline(always)]
    fn sin(self) -> Self {
        self.unary(self.val.sin(), self.val.cos(), "sin")
    }
    #[inline(always)]
    fn cos(self) -> Self {
        self.unary(self.val.cos(), -self.val.sin(), "cos")
    }
    #[inline(always)]
    fn tan(self) -> Self {
        let t = self.val.tan();
        self.unary(t, t * t + 1.0, "tan")
    }
    #[inline(always)]
    fn asin(self) -> Self {
        let d = (S::one() - self.val * self.val).sqrt().recip();
        self.unary(self.val.asin(), d, "asin")
    }
    #[inline(always)]
    fn acos(self) -> Self {
        let d = -(S::one() - self.val * self.val).sqrt().recip();
        self.unary(self.val.acos(), d, "acos")
    }
    #[inline(always)]
    fn atan(self) -> Self {
        self.unary(self.val.atan(), (self.val * self.val + 1.0).recip(), "atan")
    }
    #[inline(always)]
    fn atan2(self, x: Self) -> Self {
        let r2 = self.val * self.val + x.val * x.val;
        self.binary(
            x,
            self.val.atan2(x.val),
            x.val / r2,
            -self.val / r2,
            "atan2",
        )
    }
    #[inline(always)]
    fn sinh(self) -> Self {
        self.unary(self.val.sinh(), self.val.cosh(), "sinh")
    }
    #[inline(always)]
    fn cosh(self) -> Self {
        self.unary(self.val.cosh(), self.val.sinh(), "cosh")
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        let t = self.val.tanh();
        self.unary(t, S::one() - t * t, "tanh")
    }
    #[inline(always)]
    fn abs(self) -> Self {
        let v = self.val.value();
        let s = if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        };
        self.unary(self.val.abs(), S::from_f64(s), "abs")
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        if o.val < self.val { o } else { self }
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        if o.val > self.val { o } else { self }
    }
    #[inline(always)]
    fn erf(self) -> Self {
        let d = (-self.val * self.val).exp() * (2.0 / std::f64::consts::PI.sqrt());
        self.unary(self.val.erf(), d, "erf")
    }
    #[inline(always)]
    fn erfc(self) -> Self {
        let d = (-self.val * self.val).exp() * (-2.0 / std::f64::consts::PI.sqrt());
        self.unary(self.val.erfc(), d, "erfc")
    }
    #[inline(always)]
    fn lgamma(self) -> Self {
        self.unary(self.val.lgamma(), self.val.digamma(), "lgamma")
    }
    #[inline(always)]
    fn digamma(self) -> Self {
        let d = S::from_f64(deriv::digamma(self.val.value()));
        self.unary(self.val.digamma(), d, "digamma")
    }
    #[inline(always)]
    fn recip(self) -> Self {
        let r = self.val.recip();
        self.unary(r, -r * r, "recip")
    }
    #[inline(always)]
    fn square(self) -> Self {
        self.unary(self.val * self.val, self.val * 2.0, "square")
    }
}

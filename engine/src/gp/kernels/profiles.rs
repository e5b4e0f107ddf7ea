//! Radial profiles of the built-in stationary kernels (Rasmussen & Williams 2006, §4.2):
//! squared exponential (eq. 4.9), Matérn ν = 1/2, 3/2, 5/2 (eqs. 4.14, 4.17) and rational
//! quadratic (eq. 4.19), each as a function of `r²`.

use serde::{Deserialize, Serialize};

use super::fastmath::exp as fexp;
use super::stationary::{Profile, Stationary};
use crate::ad::Real;
use crate::error::Result;
use crate::param::Param;

const SQRT3: f64 = 1.732_050_807_568_877_2;
const SQRT5: f64 = 2.236_067_977_499_79;

/// `f(r²) = exp(−r²/2)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeProfile;

impl Profile for SeProfile {
    const NAME: &'static str = "squared_exponential";
    fn f<R: Real>(&self, r2: R, _: &[R]) -> R {
        (r2 * -0.5).exp()
    }
    #[inline(always)]
    fn f_grad(&self, r2: f64, _: &[f64], _: f64, _: &mut [f64]) -> (f64, f64) {
        let f = fexp(-0.5 * r2);
        (f, -0.5 * f)
    }
    #[inline(always)]
    fn f_value(&self, r2: f64, _: &[f64]) -> f64 {
        fexp(-0.5 * r2)
    }
    const FP_OVER_F: Option<f64> = Some(-0.5);
}

/// `f(r) = exp(−r)` (Matérn ν = 1/2, the Ornstein–Uhlenbeck covariance).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Matern12Profile;

impl Profile for Matern12Profile {
    const NAME: &'static str = "matern12";
    fn f<R: Real>(&self, r2: R, _: &[R]) -> R {
        if r2.value() <= 0.0 {
            // f(0) = 1; the derivative in r² is infinite at 0, but every use multiplies it
            // by a zero distance: take the one-sided limit 0 for inputs.
            R::one()
        } else {
            (-r2.sqrt()).exp()
        }
    }
    #[inline(always)]
    fn f_grad(&self, r2: f64, _: &[f64], _: f64, _: &mut [f64]) -> (f64, f64) {
        // Branch-free (a select), so that matrix loops vectorise.
        let r = r2.max(0.0).sqrt();
        let f = fexp(-r);
        (f, if r > 0.0 { -0.5 * f / r } else { 0.0 })
    }
    #[inline(always)]
    fn f_value(&self, r2: f64, _: &[f64]) -> f64 {
        fexp(-r2.max(0.0).sqrt())
    }
}

/// `f(r) = (1 + √3 r) exp(−√3 r)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Matern32Profile;

impl Profile for Matern32Profile {
    const NAME: &'static str = "matern32";
    fn f<R: Real>(&self, r2: R, _: &[R]) -> R {
        if r2.value() <= 0.0 {
            return R::one() + r2 * -1.5;
        }
        let a = r2.sqrt() * SQRT3;
        (a + 1.0) * (-a).exp()
    }
    #[inline(always)]
    fn f_grad(&self, r2: f64, _: &[f64], _: f64, _: &mut [f64]) -> (f64, f64) {
        let a = SQRT3 * r2.max(0.0).sqrt();
        let e = fexp(-a);
        // df/dr² = (df/dr)/(2r) = −(3/2) e^{−√3 r}.
        ((1.0 + a) * e, -1.5 * e)
    }
    #[inline(always)]
    fn f_value(&self, r2: f64, _: &[f64]) -> f64 {
        let a = SQRT3 * r2.max(0.0).sqrt();
        (1.0 + a) * fexp(-a)
    }
}

/// `f(r) = (1 + √5 r + 5r²/3) exp(−√5 r)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Matern52Profile;

impl Profile for Matern52Profile {
    const NAME: &'static str = "matern52";
    fn f<R: Real>(&self, r2: R, _: &[R]) -> R {
        if r2.value() <= 0.0 {
            return R::one() + r2 * (-5.0 / 6.0);
        }
        let a = r2.sqrt() * SQRT5;
        (a + r2 * (5.0 / 3.0) + 1.0) * (-a).exp()
    }
    #[inline(always)]
    fn f_grad(&self, r2: f64, _: &[f64], _: f64, _: &mut [f64]) -> (f64, f64) {
        let r2 = r2.max(0.0);
        let a = SQRT5 * r2.sqrt();
        let e = fexp(-a);
        // df/dr² = −(5/6)(1 + √5 r) e^{−√5 r}.
        ((1.0 + a + 5.0 / 3.0 * r2) * e, -5.0 / 6.0 * (1.0 + a) * e)
    }
    #[inline(always)]
    fn f_value(&self, r2: f64, _: &[f64]) -> f64 {
        let r2 = r2.max(0.0);
        let a = SQRT5 * r2.sqrt();
        (1.0 + a + 5.0 / 3.0 * r2) * fexp(-a)
    }
}

/// `f(r²) = (1 + r²/(2α))^{−α}`, with the extra parameter `alpha` (`α > 0`; large `α`
/// approaches the squared exponential).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RqProfile;

impl Profile for RqProfile {
    const NAME: &'static str = "rational_quadratic";
    fn extra_params(&self) -> Vec<Param> {
        vec![Param::positive("alpha", 1.0)]
    }
    fn n_extra(&self) -> usize {
        1
    }
    fn f<R: Real>(&self, r2: R, extra: &[R]) -> R {
        let alpha = extra[0];
        ((r2 / (alpha * 2.0) + 1.0).ln() * -alpha).exp()
    }
    #[inline(always)]
    fn f_grad(&self, r2: f64, extra: &[f64], w: f64, dextra: &mut [f64]) -> (f64, f64) {
        let alpha = extra[0];
        let u = r2 / (2.0 * alpha);
        let base = 1.0 + u;
        let f = (-alpha * base.ln()).exp();
        // ∂f/∂α = f (−ln(1 + u) + u/(1 + u)).
        dextra[0] += w * f * (-base.ln() + u / base);
        (f, -0.5 * f / base)
    }
    #[inline(always)]
    fn f_value(&self, r2: f64, extra: &[f64]) -> f64 {
        let alpha = extra[0];
        (-alpha * (1.0 + r2 / (2.0 * alpha)).ln()).exp()
    }
}

/// The squared-exponential (RBF) kernel `σ² exp(−r²/2)`.
pub type SquaredExponential = Stationary<SeProfile>;
/// The Matérn-1/2 (exponential) kernel `σ² exp(−r)`.
pub type Matern12 = Stationary<Matern12Profile>;
/// The Matérn-3/2 kernel `σ² (1 + √3 r) exp(−√3 r)`.
pub type Matern32 = Stationary<Matern32Profile>;
/// The Matérn-5/2 kernel `σ² (1 + √5 r + 5r²/3) exp(−√5 r)`.
pub type Matern52 = Stationary<Matern52Profile>;
/// The rational quadratic kernel `σ² (1 + r²/(2α))^{−α}`.
pub type RationalQuadratic = Stationary<RqProfile>;

macro_rules! constructors {
    ($profile:ident, $doc:literal, $params:literal) => {
        impl Stationary<$profile> {
            #[doc = concat!("An isotropic ", $doc, " kernel (parameters ", $params, ").")]
            pub fn isotropic() -> Self {
                Self::with_profile($profile)
            }
            #[doc = concat!("An ARD ", $doc, " kernel on `d ≥ 1` input dimensions: one lengthscale per dimension.")]
            pub fn ard(d: usize) -> Result<Self> {
                Self::ard_with_profile(d, $profile)
            }
        }

        impl Default for Stationary<$profile> {
            /// The isotropic kernel.
            fn default() -> Self {
                Self::isotropic()
            }
        }
    };
}

constructors!(
    SeProfile,
    "squared-exponential",
    "`variance`, `lengthscale`"
);
constructors!(Matern12Profile, "Matérn-1/2", "`variance`, `lengthscale`");
constructors!(Matern32Profile, "Matérn-3/2", "`variance`, `lengthscale`");
constructors!(Matern52Profile, "Matérn-5/2", "`variance`, `lengthscale`");
constructors!(
    RqProfile,
    "rational quadratic",
    "`variance`, `lengthscale`, `alpha`"
);

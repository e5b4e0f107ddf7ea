//! Stationary kernels with automatic relevance determination: `k = σ² f(r²)` with the
//! scaled squared distance `r² = Σ_d (x_d − x'_d)² / ℓ_d²` (Rasmussen & Williams 2006,
//! §4.2 and §5.1, eq. 5.2 for ARD).
//!
//! [`Stationary`] describes the structure (one shared lengthscale or one per dimension,
//! with or without its own variance) and implements the matrix loops and their analytic
//! pullbacks once ([`fill`], [`pullback`]); a [`Profile`] supplies `f(r²)`, its derivative
//! and any extra shape parameters. Parameters, natural scale: `(σ², ℓ₁, …, ℓ_L, extra…)`.
//! With `g = K̄ᵢⱼ σ² f'(r²ᵢⱼ)` and `Δ = xᵢ − yⱼ`:
//!
//! ```text
//! ∂/∂σ²    += K̄ᵢⱼ f(r²ᵢⱼ)
//! ∂/∂ℓ_d   += −2 g Δ_d² / ℓ_d³
//! ∂/∂xᵢ_d  +=  2 g Δ_d / ℓ_d²,     ∂/∂yⱼ_d −= 2 g Δ_d / ℓ_d²
//! ```

mod fill;
mod pullback;

use std::fmt::Debug;

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, KernelAdjoints, vector_names};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::param::{Param, ParamLayout};
use fill::{CROSS_PRODUCT_MIN_DIM, CrossFillOp, FillOp, dimension_major};
use pullback::PullbackArgs;

/// The radial profile `f(r²)` of a stationary kernel, with optional extra shape
/// parameters (natural scale, e.g. `α` of the rational quadratic).
pub trait Profile: Clone + Debug + Send + Sync + 'static {
    /// Short name (`"squared_exponential"`).
    const NAME: &'static str;

    /// The extra parameters (names, transforms, defaults), after the variance and the
    /// lengthscales.
    fn extra_params(&self) -> Vec<Param> {
        Vec::new()
    }

    /// Number of extra parameters (override with a constant when there are some).
    fn n_extra(&self) -> usize {
        self.extra_params().len()
    }

    /// `f(r²)`, generic (for [`Kernel::eval`]).
    fn f<R: Real>(&self, r2: R, extra: &[R]) -> R;

    /// `(f(r²), f'(r²))`, adding `w ∂f/∂extra` into `dextra`. At `r² = 0` a profile that
    /// is not differentiable there (Matérn-1/2) returns a finite `f'`.
    fn f_grad(&self, r2: f64, extra: &[f64], w: f64, dextra: &mut [f64]) -> (f64, f64);

    /// `Some(c)` when `f'(r²) = c f(r²)` for a constant `c` and there are no extra
    /// parameters (the squared exponential: `c = −½`): pullbacks given the kernel matrix
    /// then read `f` from it instead of recomputing it.
    const FP_OVER_F: Option<f64> = None;

    /// `f(r²)` in `f64` (defaults to [`Profile::f_grad`]).
    fn f_value(&self, r2: f64, extra: &[f64]) -> f64 {
        let mut scratch = [0.0; 4];
        let n = extra.len().min(4);
        self.f_grad(r2, extra, 0.0, &mut scratch[..n]).0
    }
}

/// A stationary kernel `σ² f(r²)` with isotropic or ARD lengthscales (structure only; the
/// values are in `θ`).
///
/// Parameters: `variance` (absent in a unit-variance factor of a product), `lengthscale`
/// (isotropic) or `lengthscale[0]`, …, `lengthscale[d−1]` (ARD), then the profile's extra
/// parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stationary<P> {
    /// `None`: one lengthscale shared by every dimension; `Some(d)`: one per dimension.
    ard: Option<usize>,
    /// Whether `θ` starts with the variance (`false`: `σ² = 1`).
    variance: bool,
    profile: P,
}

impl<P: Profile> Stationary<P> {
    /// Isotropic: one lengthscale for every dimension.
    pub fn with_profile(profile: P) -> Self {
        Self {
            ard: None,
            variance: true,
            profile,
        }
    }

    /// ARD: one lengthscale for each of `d ≥ 1` input dimensions.
    pub fn ard_with_profile(d: usize, profile: P) -> Result<Self> {
        if d == 0 {
            return Err(Error::invalid_option(
                P::NAME,
                "d",
                d,
                "at least one input dimension for an ARD kernel",
            ));
        }
        Ok(Self {
            ard: Some(d),
            variance: true,
            profile,
        })
    }

    /// Number of lengthscales (1 = isotropic).
    pub fn n_lengthscales(&self) -> usize {
        self.ard.unwrap_or(1)
    }

    /// Whether there is one lengthscale per dimension.
    pub fn is_ard(&self) -> bool {
        self.ard.is_some()
    }

    /// Whether `θ` holds a variance (`false` for a unit-variance factor of a product).
    pub fn has_variance(&self) -> bool {
        self.variance
    }

    /// The profile.
    pub fn profile(&self) -> &P {
        &self.profile
    }

    /// `(σ², lengthscales, extra)` read from `θ` (`σ² = 1` without a variance).
    #[inline]
    fn split<'a>(&self, theta: &'a [f64]) -> (f64, &'a [f64], &'a [f64]) {
        let v = usize::from(self.variance);
        let l = self.n_lengthscales();
        let var = if self.variance { theta[0] } else { 1.0 };
        (var, &theta[v..v + l], &theta[v + l..])
    }

    /// `1/ℓ_d²` for each of `d` dimensions.
    fn inv_sq(ls: &[f64], d: usize) -> Vec<f64> {
        let shared = ls.len() == 1;
        (0..d)
            .map(|k| {
                let l = ls[if shared { 0 } else { k }];
                1.0 / (l * l)
            })
            .collect()
    }
}

impl<P: Profile> Kernel for Stationary<P> {
    fn layout(&self) -> Result<ParamLayout> {
        let mut params = Vec::with_capacity(self.n_params());
        if self.variance {
            params.push(Param::positive("variance", 1.0));
        }
        for name in vector_names("lengthscale", self.n_lengthscales(), !self.is_ard()) {
            params.push(Param::positive(name, 1.0));
        }
        params.extend(self.profile.extra_params());
        ParamLayout::new(params)
    }

    fn n_params(&self) -> usize {
        usize::from(self.variance) + self.n_lengthscales() + self.profile.n_extra()
    }

    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let v = usize::from(self.variance);
        let l = self.n_lengthscales();
        let mut r2 = R::zero();
        for k in 0..x.len() {
            let ell = theta[v + if l == 1 { 0 } else { k }];
            r2 += ((x[k] - y[k]) / ell).square();
        }
        let f = self.profile.f(r2, &theta[v + l..]);
        if self.variance { theta[0] * f } else { f }
    }

    fn check_dim(&self, d: usize) -> Result<()> {
        match self.ard {
            Some(l) if l != d => Err(Error::ShapeMismatch {
                op: P::NAME,
                arg: "inputs",
                expected: format!("{l}-dimensional points (one per ARD lengthscale)"),
                found: format!("{d}-dimensional points"),
            }),
            _ => Ok(()),
        }
    }

    fn drop_variance(&mut self) -> bool {
        self.variance = false;
        true
    }

    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, out: MatMut<'_, f64>) {
        let (var, ls, extra) = self.split(theta);
        let s = Self::inv_sq(ls, x.d());
        if let Some(y) = y
            && x.d() >= CROSS_PRODUCT_MIN_DIM
        {
            pulp::Arch::new().dispatch(CrossFillOp {
                profile: &self.profile,
                x,
                y,
                s: &s,
                var,
                extra,
                out,
            });
            return;
        }
        let sym = y.is_none();
        let y = y.unwrap_or(x);
        let xt = dimension_major(x);
        pulp::Arch::new().dispatch(FillOp {
            profile: &self.profile,
            xt: &xt,
            n: x.n(),
            y,
            sym,
            s: &s,
            var,
            extra,
            out,
        });
    }

    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        self.pullback(PullbackArgs {
            theta,
            x,
            y,
            kvals: None,
            kbar,
            adj,
        });
    }

    fn matrix_pullback_sym_with_values(
        &self,
        theta: &[f64],
        x: &Inputs,
        kxx: MatRef<'_, f64>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        let usable = P::FP_OVER_F.is_some()
            && self.profile.n_extra() == 0
            && kxx.nrows() == x.n()
            && kxx.ncols() == x.n();
        self.pullback(PullbackArgs {
            theta,
            x,
            y: None,
            kvals: usable.then_some(kxx),
            kbar,
            adj: KernelAdjoints { y: None, ..adj },
        });
    }

    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let (var, _, extra) = self.split(theta);
        let v = var * self.profile.f_value(0.0, extra);
        out.iter_mut().take(x.n()).for_each(|o| *o = v);
    }

    fn diag_pullback(&self, theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        let (var, _, extra) = self.split(theta);
        let head = usize::from(self.variance) + self.n_lengthscales();
        let w: f64 = dbar.iter().take(x.n()).sum();
        let (lead, dextra) = adj.theta.split_at_mut(head);
        let (f, _) = self.profile.f_grad(0.0, extra, w * var, dextra);
        if self.variance {
            lead[0] += w * f;
        }
    }
}

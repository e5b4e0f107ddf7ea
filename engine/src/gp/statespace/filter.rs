//! The log marginal likelihood of a temporal GP `y(t) = f(t) + ε`, `f` with a
//! [`StateSpaceKernel`], `ε ~ N(0, σ_n²)`, by the engine's one Kalman filter
//! ([`crate::ssm`]) in `O(n q³)` for `n` sorted times (Hartikainen & Särkkä 2010, §3;
//! Särkkä 2013, *Bayesian Filtering and Smoothing*, Alg. 4.3 with the prediction-error
//! decomposition eq. 12.11).
//!
//! The model is the linear-Gaussian state-space model with `x₁ ~ N(0, P∞)`,
//! `F_k = Φ(t_{k+1} − t_k)`, `Q_k = P∞ − F_k P∞ F_kᵀ`, `h = Hᵀ`, `r = σ_n²`. Its matrices are
//! computed as the filter runs (never stored), and the gradient comes from the filter's
//! hand-written adjoint: with `F̄_k`, `Q̄_k` (symmetric), `P̄₁`, `r̄_k` the adjoints of the
//! model's matrices, differentiating `Q = P∞ − Φ P∞ Φᵀ` gives
//!
//! ```text
//! ∂ log p / ∂θ_j = Σ_k ⟨F̄_k − 2 Q̄_k Φ_k P∞, ∂Φ_k/∂θ_j⟩ + ⟨P̄₁ + Σ_k (Q̄_k − Φ_kᵀ Q̄_k Φ_k), ∂P∞/∂θ_j⟩,
//! ∂ log p / ∂σ_n² = Σ_k r̄_k,
//! ```
//!
//! so the second sum is one matrix accumulated over the steps and contracted once, and only
//! `∂Φ_k/∂θ_j` is needed per step ([`StateSpaceKernel::transition_derivatives_into`],
//! recomputed only when the gap `Δ_k` changes). The cost is about three filter passes in
//! `f64`, and the memory that of the filter's compact trace (`n (q + q(q+1)/2)` values).

use std::cell::RefCell;

use super::kernel::{StateSpaceKernel, seeded};
use crate::error::{Error, Result};
use crate::ssm::Observations;
use crate::ssm::kalman_scalar::{adjoint_scalar, compact_stride, forward_scalar};
use crate::ssm::steps::{ObservationAdjoint, ScalarSteps, StepMats, TransitionAdjoint, load_mat};

/// The largest state dimension the filter's fast path takes.
const MAX_STATE: usize = 4;

/// The kernel's matrices for the filter: `Φ(Δ_k)` and `Q(Δ_k)` from the gaps of `t`.
struct GpSteps<'a, K, const N: usize> {
    kernel: &'a K,
    theta: &'a [f64],
    noise: f64,
    t: &'a [f64],
    pinf: [[f64; N]; N],
    h: [f64; N],
    /// Every gap is the same (the covariance recursion reaches a steady state).
    regular: bool,
    /// The first error met while computing a transition.
    error: RefCell<Option<Error>>,
}

impl<'a, K: StateSpaceKernel, const N: usize> GpSteps<'a, K, N> {
    fn new(kernel: &'a K, theta: &'a [f64], noise: f64, t: &'a [f64]) -> Self {
        let pinf = load_mat(&kernel.stationary_covariance(theta));
        let mut h = [0.0; N];
        h.copy_from_slice(&kernel.observation()[..N]);
        let first = if t.len() > 1 { t[1] - t[0] } else { 0.0 };
        let regular = t.windows(2).all(|w| w[1] - w[0] == first);
        Self {
            kernel,
            theta,
            noise,
            t,
            pinf,
            h,
            regular,
            error: RefCell::new(None),
        }
    }

    /// The gap after time `k` (the last step repeats the one before: its transition only
    /// forecasts past the data).
    #[inline]
    fn gap(&self, k: usize) -> f64 {
        let n = self.t.len();
        if k + 1 < n {
            self.t[k + 1] - self.t[k]
        } else if n > 1 {
            self.t[n - 1] - self.t[n - 2]
        } else {
            0.0
        }
    }

    fn fail(&self, e: Error) {
        self.error.borrow_mut().get_or_insert(e);
    }

    /// `(Φ(Δ), Q(Δ) = P∞ − Φ P∞ Φᵀ)`.
    #[inline]
    fn matrices(&self, dt: f64) -> ([[f64; N]; N], [[f64; N]; N]) {
        let mut buf = [0.0; 16];
        if let Err(e) = self
            .kernel
            .transition_into(self.theta, dt, &mut buf[..N * N])
        {
            self.fail(e);
            buf.fill(f64::NAN);
        }
        let phi: [[f64; N]; N] = load_mat(&buf[..N * N]);
        // w = Φ P∞, Q = P∞ − w Φᵀ (lower triangle, mirrored).
        let mut w = [[0.0; N]; N];
        for j in 0..N {
            for l in 0..N {
                for i in 0..N {
                    w[j][i] += phi[l][i] * self.pinf[j][l];
                }
            }
        }
        let mut q = [[0.0; N]; N];
        for j in 0..N {
            for i in j..N {
                let mut v = self.pinf[j][i];
                for l in 0..N {
                    v -= w[l][i] * phi[l][j];
                }
                q[j][i] = v;
                q[i][j] = v;
            }
        }
        (phi, q)
    }
}

/// What the reverse pass accumulates: the gradient in `(θ, σ_n²)`, the adjoint of `P∞`,
/// and `∂Φ/∂θ_j` (columns as arrays, one per hyperparameter) for the last gap seen.
struct GpGrad<const N: usize> {
    theta: Vec<f64>,
    noise: f64,
    pinf_bar: [[f64; N]; N],
    gap: f64,
    dphi: Vec<f64>,
}

impl<K: StateSpaceKernel, const N: usize> ScalarSteps<f64, N> for GpSteps<'_, K, N> {
    type Grad = GpGrad<N>;

    fn initial(&self) -> ([f64; N], [[f64; N]; N]) {
        ([0.0; N], self.pinf)
    }

    fn load(&self, t: usize) -> StepMats<f64, N> {
        let (f, q) = self.matrices(self.gap(t));
        StepMats {
            f,
            q,
            h: self.h,
            c: [0.0; N],
            r: self.noise,
            d: 0.0,
        }
    }

    #[inline]
    fn refresh(&self, mats: &mut StepMats<f64, N>, t: usize, from: usize) {
        let dt = self.gap(t);
        if dt != self.gap(from) {
            (mats.f, mats.q) = self.matrices(dt);
        }
    }

    fn is_time_invariant(&self) -> bool {
        self.regular
    }

    fn observation_invariant(&self) -> bool {
        true
    }

    #[inline]
    fn add_input(&self, _data: &Observations, _t: usize, _m: &mut [f64; N]) {}

    #[inline]
    fn transition_adjoint(
        &self,
        grad: &mut GpGrad<N>,
        _data: &Observations,
        t: usize,
        adj: &TransitionAdjoint<'_, f64, N>,
    ) {
        let dt = self.gap(t);
        if dt != grad.gap {
            if let Err(e) = self
                .kernel
                .transition_derivatives_into(self.theta, dt, &mut grad.dphi)
            {
                self.fail(e);
            }
            grad.gap = dt;
        }
        let (phi, qbar) = (adj.f, adj.pbar);
        // u = Q̄ Φ; G = F̄ − 2 u P∞; P̄∞ += Q̄ − Φᵀ u.
        let mut u = [[0.0; N]; N];
        for j in 0..N {
            for l in 0..N {
                for i in 0..N {
                    u[j][i] += qbar[l][i] * phi[j][l];
                }
            }
        }
        let mut g = [[0.0; N]; N];
        for j in 0..N {
            for i in 0..N {
                let mut v = 0.0;
                for l in 0..N {
                    v += u[l][i] * self.pinf[j][l];
                }
                g[j][i] = adj.fbar(i, j) - 2.0 * v;
            }
        }
        for j in 0..N {
            for i in 0..N {
                let mut v = 0.0;
                for l in 0..N {
                    v += phi[i][l] * u[j][l];
                }
                grad.pinf_bar[j][i] += qbar[j][i] - v;
            }
        }
        for (k, gk) in grad.theta.iter_mut().enumerate() {
            let d = &grad.dphi[k * N * N..(k + 1) * N * N];
            let mut s = 0.0;
            for j in 0..N {
                for i in 0..N {
                    s += g[j][i] * d[i + j * N];
                }
            }
            *gk += s;
        }
    }

    #[inline]
    fn observation_adjoint(
        &self,
        grad: &mut GpGrad<N>,
        _t: usize,
        adj: &ObservationAdjoint<'_, f64, N>,
    ) {
        grad.noise += adj.sbar;
    }

    fn initial_adjoint(&self, grad: &mut GpGrad<N>, _mbar: &[f64; N], pbar: &[[f64; N]; N]) {
        for j in 0..N {
            for i in 0..N {
                grad.pinf_bar[j][i] += pbar[j][i];
            }
        }
    }
}

/// The inputs of one likelihood evaluation.
pub(crate) struct TemporalData<'a, K> {
    /// The kernel (structure).
    pub kernel: &'a K,
    /// The kernel's hyperparameters, natural scale.
    pub theta: &'a [f64],
    /// The noise variance σ_n².
    pub noise: f64,
    /// Sorted times.
    pub t: &'a [f64],
    /// The observations at `t`.
    pub y: &'a Observations,
}

fn finite(v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::NonFinite {
            op: "temporal_gp",
            index: 0,
            value: v,
            context: "log marginal likelihood (extreme parameters?)".into(),
        })
    }
}

/// Runs `$body` with `N` the kernel's state dimension as a constant.
macro_rules! with_state_dim {
    ($q:expr, $n:ident => $body:expr) => {
        match $q {
            1 => { const $n: usize = 1; $body }
            2 => { const $n: usize = 2; $body }
            3 => { const $n: usize = 3; $body }
            4 => { const $n: usize = 4; $body }
            q => Err(Error::Unsupported {
                op: "temporal_gp",
                reason: format!(
                    "state dimension {q}: the state-space GP takes kernels of state dimension 1 to {MAX_STATE}"
                ),
            }),
        }
    };
}

/// `log p(y)`.
pub(crate) fn log_likelihood<K: StateSpaceKernel>(d: &TemporalData<'_, K>) -> Result<f64> {
    with_state_dim!(d.kernel.state_dim(), N => value::<K, N>(d))
}

fn value<K: StateSpaceKernel, const N: usize>(d: &TemporalData<'_, K>) -> Result<f64> {
    let steps = GpSteps::<K, N>::new(d.kernel, d.theta, d.noise, d.t);
    let ll = forward_scalar::<f64, N, _>(&steps, d.y, None, None);
    if let Some(e) = steps.error.into_inner() {
        return Err(e);
    }
    finite(ll.map_err(|e| e.with_context_prefix("temporal GP: "))?)
}

/// `log p(y)` and its gradient in `(θ, σ_n²)` (natural scale).
pub(crate) fn log_likelihood_and_grad<K: StateSpaceKernel>(
    d: &TemporalData<'_, K>,
) -> Result<(f64, Vec<f64>)> {
    with_state_dim!(d.kernel.state_dim(), N => value_and_grad::<K, N>(d))
}

fn value_and_grad<K: StateSpaceKernel, const N: usize>(
    d: &TemporalData<'_, K>,
) -> Result<(f64, Vec<f64>)> {
    let steps = GpSteps::<K, N>::new(d.kernel, d.theta, d.noise, d.t);
    let mut trace = Vec::with_capacity(d.t.len() * compact_stride::<N>());
    let ll = forward_scalar::<f64, N, _>(&steps, d.y, None, Some(&mut trace));
    let ll = finite(ll.map_err(|e| e.with_context_prefix("temporal GP: "))?)?;
    let p = d.theta.len();
    let mut grad = GpGrad::<N> {
        theta: vec![0.0; p],
        noise: 0.0,
        pinf_bar: [[0.0; N]; N],
        gap: f64::NAN,
        dphi: vec![0.0; p * N * N],
    };
    adjoint_scalar::<f64, N, _>(&steps, d.y, &trace, 1.0, &mut grad)?;
    if let Some(e) = steps.error.into_inner() {
        return Err(e);
    }
    // ⟨P̄∞, ∂P∞/∂θ_j⟩.
    for (j, gj) in grad.theta.iter_mut().enumerate() {
        let dpinf = d.kernel.stationary_covariance(&seeded(d.theta, j));
        for c in 0..N {
            for r in 0..N {
                *gj += grad.pinf_bar[c][r] * dpinf[r + c * N].tangent();
            }
        }
    }
    let mut g = grad.theta;
    g.push(grad.noise);
    crate::error::check_finite("temporal_gp", "gradient", &g)?;
    Ok((ll, g))
}

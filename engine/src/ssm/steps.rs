//! Where the Kalman filter's fast path reads a model from: the matrices of each step
//! ([`StepMats`]) and where the adjoints of those matrices go ([`ScalarSteps`]).
//!
//! [`LinearGaussianSsm`] supplies stored matrices (constant or one per step); a temporal
//! Gaussian process ([`gp::statespace`](crate::gp::statespace)) computes `Φ(Δₜ)` and
//! `Q(Δₜ)` from the gaps between its times as the filter runs and chains the adjoints of
//! `Φ` and `Q` into its hyperparameters on the fly, so that neither stores `O(T n²)`
//! matrices. Both run the same forward pass and the same hand-written adjoint
//! ([`kalman_scalar`](super::kalman_scalar)).

use crate::ad::Real;

use super::model::{LinearGaussianSsm, Observations};

/// A column-major `N x N` matrix from a slice: `out[j][i] = a[i + j N]`.
#[inline(always)]
pub(crate) fn load_mat<R: Real, const N: usize>(a: &[R]) -> [[R; N]; N] {
    let mut out = [[R::zero(); N]; N];
    for j in 0..N {
        for i in 0..N {
            out[j][i] = a[i + j * N];
        }
    }
    out
}

/// The first `N` entries of a slice.
#[inline(always)]
pub(crate) fn load_vec<R: Real, const N: usize>(a: &[R]) -> [R; N] {
    let mut out = [R::zero(); N];
    out.copy_from_slice(&a[..N]);
    out
}

/// Replaces a matrix (column arrays) by its symmetric part.
#[inline(always)]
pub(crate) fn symmetrize<R: Real, const N: usize>(a: &mut [[R; N]; N]) {
    for j in 0..N {
        for i in 0..j {
            let s = (a[j][i] + a[i][j]) * 0.5;
            a[j][i] = s;
            a[i][j] = s;
        }
    }
}

/// Matrices of one step (columns as arrays: `f[j][i]` is entry `(i, j)`), for one
/// observed series and `N` states.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepMats<R, const N: usize> {
    /// Transition F_t.
    pub f: [[R; N]; N],
    /// Process-noise covariance Q_t (symmetric).
    pub q: [[R; N]; N],
    /// Observation row h_t.
    pub h: [R; N],
    /// Transition offset c_t.
    pub c: [R; N],
    /// Observation-noise variance r_t.
    pub r: R,
    /// Observation offset d_t.
    pub d: R,
}

/// The adjoint quantities of one prediction step `m' = F m_f + B u + c`,
/// `P' = F P_f Fᵀ + Q`: with (m̄, P̄) the adjoints of (m', P'),
/// F̄ = m̄ m_fᵀ + 2 P̄ F P_f, c̄ = m̄, B̄ = m̄ uᵀ, Q̄ = P̄.
pub(crate) struct TransitionAdjoint<'a, R, const N: usize> {
    /// F.
    pub f: &'a [[R; N]; N],
    /// m̄.
    pub mbar: &'a [R; N],
    /// P̄ (symmetric).
    pub pbar: &'a [[R; N]; N],
    /// P̄ F.
    pub pbar_f: &'a [[R; N]; N],
    /// The filtered mean m_f.
    pub mf: &'a [R; N],
    /// The filtered covariance P_f.
    pub pf: &'a [[R; N]; N],
}

impl<R: Real, const N: usize> TransitionAdjoint<'_, R, N> {
    /// Entry `(i, j)` of F̄ = m̄ m_fᵀ + 2 P̄ F P_f.
    #[inline(always)]
    pub fn fbar(&self, i: usize, j: usize) -> R {
        let mut v = R::zero();
        for l in 0..N {
            v += self.pbar_f[l][i] * self.pf[j][l];
        }
        self.mbar[i] * self.mf[j] + v * 2.0
    }
}

/// The adjoint quantities of one update on a scalar observation `y = hᵀ x + d + v`,
/// `v ~ N(0, r)`: with A = P h, S̄ the adjoint of the innovation variance, ē that of the
/// innovation and Ā that of A, h̄ = S̄ A − ē m + P Ā, d̄ = −ē, r̄ = S̄.
pub(crate) struct ObservationAdjoint<'a, R, const N: usize> {
    /// S̄.
    pub sbar: R,
    /// ē.
    pub ebar: R,
    /// A = P h.
    pub a: &'a [R; N],
    /// Ā.
    pub abar: &'a [R; N],
    /// The predicted mean.
    pub mp: &'a [R; N],
    /// The predicted covariance.
    pub pp: &'a [[R; N]; N],
}

/// A model as the fast path of the Kalman filter (one observed series, `N` states) reads
/// it, and the sink of its adjoints.
pub(crate) trait ScalarSteps<R: Real, const N: usize> {
    /// Where [`ScalarSteps::transition_adjoint`] and friends accumulate.
    type Grad;
    /// The prior mean m₁ and covariance P₁ (symmetrised by the caller).
    fn initial(&self) -> ([R; N], [[R; N]; N]);
    /// The matrices of step `t`.
    fn load(&self, t: usize) -> StepMats<R, N>;
    /// Brings `mats`, which holds step `from`, to step `t`.
    fn refresh(&self, mats: &mut StepMats<R, N>, t: usize, from: usize);
    /// Whether F, Q, h and r are the same at every step (allows the steady-state
    /// shortcut of the forward pass).
    fn is_time_invariant(&self) -> bool;
    /// Whether h and r are the same at every step.
    fn observation_invariant(&self) -> bool;
    /// `m += B_t u_t`.
    fn add_input(&self, data: &Observations, t: usize, m: &mut [R; N]);
    /// Accumulates the adjoints of the prediction step after observation `t`.
    fn transition_adjoint(
        &self,
        grad: &mut Self::Grad,
        data: &Observations,
        t: usize,
        adj: &TransitionAdjoint<'_, R, N>,
    );
    /// Accumulates the adjoints of the update on observation `t`.
    fn observation_adjoint(
        &self,
        grad: &mut Self::Grad,
        t: usize,
        adj: &ObservationAdjoint<'_, R, N>,
    );
    /// Sets the adjoints of m₁ and P₁.
    fn initial_adjoint(&self, grad: &mut Self::Grad, mbar: &[R; N], pbar: &[[R; N]; N]);
}

impl<R: Real, const N: usize> ScalarSteps<R, N> for LinearGaussianSsm<R> {
    type Grad = LinearGaussianSsm<R>;

    #[inline(always)]
    fn initial(&self) -> ([R; N], [[R; N]; N]) {
        (load_vec(&self.m1), load_mat(&self.p1))
    }

    #[inline(always)]
    fn load(&self, t: usize) -> StepMats<R, N> {
        let mut q = load_mat::<R, N>(self.q.at(t));
        symmetrize(&mut q);
        StepMats {
            f: load_mat(self.f.at(t)),
            q,
            h: load_vec(self.h.at(t)),
            c: load_vec(self.c.at(t)),
            r: self.r.at(t)[0],
            d: self.d.at(t)[0],
        }
    }

    #[inline(always)]
    fn refresh(&self, mats: &mut StepMats<R, N>, t: usize, _from: usize) {
        if self.f.is_varying() {
            mats.f = load_mat(self.f.at(t));
        }
        if self.q.is_varying() {
            let mut q = load_mat::<R, N>(self.q.at(t));
            symmetrize(&mut q);
            mats.q = q;
        }
        if self.h.is_varying() {
            mats.h = load_vec(self.h.at(t));
        }
        if self.c.is_varying() {
            mats.c = load_vec(self.c.at(t));
        }
        if self.r.is_varying() {
            mats.r = self.r.at(t)[0];
        }
        if self.d.is_varying() {
            mats.d = self.d.at(t)[0];
        }
    }

    #[inline(always)]
    fn is_time_invariant(&self) -> bool {
        !(self.f.is_varying() || self.q.is_varying() || self.h.is_varying() || self.r.is_varying())
    }

    #[inline(always)]
    fn observation_invariant(&self) -> bool {
        !self.h.is_varying() && !self.r.is_varying()
    }

    #[inline(always)]
    fn add_input(&self, data: &Observations, t: usize, m: &mut [R; N]) {
        let k_in = data.n_inputs;
        if k_in == 1 {
            let b = self.b.at(t);
            let ul = data.u[t];
            for i in 0..N {
                m[i] += b[i] * ul;
            }
        } else if k_in > 1 {
            let b = self.b.at(t);
            for (l, &ul) in data.u_at(t).iter().enumerate() {
                for i in 0..N {
                    m[i] += b[i + l * N] * ul;
                }
            }
        }
    }

    #[inline(always)]
    fn transition_adjoint(
        &self,
        grad: &mut Self::Grad,
        data: &Observations,
        t: usize,
        adj: &TransitionAdjoint<'_, R, N>,
    ) {
        let fo = self.f.offset(t);
        let fbar = &mut grad.f.data_mut()[fo..fo + N * N];
        for j in 0..N {
            for i in 0..N {
                fbar[i + j * N] += adj.fbar(i, j);
            }
        }
        let co = self.c.offset(t);
        let cbar = &mut grad.c.data_mut()[co..co + N];
        for i in 0..N {
            cbar[i] += adj.mbar[i];
        }
        let qo = self.q.offset(t);
        let qbar = &mut grad.q.data_mut()[qo..qo + N * N];
        for j in 0..N {
            for i in 0..N {
                qbar[i + j * N] += adj.pbar[j][i];
            }
        }
        let k_in = data.n_inputs;
        if k_in > 0 {
            let bo = self.b.offset(t);
            let bbar = &mut grad.b.data_mut()[bo..bo + N * k_in];
            for (l, &ul) in data.u_at(t).iter().enumerate() {
                for i in 0..N {
                    bbar[i + l * N] += adj.mbar[i] * ul;
                }
            }
        }
    }

    #[inline(always)]
    fn observation_adjoint(
        &self,
        grad: &mut Self::Grad,
        t: usize,
        adj: &ObservationAdjoint<'_, R, N>,
    ) {
        let ho = self.h.offset(t);
        let hbar = &mut grad.h.data_mut()[ho..ho + N];
        for j in 0..N {
            let mut v = adj.sbar * adj.a[j] - adj.ebar * adj.mp[j];
            for l in 0..N {
                v += adj.abar[l] * adj.pp[j][l];
            }
            hbar[j] += v;
        }
        let dof = self.d.offset(t);
        grad.d.data_mut()[dof] -= adj.ebar;
        let ro = self.r.offset(t);
        grad.r.data_mut()[ro] += adj.sbar;
    }

    #[inline(always)]
    fn initial_adjoint(&self, grad: &mut Self::Grad, mbar: &[R; N], pbar: &[[R; N]; N]) {
        grad.m1.copy_from_slice(mbar);
        for j in 0..N {
            for i in 0..N {
                grad.p1[i + j * N] = pbar[j][i];
            }
        }
    }
}

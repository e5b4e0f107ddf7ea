//! The Kalman filter and its log-likelihood (Kalman 1960; Joseph-form covariance update,
//! Bucy & Joseph 1968; see Särkkä 2013, "Bayesian Filtering and Smoothing", Thm. 4.2).
//!
//! For each step t: update on the observed components o of y_t
//!
//! $$ S = H_o P H_oᵀ + R_{oo},\\ K = P H_oᵀ S^{-1},\\ e = y_o − H_o m − d_o, $$
//! $$ m_f = m + K e,\\quad P_f = (I − K H_o) P (I − K H_o)ᵀ + K R_{oo} Kᵀ, $$
//!
//! accumulate log N(e | 0, S), then predict m ← F m_f + B u + c, P ← F P_f Fᵀ + Q.
//! Missing components (NaN) are dropped from the update; a step with none observed only
//! predicts. Q, R and P₁ enter through their symmetric parts, so derivatives with respect
//! to them are symmetric.
//!
//! The code is generic over [`Real`] and specialised at compile time for small state
//! dimensions (n ≤ 4), where the loops unroll.
//!
//! ```
//! use mechml_engine::ssm::{LinearGaussianSsm, Observations, kalman::kalman_filter};
//! // Local level model: x' = x + w, y = x + v, x₁ ~ N(0, 1).
//! let model = LinearGaussianSsm::time_invariant(1, 1, vec![1.0], vec![0.1], vec![1.0],
//!                                               vec![0.5], vec![0.0], vec![1.0])?;
//! let data = Observations::univariate(vec![0.3, f64::NAN, 0.1])?;
//! let out = kalman_filter(&model, &data)?;
//! // First step: y₁ ~ N(0, 1 + 0.5).
//! let ll1 = -0.5 * ((2.0 * std::f64::consts::PI * 1.5).ln() + 0.3 * 0.3 / 1.5);
//! assert!((out.loglik_steps[0] - ll1).abs() < 1e-14);
//! assert_eq!(out.loglik_steps[1], 0.0); // missing
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::ad::Real;
use crate::error::{Error, Result};

use super::dense::{chol_inverse_into, cholesky_in_place, symmetrize_in_place};
use super::model::{LinearGaussianSsm, Observations};

/// ln(2π).
pub const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The filter's moments at every step: predicted (before y_t) and filtered (after).
#[derive(Clone, Debug, PartialEq)]
pub struct FilterOutput<R = f64> {
    /// State dimension n.
    pub n: usize,
    /// Number of steps T.
    pub n_steps: usize,
    /// Total log-likelihood Σ_t log p(y_t | y_{1:t−1}).
    pub loglik: R,
    /// Per-step contributions (0 where nothing was observed).
    pub loglik_steps: Vec<R>,
    /// Predicted means m_{t|t−1}, `(T + 1) x n` (the last is the forecast of x_{T+1}).
    pub pred_mean: Vec<R>,
    /// Predicted covariances P_{t|t−1}, `(T + 1) x (n x n)`.
    pub pred_cov: Vec<R>,
    /// Filtered means m_{t|t}, `T x n`.
    pub filt_mean: Vec<R>,
    /// Filtered covariances P_{t|t}, `T x (n x n)`.
    pub filt_cov: Vec<R>,
}

impl<R: Real> FilterOutput<R> {
    /// Predicted mean at step t.
    pub fn pred_mean_at(&self, t: usize) -> &[R] {
        &self.pred_mean[t * self.n..(t + 1) * self.n]
    }
    /// Predicted covariance at step t.
    pub fn pred_cov_at(&self, t: usize) -> &[R] {
        let nn = self.n * self.n;
        &self.pred_cov[t * nn..(t + 1) * nn]
    }
    /// Filtered mean at step t.
    pub fn filt_mean_at(&self, t: usize) -> &[R] {
        &self.filt_mean[t * self.n..(t + 1) * self.n]
    }
    /// Filtered covariance at step t.
    pub fn filt_cov_at(&self, t: usize) -> &[R] {
        let nn = self.n * self.n;
        &self.filt_cov[t * nn..(t + 1) * nn]
    }
}

/// Runs the filter and keeps every moment.
pub fn kalman_filter<R: Real>(
    model: &LinearGaussianSsm<R>,
    data: &Observations,
) -> Result<FilterOutput<R>> {
    model.check(data)?;
    let mut out = FilterOutput {
        n: model.n_state(),
        n_steps: data.n_steps,
        loglik: R::zero(),
        loglik_steps: Vec::new(),
        pred_mean: Vec::new(),
        pred_cov: Vec::new(),
        filt_mean: Vec::new(),
        filt_cov: Vec::new(),
    };
    out.loglik = dispatch_forward(model, data, Some(&mut out))?;
    Ok(out)
}

/// The log-likelihood log p(y_{1:T}) only (no storage).
pub fn kalman_loglik<R: Real>(model: &LinearGaussianSsm<R>, data: &Observations) -> Result<R> {
    model.check(data)?;
    dispatch_forward(model, data, None)
}

/// Calls [`forward`] with the state dimension as a compile-time constant when small.
pub(crate) fn dispatch_forward<R: Real>(
    model: &LinearGaussianSsm<R>,
    data: &Observations,
    store: Option<&mut FilterOutput<R>>,
) -> Result<R> {
    use super::kalman_scalar::forward_scalar;
    match (model.n_state(), model.n_obs()) {
        (1, 1) => forward_scalar::<R, 1, _>(model, data, store, None),
        (2, 1) => forward_scalar::<R, 2, _>(model, data, store, None),
        (3, 1) => forward_scalar::<R, 3, _>(model, data, store, None),
        (4, 1) => forward_scalar::<R, 4, _>(model, data, store, None),
        (1, _) => forward::<R, 1>(model, data, store),
        (2, _) => forward::<R, 2>(model, data, store),
        (3, _) => forward::<R, 3>(model, data, store),
        (4, _) => forward::<R, 4>(model, data, store),
        _ => forward::<R, 0>(model, data, store),
    }
}

/// Scratch buffers of one update (sized for the full observation dimension).
pub(crate) struct UpdateWork<R> {
    pub idx: Vec<usize>,
    pub ho: Vec<R>,
    pub yo: Vec<R>,
    pub ro: Vec<R>,
    pub a: Vec<R>,
    pub s: Vec<R>,
    pub sinv: Vec<R>,
    pub e: Vec<R>,
    pub z: Vec<R>,
    pub k: Vec<R>,
    pub ikh: Vec<R>,
    pub l: Vec<R>,
}

impl<R: Real> UpdateWork<R> {
    pub(crate) fn new(n: usize, m: usize) -> Self {
        Self {
            idx: Vec::with_capacity(m),
            ho: vec![R::zero(); m * n],
            yo: vec![R::zero(); m],
            ro: vec![R::zero(); m * m],
            a: vec![R::zero(); n * m],
            s: vec![R::zero(); m * m],
            sinv: vec![R::zero(); m * m],
            e: vec![R::zero(); m],
            z: vec![R::zero(); m],
            k: vec![R::zero(); n * m],
            ikh: vec![R::zero(); n * n],
            l: vec![R::zero(); m * m],
        }
    }

    /// Gathers the observed rows of H_t, d_t, R_t, y_t; returns their number.
    #[inline(always)]
    pub(crate) fn gather(
        &mut self,
        model: &LinearGaussianSsm<R>,
        data: &Observations,
        t: usize,
        n: usize,
    ) -> usize {
        let m = data.n_obs;
        let y = data.y_at(t);
        self.idx.clear();
        for (i, v) in y.iter().enumerate() {
            if !v.is_nan() {
                self.idx.push(i);
            }
        }
        let mo = self.idx.len();
        let h = model.h.at(t);
        let d = model.d.at(t);
        let r = model.r.at(t);
        for (a, &i) in self.idx.iter().enumerate() {
            for j in 0..n {
                self.ho[a + j * mo] = h[i + j * m];
            }
            self.yo[a] = R::from_f64(y[i]) - d[i];
            for (b, &l) in self.idx.iter().enumerate() {
                self.ro[a + b * mo] = (r[i + l * m] + r[l + i * m]) * 0.5;
            }
        }
        mo
    }

    /// The update quantities from the predicted moments: A = P Hᵀ, S (symmetrised),
    /// S⁻¹, e, z = S⁻¹ e, K = A S⁻¹. Returns log N(e | 0, S).
    #[inline(always)]
    pub(crate) fn compute(
        &mut self,
        mp: &[R],
        pp: &[R],
        n: usize,
        mo: usize,
        t: usize,
    ) -> Result<R> {
        // A = P Hoᵀ (n x mo).
        for a in 0..mo {
            for i in 0..n {
                let mut s = R::zero();
                for j in 0..n {
                    s += pp[i + j * n] * self.ho[a + j * mo];
                }
                self.a[i + a * n] = s;
            }
        }
        // S = Ho A + Roo, symmetrised.
        for b in 0..mo {
            for a in 0..mo {
                let mut s = self.ro[a + b * mo];
                for j in 0..n {
                    s += self.ho[a + j * mo] * self.a[j + b * n];
                }
                self.s[a + b * mo] = s;
            }
        }
        symmetrize_in_place(&mut self.s[..mo * mo], mo);
        // e = y − d − Ho m.
        for a in 0..mo {
            let mut s = self.yo[a];
            for j in 0..n {
                s -= self.ho[a + j * mo] * mp[j];
            }
            self.e[a] = s;
        }
        let logdet;
        if mo == 1 {
            let s = self.s[0];
            if s.value() <= 0.0 || !s.value().is_finite() {
                return Err(innovation_error(t, s.value()));
            }
            let inv = s.recip();
            self.sinv[0] = inv;
            self.z[0] = self.e[0] * inv;
            logdet = s.ln();
        } else {
            let l = &mut self.l[..mo * mo];
            l.copy_from_slice(&self.s[..mo * mo]);
            cholesky_in_place(l, mo, "kalman_filter").map_err(|e| match e {
                Error::NotPositiveDefinite { value, .. } => innovation_error(t, value),
                other => other,
            })?;
            let mut ld = R::zero();
            for a in 0..mo {
                ld += l[a + a * mo].ln();
            }
            logdet = ld * 2.0;
            chol_inverse_into(l, mo, &mut self.sinv[..mo * mo]);
            for a in 0..mo {
                let mut s = R::zero();
                for b in 0..mo {
                    s += self.sinv[a + b * mo] * self.e[b];
                }
                self.z[a] = s;
            }
        }
        // K = A S⁻¹ (n x mo).
        for b in 0..mo {
            for i in 0..n {
                let mut s = R::zero();
                for a in 0..mo {
                    s += self.a[i + a * n] * self.sinv[a + b * mo];
                }
                self.k[i + b * n] = s;
            }
        }
        let mut quad = R::zero();
        for a in 0..mo {
            quad += self.e[a] * self.z[a];
        }
        Ok((logdet + quad + LN_2PI * mo as f64) * -0.5)
    }
}

/// The innovation covariance at step `t` is not positive definite (`value`: the pivot
/// where its Cholesky factorisation failed, or the variance itself).
pub(crate) fn innovation_error(t: usize, value: f64) -> Error {
    Error::invalid_option(
        "kalman_filter",
        format!("innovation covariance H P Hᵀ + R at step {t}"),
        format!("a pivot of {value:e}"),
        "positive definite: give the observations a positive noise variance R",
    )
}

/// The forward pass: `N` is the state dimension (0 = read it at run time).
pub(crate) fn forward<R: Real, const N: usize>(
    model: &LinearGaussianSsm<R>,
    data: &Observations,
    mut store: Option<&mut FilterOutput<R>>,
) -> Result<R> {
    let n = if N == 0 { model.n_state() } else { N };
    let nn = n * n;
    let t_len = data.n_steps;
    let k_in = data.n_inputs;
    let mut w = UpdateWork::new(n, data.n_obs);
    let mut mp = model.m1.clone();
    let mut pp = model.p1.clone();
    symmetrize_in_place(&mut pp, n);
    let mut mf = vec![R::zero(); n];
    let mut pf = vec![R::zero(); nn];
    let mut tmp = vec![R::zero(); nn];
    if let Some(s) = store.as_deref_mut() {
        s.loglik_steps = Vec::with_capacity(t_len);
        s.pred_mean = Vec::with_capacity((t_len + 1) * n);
        s.pred_cov = Vec::with_capacity((t_len + 1) * nn);
        s.filt_mean = Vec::with_capacity(t_len * n);
        s.filt_cov = Vec::with_capacity(t_len * nn);
    }
    let mut total = R::zero();
    for t in 0..t_len {
        if let Some(s) = store.as_deref_mut() {
            s.pred_mean.extend_from_slice(&mp);
            s.pred_cov.extend_from_slice(&pp);
        }
        let mo = w.gather(model, data, t, n);
        let mut ll = R::zero();
        if mo == 0 {
            mf.copy_from_slice(&mp);
            pf.copy_from_slice(&pp);
        } else {
            ll = w.compute(&mp, &pp, n, mo, t)?;
            // m_f = m + K e.
            for i in 0..n {
                let mut s = mp[i];
                for a in 0..mo {
                    s += w.k[i + a * n] * w.e[a];
                }
                mf[i] = s;
            }
            // Joseph form: (I − K H) P (I − K H)ᵀ + K R Kᵀ.
            for j in 0..n {
                for i in 0..n {
                    let mut s = if i == j { R::one() } else { R::zero() };
                    for a in 0..mo {
                        s -= w.k[i + a * n] * w.ho[a + j * mo];
                    }
                    w.ikh[i + j * n] = s;
                }
            }
            // tmp = (I − K H) P.
            for j in 0..n {
                for i in 0..n {
                    let mut s = R::zero();
                    for l in 0..n {
                        s += w.ikh[i + l * n] * pp[l + j * n];
                    }
                    tmp[i + j * n] = s;
                }
            }
            // P_f = tmp (I − K H)ᵀ + K R Kᵀ (lower triangle, then mirrored).
            for j in 0..n {
                for i in j..n {
                    let mut s = R::zero();
                    for l in 0..n {
                        s += tmp[i + l * n] * w.ikh[j + l * n];
                    }
                    for b in 0..mo {
                        let mut kr = R::zero();
                        for a in 0..mo {
                            kr += w.k[i + a * n] * w.ro[a + b * mo];
                        }
                        s += kr * w.k[j + b * n];
                    }
                    pf[i + j * n] = s;
                    pf[j + i * n] = s;
                }
            }
        }
        total += ll;
        if let Some(s) = store.as_deref_mut() {
            s.loglik_steps.push(ll);
            s.filt_mean.extend_from_slice(&mf);
            s.filt_cov.extend_from_slice(&pf);
        }
        // Predict: m = F m_f + B u + c, P = F P_f Fᵀ + Q.
        let f = model.f.at(t);
        let c = model.c.at(t);
        for i in 0..n {
            let mut s = c[i];
            for j in 0..n {
                s += f[i + j * n] * mf[j];
            }
            mp[i] = s;
        }
        if k_in > 0 {
            let b = model.b.at(t);
            let u = data.u_at(t);
            for (l, &ul) in u.iter().enumerate() {
                if ul != 0.0 {
                    for i in 0..n {
                        mp[i] += b[i + l * n] * ul;
                    }
                }
            }
        }
        // tmp = F P_f.
        for j in 0..n {
            for i in 0..n {
                let mut s = R::zero();
                for l in 0..n {
                    s += f[i + l * n] * pf[l + j * n];
                }
                tmp[i + j * n] = s;
            }
        }
        let q = model.q.at(t);
        for j in 0..n {
            for i in j..n {
                let mut s = (q[i + j * n] + q[j + i * n]) * 0.5;
                for l in 0..n {
                    s += tmp[i + l * n] * f[j + l * n];
                }
                pp[i + j * n] = s;
                pp[j + i * n] = s;
            }
        }
    }
    if let Some(s) = store {
        s.pred_mean.extend_from_slice(&mp);
        s.pred_cov.extend_from_slice(&pp);
    }
    if !total.value().is_finite() {
        return Err(Error::NonFinite {
            op: "kalman_filter",
            index: 0,
            value: total.value(),
            context: "log-likelihood".into(),
        });
    }
    Ok(total)
}

/// The one-step-ahead predictive mean and variance of every observed component,
/// E[y_t | y_{1:t−1}] = H m_{t|t−1} + d and H P_{t|t−1} Hᵀ + R (NaN-free for all t).
pub fn predictive_moments(
    model: &LinearGaussianSsm<f64>,
    out: &FilterOutput<f64>,
) -> (Vec<f64>, Vec<f64>) {
    let n = out.n;
    let m = model.n_obs();
    let mut mean = Vec::with_capacity(out.n_steps * m);
    let mut var = Vec::with_capacity(out.n_steps * m);
    for t in 0..out.n_steps {
        let h = model.h.at(t);
        let d = model.d.at(t);
        let r = model.r.at(t);
        let mp = out.pred_mean_at(t);
        let pp = out.pred_cov_at(t);
        for i in 0..m {
            let mut mu = d[i];
            let mut v = r[i + i * m];
            for j in 0..n {
                mu += h[i + j * m] * mp[j];
                for l in 0..n {
                    v += h[i + j * m] * pp[j + l * n] * h[i + l * m];
                }
            }
            mean.push(mu);
            var.push(v);
        }
    }
    (mean, var)
}

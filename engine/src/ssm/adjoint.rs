//! The hand-written adjoint (reverse pass) of the Kalman-filter log-likelihood.
//!
//! Reverse mode through the filter recursions of [`kalman`](super::kalman), one step at a
//! time from t = T down to 1, using the moments saved by the forward pass. With
//! K = A S⁻¹, A = P Hᵀ, z = S⁻¹ e and the adjoints (m̄_f, P̄_f) of the filtered moments
//! (P̄ kept symmetric), one update step contributes
//!
//! * z̄ = Aᵀ m̄_f,  Ā = m̄_f zᵀ − 2 P̄_f K,
//! * S̄ = Kᵀ P̄_f K − S⁻¹ z̄ zᵀ − ½ ḡ (S⁻¹ − z zᵀ)  (symmetrised),
//! * ē = S⁻¹ z̄ − ḡ z,  R̄ += S̄,  Ā += Hᵀ S̄,
//! * H̄ += S̄ Aᵀ − ē mᵀ + Āᵀ P,  P̄ = P̄_f + sym(Ā H),  m̄ = m̄_f − Hᵀ ē,  d̄ −= ē,
//!
//! and one prediction step, with (m̄, P̄) of the next predicted moments,
//! m̄_f = Fᵀ m̄, P̄_f = Fᵀ P̄ F, F̄ += m̄ m_fᵀ + 2 P̄ F P_f, B̄ += m̄ uᵀ, c̄ += m̄, Q̄ += P̄.
//!
//! The Joseph-form update of the forward pass equals P − K S Kᵀ as a function of its
//! inputs, so its derivative is that of the simple form used here (Giles 2008, "An
//! extended collection of matrix derivative results", for the elementary rules).
//! The code is generic over [`Real`]: on dual numbers it gives exact Hessian–vector
//! products (forward over this reverse pass).
//!
//! ```
//! use mechml_engine::ssm::{LinearGaussianSsm, Observations, adjoint::kalman_loglik_grad, kalman::kalman_loglik};
//! let model = LinearGaussianSsm::time_invariant(1, 1, vec![0.8], vec![0.3], vec![1.0],
//!                                               vec![0.5], vec![0.0], vec![1.0])?;
//! let data = Observations::univariate(vec![0.3, -0.2, 0.4])?;
//! let (ll, grad) = kalman_loglik_grad(&model, &data, 1.0)?;
//! // d ll / d F against a central difference.
//! let h = 1e-6;
//! let mut mp = model.clone(); mp.f.data_mut()[0] += h;
//! let mut mm = model.clone(); mm.f.data_mut()[0] -= h;
//! let fd = (kalman_loglik(&mp, &data)? - kalman_loglik(&mm, &data)?) / (2.0 * h);
//! assert!((grad.f.data()[0] - fd).abs() < 1e-6 && ll.is_finite());
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::ad::Real;
use crate::error::Result;

use super::kalman::{FilterOutput, UpdateWork, dispatch_forward};
use super::model::{LinearGaussianSsm, Observations};

/// The gradient of the log-likelihood with respect to every model matrix, in the same
/// layout as the model (constant matrices accumulate over time).
pub type SsmGradient<R> = LinearGaussianSsm<R>;

/// Value and gradient of the log-likelihood, scaled by `g` (the output adjoint).
pub fn kalman_loglik_grad<R: Real>(
    model: &LinearGaussianSsm<R>,
    data: &Observations,
    g: R,
) -> Result<(R, SsmGradient<R>)> {
    model.check(data)?;
    let (ll, trace) = forward_for_adjoint(model, data)?;
    let grad = adjoint_from_trace(model, data, &trace, g)?;
    Ok((ll, grad))
}

/// What the forward pass keeps for the reverse pass.
pub(crate) enum Trace<R> {
    /// Every moment (general path).
    Full(FilterOutput<R>),
    /// The predicted moments only, compactly (scalar observations, n ≤ 4).
    Compact(Vec<R>),
}

/// The forward pass keeping what the adjoint needs.
pub(crate) fn forward_for_adjoint<R: Real>(
    model: &LinearGaussianSsm<R>,
    data: &Observations,
) -> Result<(R, Trace<R>)> {
    use super::kalman_scalar::forward_scalar;
    let mut c = Vec::new();
    let ll = match (model.n_state(), model.n_obs()) {
        (1, 1) => forward_scalar::<R, 1, _>(model, data, None, Some(&mut c))?,
        (2, 1) => forward_scalar::<R, 2, _>(model, data, None, Some(&mut c))?,
        (3, 1) => forward_scalar::<R, 3, _>(model, data, None, Some(&mut c))?,
        (4, 1) => forward_scalar::<R, 4, _>(model, data, None, Some(&mut c))?,
        _ => {
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
            let ll = dispatch_forward(model, data, Some(&mut out))?;
            return Ok((ll, Trace::Full(out)));
        }
    };
    Ok((ll, Trace::Compact(c)))
}

/// The reverse pass from a trace.
pub(crate) fn adjoint_from_trace<R: Real>(
    model: &LinearGaussianSsm<R>,
    data: &Observations,
    trace: &Trace<R>,
    g: R,
) -> Result<SsmGradient<R>> {
    use super::kalman_scalar::adjoint_scalar;
    match trace {
        Trace::Compact(c) => {
            let mut grad = zeros_like(model);
            match model.n_state() {
                1 => adjoint_scalar::<R, 1, _>(model, data, c, g, &mut grad)?,
                2 => adjoint_scalar::<R, 2, _>(model, data, c, g, &mut grad)?,
                3 => adjoint_scalar::<R, 3, _>(model, data, c, g, &mut grad)?,
                _ => adjoint_scalar::<R, 4, _>(model, data, c, g, &mut grad)?,
            }
            Ok(grad)
        }
        Trace::Full(out) => match model.n_state() {
            1 => adjoint::<R, 1>(model, data, out, g),
            2 => adjoint::<R, 2>(model, data, out, g),
            3 => adjoint::<R, 3>(model, data, out, g),
            4 => adjoint::<R, 4>(model, data, out, g),
            _ => adjoint::<R, 0>(model, data, out, g),
        },
    }
}

/// Zeros in the layout of `model`.
pub(crate) fn zeros_like<R: Real>(model: &LinearGaussianSsm<R>) -> SsmGradient<R> {
    LinearGaussianSsm {
        f: model.f.zeros_like(),
        b: model.b.zeros_like(),
        c: model.c.zeros_like(),
        q: model.q.zeros_like(),
        h: model.h.zeros_like(),
        d: model.d.zeros_like(),
        r: model.r.zeros_like(),
        m1: vec![R::zero(); model.m1.len()],
        p1: vec![R::zero(); model.p1.len()],
    }
}

fn adjoint<R: Real, const N: usize>(
    model: &LinearGaussianSsm<R>,
    data: &Observations,
    out: &FilterOutput<R>,
    g: R,
) -> Result<SsmGradient<R>> {
    let n = if N == 0 { model.n_state() } else { N };
    let nn = n * n;
    let m = data.n_obs;
    let mut grad = zeros_like(model);
    let mut w = UpdateWork::new(n, m);
    // Adjoints of the predicted moments of step t + 1 (zero after the last step).
    let mut mbar = vec![R::zero(); n];
    let mut pbar = vec![R::zero(); nn];
    let mut mfbar = vec![R::zero(); n];
    let mut pfbar = vec![R::zero(); nn];
    let mut tmp = vec![R::zero(); nn];
    let mut abar = vec![R::zero(); n * m];
    let mut pk = vec![R::zero(); n * m];
    let mut sbar = vec![R::zero(); m * m];
    let mut zbar = vec![R::zero(); m];
    let mut ebar = vec![R::zero(); m];
    let mut hbar_o = vec![R::zero(); m * n];
    let mut first = true;
    for t in (0..data.n_steps).rev() {
        let mf = out.filt_mean_at(t);
        let pf = out.filt_cov_at(t);
        if first {
            // The prediction after the last step does not enter the likelihood.
            first = false;
            for v in mfbar.iter_mut() {
                *v = R::zero();
            }
            for v in pfbar.iter_mut() {
                *v = R::zero();
            }
        } else {
            let f = model.f.at(t);
            let fo = model.f.offset(t);
            // F̄ += m̄ m_fᵀ + 2 P̄ F P_f ; m̄_f = Fᵀ m̄ ; P̄_f = Fᵀ P̄ F.
            {
                let fbar = &mut grad.f.data_mut()[fo..fo + nn];
                // tmp = P̄ F.
                for j in 0..n {
                    for i in 0..n {
                        let mut s = R::zero();
                        for l in 0..n {
                            s += pbar[i + l * n] * f[l + j * n];
                        }
                        tmp[i + j * n] = s;
                    }
                }
                for j in 0..n {
                    for i in 0..n {
                        let mut s = mbar[i] * mf[j];
                        let mut s2 = R::zero();
                        for l in 0..n {
                            s2 += tmp[i + l * n] * pf[l + j * n];
                        }
                        s += s2 * 2.0;
                        fbar[i + j * n] += s;
                    }
                }
            }
            for j in 0..n {
                let mut s = R::zero();
                for i in 0..n {
                    s += f[i + j * n] * mbar[i];
                }
                mfbar[j] = s;
            }
            // P̄_f = Fᵀ (P̄ F) = Fᵀ tmp.
            for j in 0..n {
                for i in j..n {
                    let mut s = R::zero();
                    for l in 0..n {
                        s += f[l + i * n] * tmp[l + j * n];
                    }
                    pfbar[i + j * n] = s;
                    pfbar[j + i * n] = s;
                }
            }
            let co = model.c.offset(t);
            for i in 0..n {
                grad.c.data_mut()[co + i] += mbar[i];
            }
            let qo = model.q.offset(t);
            {
                let qbar = &mut grad.q.data_mut()[qo..qo + nn];
                for (q, p) in qbar.iter_mut().zip(&pbar) {
                    *q += *p;
                }
            }
            let k_in = data.n_inputs;
            if k_in > 0 {
                let bo = model.b.offset(t);
                let u = data.u_at(t);
                let bbar = &mut grad.b.data_mut()[bo..bo + n * k_in];
                for (l, &ul) in u.iter().enumerate() {
                    for i in 0..n {
                        bbar[i + l * n] += mbar[i] * ul;
                    }
                }
            }
        }
        // Update step.
        let mp = out.pred_mean_at(t);
        let pp = out.pred_cov_at(t);
        let mo = w.gather(model, data, t, n);
        if mo == 0 {
            mbar.copy_from_slice(&mfbar);
            pbar.copy_from_slice(&pfbar);
            continue;
        }
        w.compute(mp, pp, n, mo, t)?;
        // z̄ = Aᵀ m̄_f.
        for a in 0..mo {
            let mut s = R::zero();
            for i in 0..n {
                s += w.a[i + a * n] * mfbar[i];
            }
            zbar[a] = s;
        }
        // S̄ = Kᵀ P̄_f K − (S⁻¹ z̄) zᵀ − ½ g (S⁻¹ − z zᵀ).
        // pk (n x mo) = P̄_f K.
        for a in 0..mo {
            for i in 0..n {
                let mut s = R::zero();
                for l in 0..n {
                    s += pfbar[i + l * n] * w.k[l + a * n];
                }
                pk[i + a * n] = s;
            }
        }
        // Ā = m̄_f zᵀ − 2 P̄_f K.
        for a in 0..mo {
            for i in 0..n {
                abar[i + a * n] = mfbar[i] * w.z[a] - pk[i + a * n] * 2.0;
            }
        }
        // ē = S⁻¹ z̄ − g z (uses ebar as S⁻¹ z̄ first).
        for a in 0..mo {
            let mut s = R::zero();
            for b in 0..mo {
                s += w.sinv[a + b * mo] * zbar[b];
            }
            ebar[a] = s;
        }
        for b in 0..mo {
            for a in 0..mo {
                let mut s = R::zero();
                for i in 0..n {
                    s += w.k[i + a * n] * pk[i + b * n];
                }
                s -= ebar[a] * w.z[b];
                s -= (w.sinv[a + b * mo] - w.z[a] * w.z[b]) * g * 0.5;
                sbar[a + b * mo] = s;
            }
        }
        for b in 0..mo {
            for a in 0..b {
                let s = (sbar[a + b * mo] + sbar[b + a * mo]) * 0.5;
                sbar[a + b * mo] = s;
                sbar[b + a * mo] = s;
            }
        }
        for a in 0..mo {
            ebar[a] -= g * w.z[a];
        }
        // Ā += Hᵀ S̄.
        for a in 0..mo {
            for i in 0..n {
                let mut s = R::zero();
                for b in 0..mo {
                    s += w.ho[b + i * mo] * sbar[b + a * mo];
                }
                abar[i + a * n] += s;
            }
        }
        // H̄_o = S̄ Aᵀ − ē mᵀ + Āᵀ P.
        for j in 0..n {
            for a in 0..mo {
                let mut s = -ebar[a] * mp[j];
                for b in 0..mo {
                    s += sbar[a + b * mo] * w.a[j + b * n];
                }
                for l in 0..n {
                    s += abar[l + a * n] * pp[l + j * n];
                }
                hbar_o[a + j * mo] = s;
            }
        }
        // P̄ = P̄_f + sym(Ā H) ; m̄ = m̄_f − Hᵀ ē.
        for j in 0..n {
            for i in 0..n {
                let mut s = R::zero();
                for a in 0..mo {
                    s += abar[i + a * n] * w.ho[a + j * mo];
                }
                tmp[i + j * n] = s;
            }
        }
        for j in 0..n {
            for i in j..n {
                let s = pfbar[i + j * n] + (tmp[i + j * n] + tmp[j + i * n]) * 0.5;
                pbar[i + j * n] = s;
                pbar[j + i * n] = s;
            }
        }
        for j in 0..n {
            let mut s = mfbar[j];
            for a in 0..mo {
                s -= w.ho[a + j * mo] * ebar[a];
            }
            mbar[j] = s;
        }
        // Scatter into the full H̄_t, d̄_t, R̄_t.
        let ho = model.h.offset(t);
        let hbar = &mut grad.h.data_mut()[ho..ho + m * n];
        for (a, &i) in w.idx.iter().enumerate() {
            for j in 0..n {
                hbar[i + j * m] += hbar_o[a + j * mo];
            }
        }
        let dof = model.d.offset(t);
        let dbar = &mut grad.d.data_mut()[dof..dof + m];
        for (a, &i) in w.idx.iter().enumerate() {
            dbar[i] -= ebar[a];
        }
        let ro = model.r.offset(t);
        let rbar = &mut grad.r.data_mut()[ro..ro + m * m];
        for (b, &l) in w.idx.iter().enumerate() {
            for (a, &i) in w.idx.iter().enumerate() {
                rbar[i + l * m] += sbar[a + b * mo];
            }
        }
    }
    if data.n_steps == 0 {
        return Ok(grad);
    }
    grad.m1.copy_from_slice(&mbar);
    grad.p1.copy_from_slice(&pbar);
    Ok(grad)
}

//! The Kalman filter's fast path for one observed series and a small state (n ≤ 4): the
//! same recursions as [`kalman`](super::kalman) (Joseph-form update), with the state
//! dimension a compile-time constant and every vector and matrix on the stack, so the
//! loops unroll completely. Selected automatically by the filter.

use crate::ad::Real;
use crate::error::{Error, Result};

use super::kalman::{FilterOutput, LN_2PI, innovation_error};
use super::model::Observations;
use super::steps::{ObservationAdjoint, ScalarSteps, StepMats, TransitionAdjoint, symmetrize};

#[inline(always)]
fn write_mat<R: Real, const N: usize>(dst: &mut [R], t: usize, a: &[[R; N]; N]) {
    let d = &mut dst[t * N * N..(t + 1) * N * N];
    for j in 0..N {
        d[j * N..(j + 1) * N].copy_from_slice(&a[j]);
    }
}

/// Values per step of the compact trace: the predicted mean and the lower triangle of
/// the predicted covariance.
pub(crate) const fn compact_stride<const N: usize>() -> usize {
    N + N * (N + 1) / 2
}

#[inline(always)]
fn write_compact<R: Real, const N: usize>(dst: &mut [R], t: usize, m: &[R; N], p: &[[R; N]; N]) {
    let s = compact_stride::<N>();
    let d = &mut dst[t * s..(t + 1) * s];
    d[..N].copy_from_slice(m);
    let mut o = N;
    for j in 0..N {
        for i in j..N {
            d[o] = p[j][i];
            o += 1;
        }
    }
}

#[inline(always)]
fn read_compact<R: Real, const N: usize>(src: &[R], t: usize) -> ([R; N], [[R; N]; N]) {
    let s = compact_stride::<N>();
    let d = &src[t * s..(t + 1) * s];
    let mut m = [R::zero(); N];
    m.copy_from_slice(&d[..N]);
    let mut p = [[R::zero(); N]; N];
    let mut o = N;
    for j in 0..N {
        for i in j..N {
            p[j][i] = d[o];
            p[i][j] = d[o];
            o += 1;
        }
    }
    (m, p)
}

#[inline(always)]
fn write_vec<R: Real, const N: usize>(dst: &mut [R], t: usize, a: &[R; N]) {
    dst[t * N..(t + 1) * N].copy_from_slice(a);
}

/// The forward pass for m = 1 and n = N.
pub(crate) fn forward_scalar<R: Real, const N: usize, M: ScalarSteps<R, N>>(
    model: &M,
    data: &Observations,
    mut store: Option<&mut FilterOutput<R>>,
    mut compact: Option<&mut Vec<R>>,
) -> Result<R> {
    let t_len = data.n_steps;
    let stride = compact_stride::<N>();
    if let Some(c) = compact.as_deref_mut() {
        c.clear();
        c.resize(t_len * stride, R::zero());
    }
    let (mut m, mut p) = model.initial();
    symmetrize(&mut p);
    if let Some(s) = store.as_deref_mut() {
        s.loglik_steps = vec![R::zero(); t_len];
        s.pred_mean = vec![R::zero(); (t_len + 1) * N];
        s.pred_cov = vec![R::zero(); (t_len + 1) * N * N];
        s.filt_mean = vec![R::zero(); t_len * N];
        s.filt_cov = vec![R::zero(); t_len * N * N];
    }
    let mut mats: StepMats<R, N> = model.load(0);
    let mut total = R::zero();
    // Without storage, Σ ln sₜ is accumulated as ln Π sₜ over blocks of steps (one
    // logarithm per block instead of per step; the product is renormalised long before it
    // could overflow or underflow).
    let keep_steps = store.is_some();
    let mut sprod = R::one();
    let mut n_prod = 0usize;
    // Steady state: with constant F, Q, h, r and every step observed, the covariance
    // recursion does not depend on the data; once the predicted covariance repeats to
    // within 4 ulp it is held fixed and only the mean is propagated (exact up to rounding).
    // Plain f64 values only: dual tangents of P may still be converging.
    let allow_steady =
        !keep_steps && std::any::type_name::<R>() == "f64" && model.is_time_invariant();
    let mut frozen: Option<([R; N], R, R)> = None; // (k, 1/s, s)
    for t in 0..t_len {
        if t > 0 {
            model.refresh(&mut mats, t, t - 1);
        }
        if let Some((k, sinv, s)) = frozen {
            let y = data.y[t];
            if y.is_nan() {
                frozen = None;
            } else {
                if let Some(c) = compact.as_deref_mut() {
                    write_compact(c, t, &m, &p);
                }
                let mut e = R::from_f64(y) - mats.d;
                for i in 0..N {
                    e -= mats.h[i] * m[i];
                }
                total += (e * e * sinv + LN_2PI) * -0.5;
                sprod *= s;
                n_prod += 1;
                if n_prod == 32 || !(1e-120..=1e120).contains(&sprod.value()) {
                    total -= sprod.ln() * 0.5;
                    sprod = R::one();
                    n_prod = 0;
                }
                let mut mf = m;
                for i in 0..N {
                    mf[i] += k[i] * e;
                }
                let f = mats.f;
                for i in 0..N {
                    let mut v = mats.c[i];
                    for j in 0..N {
                        v += f[j][i] * mf[j];
                    }
                    m[i] = v;
                }
                model.add_input(data, t, &mut m);
                continue;
            }
        }
        let p_old = p;
        let mut gain: Option<([R; N], R, R)> = None;
        if let Some(s) = store.as_deref_mut() {
            write_vec(&mut s.pred_mean, t, &m);
            write_mat(&mut s.pred_cov, t, &p);
        }
        if let Some(c) = compact.as_deref_mut() {
            write_compact(c, t, &m, &p);
        }
        let y = data.y[t];
        let mut ll = R::zero();
        let (mf, pf) = if y.is_nan() {
            (m, p)
        } else {
            let h = mats.h;
            // A = P h, S = hᵀ A + r, e = y − d − hᵀ m.
            let mut a = [R::zero(); N];
            for j in 0..N {
                for i in 0..N {
                    a[i] += p[j][i] * h[j];
                }
            }
            let mut s = mats.r;
            let mut e = R::from_f64(y) - mats.d;
            for i in 0..N {
                s += h[i] * a[i];
                e -= h[i] * m[i];
            }
            if s.value() <= 0.0 || !s.value().is_finite() {
                return Err(innovation_error(t, s.value()));
            }
            let sinv = s.recip();
            gain = Some((
                {
                    let mut k = [R::zero(); N];
                    for i in 0..N {
                        k[i] = a[i] * sinv;
                    }
                    k
                },
                sinv,
                s,
            ));
            if keep_steps {
                ll = (s.ln() + e * e * sinv + LN_2PI) * -0.5;
            } else {
                ll = (e * e * sinv + LN_2PI) * -0.5;
                sprod *= s;
                n_prod += 1;
                let v = sprod.value();
                if n_prod == 32 || !(1e-120..=1e120).contains(&v) {
                    total -= sprod.ln() * 0.5;
                    sprod = R::one();
                    n_prod = 0;
                }
            }
            let mut k = [R::zero(); N];
            let mut mf = m;
            for i in 0..N {
                k[i] = a[i] * sinv;
                mf[i] += k[i] * e;
            }
            // Joseph form: (I − k hᵀ) P (I − k hᵀ)ᵀ + r k kᵀ.
            let mut ikh = [[R::zero(); N]; N];
            for j in 0..N {
                for i in 0..N {
                    let delta = if i == j { R::one() } else { R::zero() };
                    ikh[j][i] = delta - k[i] * h[j];
                }
            }
            let mut tmp = [[R::zero(); N]; N];
            for j in 0..N {
                for l in 0..N {
                    for i in 0..N {
                        tmp[j][i] += ikh[l][i] * p[j][l];
                    }
                }
            }
            let mut pf = [[R::zero(); N]; N];
            for j in 0..N {
                for i in j..N {
                    let mut v = mats.r * k[i] * k[j];
                    for l in 0..N {
                        v += tmp[l][i] * ikh[l][j];
                    }
                    pf[j][i] = v;
                    pf[i][j] = v;
                }
            }
            (mf, pf)
        };
        total += ll;
        if let Some(s) = store.as_deref_mut() {
            s.loglik_steps[t] = ll;
            write_vec(&mut s.filt_mean, t, &mf);
            write_mat(&mut s.filt_cov, t, &pf);
        }
        // Predict.
        let f = mats.f;
        for i in 0..N {
            let mut v = mats.c[i];
            for j in 0..N {
                v += f[j][i] * mf[j];
            }
            m[i] = v;
        }
        model.add_input(data, t, &mut m);
        let mut fp = [[R::zero(); N]; N];
        for j in 0..N {
            for l in 0..N {
                for i in 0..N {
                    fp[j][i] += f[l][i] * pf[j][l];
                }
            }
        }
        for j in 0..N {
            for i in j..N {
                let mut v = mats.q[j][i];
                for l in 0..N {
                    v += fp[l][i] * f[l][j];
                }
                p[j][i] = v;
                p[i][j] = v;
            }
        }
        if allow_steady && gain.is_some() {
            let mut same = true;
            for j in 0..N {
                for i in 0..N {
                    let (a, b) = (p[j][i].value(), p_old[j][i].value());
                    if (a - b).abs() > 4.0 * f64::EPSILON * a.abs().max(b.abs()) {
                        same = false;
                    }
                }
            }
            if same {
                frozen = gain;
            }
        }
    }
    if n_prod > 0 {
        total -= sprod.ln() * 0.5;
    }
    if let Some(s) = store {
        write_vec(&mut s.pred_mean, t_len, &m);
        write_mat(&mut s.pred_cov, t_len, &p);
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

/// The reverse pass for m = 1 and n = N (see [`adjoint`](super::adjoint) for the
/// formulas), from the moments stored by the forward pass.
pub(crate) fn adjoint_scalar<R: Real, const N: usize, M: ScalarSteps<R, N>>(
    model: &M,
    data: &Observations,
    trace: &[R],
    g: R,
    grad: &mut M::Grad,
) -> Result<()> {
    let mut mbar = [R::zero(); N];
    let mut pbar = [[R::zero(); N]; N];
    let t_len = data.n_steps;
    if t_len == 0 {
        return Ok(());
    }
    let mut mats: StepMats<R, N> = model.load(t_len - 1);
    let stride = compact_stride::<N>();
    let reuse_ok = std::any::type_name::<R>() == "f64" && model.observation_invariant();
    #[allow(clippy::type_complexity)]
    let mut cache: Option<(usize, [R; N], R, [R; N], [[R; N]; N])> = None;
    for t in (0..t_len).rev() {
        if t + 1 < t_len {
            model.refresh(&mut mats, t, t + 1);
        }
        let (mp, pp) = read_compact::<R, N>(trace, t);
        let y = data.y[t];
        let h = mats.h;
        // Update quantities (also give the filtered moments m_f = m + k e, P_f = P − k aᵀ).
        // In the steady state the stored covariance repeats exactly, and so do a, 1/s, k and
        // P_f: they are reused from the previous step.
        let mut e = R::from_f64(y) - mats.d;
        let observed = !y.is_nan();
        let block = &trace[t * stride + N..(t + 1) * stride];
        let reuse = match &cache {
            Some((tc, ..)) if observed && reuse_ok => {
                block == &trace[tc * stride + N..(tc + 1) * stride]
            }
            _ => false,
        };
        let (a, sinv, k, pf) = match (&cache, reuse) {
            (Some((_, a, sinv, k, pf)), true) => (*a, *sinv, *k, *pf),
            _ if observed => {
                let mut a = [R::zero(); N];
                let mut s = mats.r;
                for j in 0..N {
                    for i in 0..N {
                        a[i] += pp[j][i] * h[j];
                    }
                }
                for i in 0..N {
                    s += h[i] * a[i];
                }
                let sinv = s.recip();
                let mut k = [R::zero(); N];
                for i in 0..N {
                    k[i] = a[i] * sinv;
                }
                let mut pf = pp;
                for j in 0..N {
                    for i in 0..N {
                        pf[j][i] -= k[i] * a[j];
                    }
                }
                cache = Some((t, a, sinv, k, pf));
                (a, sinv, k, pf)
            }
            _ => ([R::zero(); N], R::zero(), [R::zero(); N], pp),
        };
        let mut mf = mp;
        let mut z = R::zero();
        if observed {
            for i in 0..N {
                e -= h[i] * mp[i];
            }
            z = e * sinv;
            for i in 0..N {
                mf[i] += k[i] * e;
            }
        }
        let mut mfbar = [R::zero(); N];
        let mut pfbar = [[R::zero(); N]; N];
        if t + 1 < t_len {
            let f = mats.f;
            // tmp = P̄ F ; F̄ += m̄ m_fᵀ + 2 tmp P_f ; m̄_f = Fᵀ m̄ ; P̄_f = Fᵀ tmp.
            let mut tmp = [[R::zero(); N]; N];
            for j in 0..N {
                for l in 0..N {
                    for i in 0..N {
                        tmp[j][i] += pbar[l][i] * f[j][l];
                    }
                }
            }
            for j in 0..N {
                for i in 0..N {
                    mfbar[j] += f[j][i] * mbar[i];
                }
            }
            for j in 0..N {
                for i in j..N {
                    let mut v = R::zero();
                    for l in 0..N {
                        v += f[i][l] * tmp[j][l];
                    }
                    pfbar[j][i] = v;
                    pfbar[i][j] = v;
                }
            }
            model.transition_adjoint(
                grad,
                data,
                t,
                &TransitionAdjoint {
                    f: &f,
                    mbar: &mbar,
                    pbar: &pbar,
                    pbar_f: &tmp,
                    mf: &mf,
                    pf: &pf,
                },
            );
        }
        if !observed {
            mbar = mfbar;
            pbar = pfbar;
            continue;
        }
        // z̄, P̄_f k, Ā, S̄, ē.
        let mut zbar = R::zero();
        for i in 0..N {
            zbar += a[i] * mfbar[i];
        }
        let mut pk = [R::zero(); N];
        for l in 0..N {
            for i in 0..N {
                pk[i] += pfbar[l][i] * k[l];
            }
        }
        let mut kpk = R::zero();
        for i in 0..N {
            kpk += k[i] * pk[i];
        }
        let sbar = kpk - sinv * zbar * z - (sinv - z * z) * g * 0.5;
        let ebar = sinv * zbar - g * z;
        let mut abar = [R::zero(); N];
        for i in 0..N {
            abar[i] = mfbar[i] * z - pk[i] * 2.0 + h[i] * sbar;
        }
        // H̄ += S̄ a − ē m + Āᵀ P ; P̄ = P̄_f + sym(Ā hᵀ) ; m̄ = m̄_f − h ē.
        model.observation_adjoint(
            grad,
            t,
            &ObservationAdjoint {
                sbar,
                ebar,
                a: &a,
                abar: &abar,
                mp: &mp,
                pp: &pp,
            },
        );
        for j in 0..N {
            for i in j..N {
                let v = pfbar[j][i] + (abar[i] * h[j] + abar[j] * h[i]) * 0.5;
                pbar[j][i] = v;
                pbar[i][j] = v;
            }
        }
        for j in 0..N {
            mbar[j] = mfbar[j] - h[j] * ebar;
        }
    }
    model.initial_adjoint(grad, &mbar, &pbar);
    Ok(())
}

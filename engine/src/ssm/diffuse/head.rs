//! The exact initial filter over the diffuse period ([`diffuse_head`]) and the diffuse
//! log-likelihood ([`diffuse_kalman_loglik`]).

use super::{DiffuseInit, OP};
use crate::ad::Real;
use crate::error::{Error, Result};
use crate::ssm::kalman::{LN_2PI, kalman_loglik};
use crate::ssm::model::{LinearGaussianSsm, Observations, Seq};

/// What the diffuse period leaves: its length `d`, its contribution to the diffuse
/// log-likelihood, and the predicted mean and (proper) covariance of `x_{d+1}`, from which
/// the ordinary filter continues.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffuseHead<R> {
    /// Number of steps `d` in the diffuse period (`P∞,d+1 = 0`), or all of them.
    pub steps: usize,
    /// `Σ_{t ≤ d}` of the log-likelihood contributions.
    pub loglik: R,
    /// `m_{d+1}`.
    pub mean: Vec<R>,
    /// `P*_{d+1}` (`n x n`).
    pub cov: Vec<R>,
}

/// Runs the exact initial filter over the diffuse period (or exactly `force` steps).
///
/// # Errors
/// A model that does not fit the data, a non-diagonal observation noise during the diffuse
/// period, or a non-positive innovation variance.
pub fn diffuse_head<R: Real>(
    model: &LinearGaussianSsm<R>,
    init: &DiffuseInit,
    data: &Observations,
) -> Result<DiffuseHead<R>> {
    model.check(data)?;
    init.check(model.n_state())?;
    head(model, init, data, None)
}

/// The head with an optional forced length (for the recorded gradient, so that it takes
/// the same steps as the value pass).
pub(super) fn head<R: Real>(
    model: &LinearGaussianSsm<R>,
    init: &DiffuseInit,
    data: &Observations,
    force: Option<usize>,
) -> Result<DiffuseHead<R>> {
    let n = model.n_state();
    let m = data.n_obs;
    let nn = n * n;
    let tol = init.abs_tol();
    let mut a = model.m1.clone();
    let mut ps: Vec<R> = model.p1.clone();
    crate::ssm::dense::symmetrize_in_place(&mut ps, n);
    let mut pi: Vec<R> = init.p_inf().iter().map(|&x| R::from_f64(x)).collect();
    let (mut minf, mut mstar) = (vec![R::zero(); n], vec![R::zero(); n]);
    let mut tmp = vec![R::zero(); nn];
    let mut ll = R::zero();
    let is_zero = |p: &[R]| p.iter().all(|x| x.value().abs() <= tol);
    let mut t = 0;
    while t < data.n_steps {
        match force {
            Some(d) if t >= d => break,
            None if is_zero(&pi) => break,
            _ => {}
        }
        let y = data.y_at(t);
        let (h, d, r) = (model.h.at(t), model.d.at(t), model.r.at(t));
        for i in 0..m {
            if y[i].is_nan() {
                continue;
            }
            for l in 0..m {
                if l != i && !y[l].is_nan() && r[i + l * m].value() != 0.0 {
                    return Err(Error::invalid_option(
                        OP,
                        format!("r[({i}, {l})] at step {t}"),
                        r[i + l * m].value(),
                        "0: the univariate treatment of the diffuse period needs a diagonal \
                         observation-noise covariance",
                    ));
                }
            }
            // v = y − zᵀ m − d; M∞ = P∞ z, M* = P* z; F∞ = zᵀ M∞, F* = zᵀ M* + σ².
            let mut v = R::from_f64(y[i]) - d[i];
            for j in 0..n {
                v -= h[i + j * m] * a[j];
            }
            let (mut finf, mut fstar) = (R::zero(), r[i + i * m]);
            for k in 0..n {
                let (mut si, mut ss) = (R::zero(), R::zero());
                for j in 0..n {
                    let z = h[i + j * m];
                    si += pi[k + j * n] * z;
                    ss += ps[k + j * n] * z;
                }
                minf[k] = si;
                mstar[k] = ss;
            }
            for k in 0..n {
                let z = h[i + k * m];
                finf += z * minf[k];
                fstar += z * mstar[k];
            }
            if finf.value() > tol {
                let inv = finf.recip();
                for k in 0..n {
                    a[k] += minf[k] * v * inv;
                }
                let w = fstar * inv * inv;
                for c in 0..n {
                    for rr in 0..n {
                        let (mi_r, mi_c) = (minf[rr], minf[c]);
                        pi[rr + c * n] -= mi_r * mi_c * inv;
                        ps[rr + c * n] +=
                            mi_r * mi_c * w - (mstar[rr] * mi_c + mi_r * mstar[c]) * inv;
                    }
                }
                ll += (finf.ln() + LN_2PI) * -0.5;
            } else {
                if fstar.value() <= 0.0 || !fstar.value().is_finite() {
                    return Err(Error::invalid_option(
                        OP,
                        format!("innovation variance at step {t}, component {i}"),
                        fstar.value(),
                        "> 0: give the observations a positive noise variance R",
                    ));
                }
                let inv = fstar.recip();
                for k in 0..n {
                    a[k] += mstar[k] * v * inv;
                }
                for c in 0..n {
                    for rr in 0..n {
                        ps[rr + c * n] -= mstar[rr] * mstar[c] * inv;
                    }
                }
                ll += (fstar.ln() + v * v * inv + LN_2PI) * -0.5;
            }
        }
        // Predict: m ← F m + B u + c, P* ← F P* Fᵀ + Q, P∞ ← F P∞ Fᵀ.
        let (f, c, q) = (model.f.at(t), model.c.at(t), model.q.at(t));
        let mut next = c.to_vec();
        for j in 0..n {
            for i in 0..n {
                next[i] += f[i + j * n] * a[j];
            }
        }
        let k_in = data.n_inputs;
        if k_in > 0 {
            let b = model.b.at(t);
            for (l, &ul) in data.u_at(t).iter().enumerate() {
                for i in 0..n {
                    next[i] += b[i + l * n] * ul;
                }
            }
        }
        a = next;
        for p in [&mut ps, &mut pi] {
            crate::ssm::dense::matmul_into(f, p, n, n, n, &mut tmp);
            crate::ssm::dense::matmul_nt_into(&tmp, f, n, n, n, p.as_mut_slice());
        }
        for (p, &qv) in ps.iter_mut().zip(q) {
            *p += qv;
        }
        crate::ssm::dense::symmetrize_in_place(&mut ps, n);
        crate::ssm::dense::symmetrize_in_place(&mut pi, n);
        t += 1;
    }
    Ok(DiffuseHead {
        steps: t,
        loglik: ll,
        mean: a,
        cov: ps,
    })
}

/// The matrices of steps `t0..` of a sequence.
pub(super) fn seq_from<R: Real>(s: &Seq<R>, t0: usize) -> Result<Seq<R>> {
    if s.is_varying() {
        let sz = s.rows() * s.cols();
        let n_steps = s.n_stored().saturating_sub(t0);
        Seq::varying(s.rows(), s.cols(), n_steps, s.data()[t0 * sz..].to_vec())
    } else {
        Ok(s.clone())
    }
}

/// The matrices of steps `..d` of a sequence.
pub(super) fn seq_until<R: Real>(s: &Seq<R>, d: usize) -> Result<Seq<R>> {
    if s.is_varying() {
        let sz = s.rows() * s.cols();
        Seq::varying(s.rows(), s.cols(), d, s.data()[..d * sz].to_vec())
    } else {
        Ok(s.clone())
    }
}

/// Adds the gradient `part` of steps `t0..` (or of a constant) into `into`.
pub(super) fn add_seq<R: Real>(into: &mut Seq<R>, part: &Seq<R>, t0: usize) {
    let off = if into.is_varying() {
        t0 * into.rows() * into.cols()
    } else {
        0
    };
    for (x, &p) in into.data_mut()[off..].iter_mut().zip(part.data()) {
        *x += p;
    }
}

/// The model of steps `d..` with prior `N(mean, cov)`, and its data.
pub(super) fn tail<R: Real>(
    model: &LinearGaussianSsm<R>,
    data: &Observations,
    head: &DiffuseHead<R>,
) -> Result<(LinearGaussianSsm<R>, Observations)> {
    let d = head.steps;
    let tail_model = LinearGaussianSsm {
        f: seq_from(&model.f, d)?,
        b: seq_from(&model.b, d)?,
        c: seq_from(&model.c, d)?,
        q: seq_from(&model.q, d)?,
        h: seq_from(&model.h, d)?,
        d: seq_from(&model.d, d)?,
        r: seq_from(&model.r, d)?,
        m1: head.mean.clone(),
        p1: head.cov.clone(),
    };
    let (m, k) = (data.n_obs, data.n_inputs);
    let tail_data = Observations {
        n_steps: data.n_steps - d,
        n_obs: m,
        n_inputs: k,
        y: data.y[d * m..].to_vec(),
        u: data.u[d * k..].to_vec(),
    };
    Ok((tail_model, tail_data))
}

/// The diffuse log-likelihood `log L_d` (D&K 2012, §7.2.2) of `data` under `model` with the
/// diffuse prior `init`.
///
/// # Errors
/// Those of [`diffuse_head`] and [`kalman_loglik`].
pub fn diffuse_kalman_loglik<R: Real>(
    model: &LinearGaussianSsm<R>,
    init: &DiffuseInit,
    data: &Observations,
) -> Result<R> {
    let h = diffuse_head(model, init, data)?;
    if h.steps == data.n_steps {
        return Ok(h.loglik);
    }
    let (tm, td) = tail(model, data, &h)?;
    Ok(h.loglik + kalman_loglik(&tm, &td)?)
}

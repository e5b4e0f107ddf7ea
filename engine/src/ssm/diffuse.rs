//! Exact diffuse initialisation of the Kalman filter (Durbin & Koopman 2012, *Time Series
//! Analysis by State Space Methods*, 2nd ed., §5.2–5.3 for the exact initial filter, §6.4
//! for its univariate treatment, §7.2.2 for the diffuse log-likelihood).
//!
//! The prior is `x₁ ~ N(m₁, κ P∞ + P*)` with `κ → ∞`: the directions of `P∞` (of rank
//! `q`) are unknown (non-stationary states, regression effects), `P* = P₁` of the model is
//! the proper part. The filter carries `P∞,t` and `P*,t` apart; each observed component
//! `y_{t,i} = zᵢᵀ x + dᵢ + εᵢ`, `εᵢ ~ N(0, σᵢ²)`, is processed in turn with
//! `v = y_{t,i} − zᵢᵀ m − dᵢ`, `M∞ = P∞ zᵢ`, `M* = P* zᵢ`, `F∞ = zᵢᵀ M∞`,
//! `F* = zᵢᵀ M* + σᵢ²`:
//!
//! ```text
//! F∞ > 0:  m ← m + M∞ v / F∞,
//!          P∞ ← P∞ − M∞ M∞ᵀ / F∞,
//!          P* ← P* + M∞ M∞ᵀ F* / F∞² − (M* M∞ᵀ + M∞ M*ᵀ) / F∞,
//!          log L_d += −½ (log 2π + log F∞);
//! F∞ = 0:  m ← m + M* v / F*,   P* ← P* − M* M*ᵀ / F*,
//!          log L_d += −½ (log 2π + log F* + v² / F*),
//! ```
//!
//! then `m ← F m + B u + c`, `P* ← F P* Fᵀ + Q`, `P∞ ← F P∞ Fᵀ`. Once `P∞` vanishes (after
//! `d` steps, usually `d ≤ q`) the ordinary filter takes over from `(m, P*)`. `log L_d` is
//! the limit of `log L_κ + (q/2) log κ` as `κ → ∞`, where `L_κ` is the likelihood under the
//! proper prior `N(m₁, κ P∞ + P*)` (D&K §7.2.2): for the local-level model it is
//! `−½ log 2π` plus the log-likelihood of the first differences.
//!
//! The univariate treatment needs a diagonal observation-noise covariance during the
//! diffuse period (D&K §6.4). Whether `F∞ > 0` is decided on values, with a tolerance
//! relative to the scale of `P∞`; derivatives are those of the branch taken.
//!
//! Gradients: the diffuse period (a few steps) is recorded on a local tape and the rest
//! is differentiated by the hand-written adjoint of [`adjoint`](super::adjoint), whose
//! adjoints of `(m, P*)` after the diffuse period seed the recorded head
//! ([`diffuse_kalman_loglik_grad`], and the tape block [`diffuse_kalman_loglik_tape`]).
//!
//! ```
//! use mechml_engine::ssm::{DiffuseInit, LinearGaussianSsm, Observations, diffuse_kalman_loglik};
//! // Local level: x' = x + w (q = 0.3), y = x + v (r = 0.5), x₁ diffuse.
//! let model = LinearGaussianSsm::time_invariant(1, 1, vec![1.0], vec![0.3], vec![1.0],
//!                                               vec![0.5], vec![0.0], vec![0.0])?;
//! let data = Observations::univariate(vec![0.3, 0.8])?;
//! let ll = diffuse_kalman_loglik(&model, &DiffuseInit::all(1), &data)?;
//! // −½ log 2π, then Δy = 0.5 ~ N(0, 2r + q).
//! let s = 2.0 * 0.5 + 0.3;
//! let ln2pi = (2.0 * std::f64::consts::PI).ln();
//! let want = -0.5 * ln2pi - 0.5 * (ln2pi + f64::ln(s) + 0.25 / s);
//! assert!((ll - want).abs() < 1e-14);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::ad::{BlockArg, BlockOp, InputAdjoints, Real, Tape, Var, VarVec};
use crate::error::{Error, Result};

use super::adjoint::{SsmGradient, kalman_loglik_grad};
use super::kalman::{LN_2PI, kalman_loglik};
use super::model::{LinearGaussianSsm, Observations, Seq};

const OP: &str = "diffuse_kalman_filter";

/// The diffuse part `P∞` of the prior `x₁ ~ N(m₁, κ P∞ + P₁)`, `κ → ∞` (see the
/// [module docs](self)).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DiffuseInit {
    n: usize,
    p_inf: Vec<f64>,
    tol: f64,
}

impl DiffuseInit {
    /// Default relative tolerance below which `F∞` and `P∞` count as zero.
    pub const DEFAULT_TOL: f64 = 1e-8;

    /// `P∞` (`n x n`, column-major, symmetric positive semi-definite: checked for symmetry,
    /// finiteness and a non-negative diagonal).
    ///
    /// # Errors
    /// A wrong length, or a matrix that is not symmetric with a non-negative diagonal.
    pub fn new(n: usize, p_inf: Vec<f64>) -> Result<Self> {
        crate::error::check_len("DiffuseInit", "p_inf", p_inf.len(), n * n)?;
        crate::error::check_finite("DiffuseInit", "p_inf", &p_inf)?;
        let scale = p_inf.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        for j in 0..n {
            if p_inf[j + j * n] < 0.0 {
                return Err(Error::invalid_option(
                    "DiffuseInit",
                    format!("p_inf[({j}, {j})]"),
                    p_inf[j + j * n],
                    "≥ 0 (a covariance direction)",
                ));
            }
            for i in 0..j {
                let (a, b) = (p_inf[i + j * n], p_inf[j + i * n]);
                if (a - b).abs() > 1e-12 * scale {
                    return Err(Error::invalid_option(
                        "DiffuseInit",
                        format!("p_inf[({i}, {j})]"),
                        a,
                        format!("= p_inf[({j}, {i})] = {b} (symmetric)"),
                    ));
                }
            }
        }
        Ok(Self {
            n,
            p_inf,
            tol: Self::DEFAULT_TOL,
        })
    }

    /// Every state diffuse: `P∞ = I`.
    pub fn all(n: usize) -> Self {
        let mut p_inf = vec![0.0; n * n];
        for i in 0..n {
            p_inf[i + i * n] = 1.0;
        }
        Self {
            n,
            p_inf,
            tol: Self::DEFAULT_TOL,
        }
    }

    /// The states `which` diffuse: `P∞ = Σ_{i ∈ which} eᵢ eᵢᵀ`.
    ///
    /// # Errors
    /// An index `≥ n`.
    pub fn states(n: usize, which: &[usize]) -> Result<Self> {
        let mut p_inf = vec![0.0; n * n];
        for &i in which {
            if i >= n {
                return Err(Error::invalid_option(
                    "DiffuseInit::states",
                    "which",
                    i,
                    format!("a state index < {n}"),
                ));
            }
            p_inf[i + i * n] = 1.0;
        }
        Ok(Self {
            n,
            p_inf,
            tol: Self::DEFAULT_TOL,
        })
    }

    /// The same with another relative tolerance (`> 0` and `< 1`).
    ///
    /// # Errors
    /// A tolerance outside `(0, 1)`.
    pub fn with_tolerance(mut self, tol: f64) -> Result<Self> {
        if !(tol > 0.0 && tol < 1.0) {
            return Err(Error::invalid_option(
                "DiffuseInit",
                "tol",
                tol,
                "finite, > 0 and < 1",
            ));
        }
        self.tol = tol;
        Ok(self)
    }

    /// The state dimension.
    pub fn n_state(&self) -> usize {
        self.n
    }

    /// `P∞` (column-major).
    pub fn p_inf(&self) -> &[f64] {
        &self.p_inf
    }

    /// The absolute tolerance: `tol` times the largest entry of `P∞` (at least `tol`).
    fn abs_tol(&self) -> f64 {
        self.tol * self.p_inf.iter().fold(1.0f64, |a, b| a.max(b.abs()))
    }

    fn check(&self, model_n: usize) -> Result<()> {
        if self.n != model_n {
            return Err(Error::ShapeMismatch {
                op: OP,
                arg: "diffuse",
                expected: format!("state dimension {model_n}"),
                found: format!("state dimension {}", self.n),
            });
        }
        Ok(())
    }
}

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
fn head<R: Real>(
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
    super::dense::symmetrize_in_place(&mut ps, n);
    let mut pi: Vec<R> = init.p_inf.iter().map(|&x| R::from_f64(x)).collect();
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
            super::dense::matmul_into(f, p, n, n, n, &mut tmp);
            super::dense::matmul_nt_into(&tmp, f, n, n, n, p.as_mut_slice());
        }
        for (p, &qv) in ps.iter_mut().zip(q) {
            *p += qv;
        }
        super::dense::symmetrize_in_place(&mut ps, n);
        super::dense::symmetrize_in_place(&mut pi, n);
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
fn seq_from<R: Real>(s: &Seq<R>, t0: usize) -> Result<Seq<R>> {
    if s.is_varying() {
        let sz = s.rows() * s.cols();
        let n_steps = s.n_stored().saturating_sub(t0);
        Seq::varying(s.rows(), s.cols(), n_steps, s.data()[t0 * sz..].to_vec())
    } else {
        Ok(s.clone())
    }
}

/// The matrices of steps `..d` of a sequence.
fn seq_until<R: Real>(s: &Seq<R>, d: usize) -> Result<Seq<R>> {
    if s.is_varying() {
        let sz = s.rows() * s.cols();
        Seq::varying(s.rows(), s.cols(), d, s.data()[..d * sz].to_vec())
    } else {
        Ok(s.clone())
    }
}

/// Adds the gradient `part` of steps `t0..` (or of a constant) into `into`.
fn add_seq<R: Real>(into: &mut Seq<R>, part: &Seq<R>, t0: usize) {
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
fn tail<R: Real>(
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

/// Value and gradient (scaled by the output adjoint `g`) of the diffuse log-likelihood
/// with respect to every model matrix, `m₁` and `P₁ = P*` (see the [module docs](self)).
///
/// # Errors
/// Those of [`diffuse_kalman_loglik`].
pub fn diffuse_kalman_loglik_grad<R: Real>(
    model: &LinearGaussianSsm<R>,
    init: &DiffuseInit,
    data: &Observations,
    g: R,
) -> Result<(R, SsmGradient<R>)> {
    let h = diffuse_head(model, init, data)?;
    let d = h.steps;
    let n = model.n_state();
    let mut grad = super::adjoint::zeros_like(model);
    // The tail by the hand-written adjoint, giving the adjoints of (m, P*) after the head.
    let (mut total, mbar, pbar) = if d < data.n_steps {
        let (tm, td) = tail(model, data, &h)?;
        let (ll, tg) = kalman_loglik_grad(&tm, &td, g)?;
        add_seq(&mut grad.f, &tg.f, d);
        add_seq(&mut grad.b, &tg.b, d);
        add_seq(&mut grad.c, &tg.c, d);
        add_seq(&mut grad.q, &tg.q, d);
        add_seq(&mut grad.h, &tg.h, d);
        add_seq(&mut grad.d, &tg.d, d);
        add_seq(&mut grad.r, &tg.r, d);
        (ll, tg.m1, tg.p1)
    } else {
        (R::zero(), vec![R::zero(); n], vec![R::zero(); n * n])
    };
    total += h.loglik;
    if d > 0 {
        // The head recorded on a local tape and swept back from (ḡ, m̄, P̄*).
        let head_model = LinearGaussianSsm {
            f: seq_until(&model.f, d)?,
            b: seq_until(&model.b, d)?,
            c: seq_until(&model.c, d)?,
            q: seq_until(&model.q, d)?,
            h: seq_until(&model.h, d)?,
            d: seq_until(&model.d, d)?,
            r: seq_until(&model.r, d)?,
            m1: model.m1.clone(),
            p1: model.p1.clone(),
        };
        let hg = recorded_head_gradient(&head_model, init, data, d, g, &mbar, &pbar)?;
        add_seq(&mut grad.f, &hg.f, 0);
        add_seq(&mut grad.b, &hg.b, 0);
        add_seq(&mut grad.c, &hg.c, 0);
        add_seq(&mut grad.q, &hg.q, 0);
        add_seq(&mut grad.h, &hg.h, 0);
        add_seq(&mut grad.d, &hg.d, 0);
        add_seq(&mut grad.r, &hg.r, 0);
        grad.m1 = hg.m1;
        grad.p1 = hg.p1;
    } else {
        grad.m1 = mbar;
        grad.p1 = pbar;
    }
    Ok((total, grad))
}

/// The adjoints of the head's inputs from those of its outputs `(log L, m, P*)`.
fn recorded_head_gradient<S: Real>(
    model: &LinearGaussianSsm<S>,
    init: &DiffuseInit,
    data: &Observations,
    d: usize,
    g: S,
    mbar: &[S],
    pbar: &[S],
) -> Result<SsmGradient<S>> {
    let tape: Tape<S> = Tape::with_capacity_generic(1024 * d.max(1));
    let leaf = |s: &Seq<S>| -> Result<Seq<Var<'_, S>>> { s.with_data(tape.vars(s.data())) };
    let local = LinearGaussianSsm {
        f: leaf(&model.f)?,
        b: leaf(&model.b)?,
        c: leaf(&model.c)?,
        q: leaf(&model.q)?,
        h: leaf(&model.h)?,
        d: leaf(&model.d)?,
        r: leaf(&model.r)?,
        m1: tape.vars(&model.m1),
        p1: tape.vars(&model.p1),
    };
    let out = head(&local, init, data, Some(d))?;
    let mut seeds = Vec::new();
    let mut seed = |v: &Var<'_, S>, s: S| {
        if let Some(slot) = v.slot_if_var() {
            seeds.push((slot, s));
        }
    };
    seed(&out.loglik, g);
    for (v, &s) in out.mean.iter().zip(mbar) {
        seed(v, s);
    }
    for (v, &s) in out.cov.iter().zip(pbar) {
        seed(v, s);
    }
    let adj = tape.reverse(&seeds)?;
    let grab = |s: &Seq<Var<'_, S>>| -> Result<Seq<S>> {
        s.with_data(s.data().iter().map(|v| adj.wrt(v)).collect())
    };
    Ok(LinearGaussianSsm {
        f: grab(&local.f)?,
        b: grab(&local.b)?,
        c: grab(&local.c)?,
        q: grab(&local.q)?,
        h: grab(&local.h)?,
        d: grab(&local.d)?,
        r: grab(&local.r)?,
        m1: local.m1.iter().map(|v| adj.wrt(v)).collect(),
        p1: local.p1.iter().map(|v| adj.wrt(v)).collect(),
    })
}

/// The diffuse filter block: saved inputs.
struct DiffuseLoglikOp<S> {
    model: LinearGaussianSsm<S>,
    init: DiffuseInit,
    data: Observations,
}

impl<S: Real + Send + 'static> BlockOp<S> for DiffuseLoglikOp<S> {
    fn name(&self) -> &'static str {
        "diffuse_kalman_loglik"
    }

    fn pullback(&self, out_adj: &[S], inputs: &mut InputAdjoints<'_, S>) -> Result<()> {
        let (_, grad) =
            diffuse_kalman_loglik_grad(&self.model, &self.init, &self.data, out_adj[0])?;
        for (k, part) in super::loglik_op::parts(&grad).iter().enumerate() {
            if let Some(mut a) = inputs.arg(k) {
                for (x, &v) in a.iter_mut().zip(part.iter()) {
                    *x += v;
                }
            }
        }
        Ok(())
    }
}

/// Records the diffuse log-likelihood under `model` (entries on `tape` or constants) as
/// one block, differentiated as [`diffuse_kalman_loglik_grad`]; works on `Tape<f64>` and
/// on `Tape<Dual>` (Hessian–vector products).
///
/// # Errors
/// Those of [`diffuse_kalman_loglik`].
pub fn diffuse_kalman_loglik_tape<'t, S: Real + Send + 'static>(
    tape: &'t Tape<S>,
    model: &LinearGaussianSsm<Var<'t, S>>,
    init: &DiffuseInit,
    data: &Observations,
) -> Result<Var<'t, S>> {
    let values: LinearGaussianSsm<S> = model.map(|v| v.val());
    let ll = diffuse_kalman_loglik(&values, init, data)?;
    let args: Vec<BlockArg<'static>> = super::loglik_op::parts(model)
        .iter()
        .map(|p| super::loglik_op::block_arg(p))
        .collect();
    let op = DiffuseLoglikOp {
        model: values,
        init: init.clone(),
        data: data.clone(),
    };
    let start = tape.push_block(op, &args, 1)?;
    Ok(VarVec::from_block(tape, start, vec![ll])
        .get(0)
        .unwrap_or_else(|| Var::constant(ll)))
}

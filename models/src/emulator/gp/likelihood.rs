//! The emulator's objective and its gradient.
//!
//! With `K_y = K(X, X) + diag(g)` (kernel plus nugget), the regression basis `H` (`n × q`)
//! and `A = Hᵀ K_y⁻¹ H`, the GLS coefficients are `β̂ = A⁻¹ Hᵀ K_y⁻¹ y`, the residual
//! `r = y − Hβ̂` and `α = K_y⁻¹ r`. The profile log likelihood and the restricted one are
//!
//! $$ ℓ_{ML} = −½ rᵀα − ½ \log|K_y| − \frac{n}{2}\log 2π, \qquad
//!    ℓ_{REML} = −½ rᵀα − ½ \log|K_y| − ½ \log|A| − \frac{n−q}{2}\log 2π $$
//!
//! (Rasmussen & Williams 2006, §2.7; Harville 1977, JASA 72, eq. (2.4)). Their gradients
//! are `∂ℓ/∂θ = tr(K̄ ∂K_y/∂θ)` with `K̄ = ½(ααᵀ − W)`, `W = K_y⁻¹` for ML (`β̂` is
//! stationary, so its dependence on θ drops out) and `W = Q = K_y⁻¹ − K_y⁻¹ H A⁻¹ Hᵀ K_y⁻¹`
//! for REML. `K_y⁻¹` is formed once from the Cholesky factor and `K̄` is contracted with
//! `∂K/∂θ` by the engine's kernel pullback, entry by entry (no `n × n` matrix per
//! parameter): about three Cholesky costs for value and gradient. The nugget's gradient
//! is `tr K̄`.

use faer::{Mat, MatRef, Par};
use mechml_engine::gp::{Inputs, Kernel, KernelAdjoints};
use mechml_engine::linalg::{JitterInfo, JitterPolicy, Llt, cholesky_with_jitter};
use mechml_engine::{Error, Result};

use super::kernel::EmuKernel;
use super::options::Objective;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The data of one emulator fit: inputs, outputs, basis, and the known part of the nugget.
pub(crate) struct Problem<'a> {
    pub kernel: &'a EmuKernel,
    pub x: &'a Inputs,
    pub y: &'a [f64],
    /// `n × q`, column-major.
    pub h: MatRef<'a, f64>,
    /// Per-point known variances (empty: none).
    pub known: &'a [f64],
    pub objective: Objective,
}

/// Work buffers reused across evaluations.
pub(crate) struct Workspace {
    kxx: Mat<f64>,
    inv: Mat<f64>,
    work: Vec<f64>,
}

impl Default for Workspace {
    fn default() -> Self {
        Self {
            kxx: Mat::zeros(0, 0),
            inv: Mat::zeros(0, 0),
            work: Vec::new(),
        }
    }
}

/// Everything a prediction needs, at one `θ`.
#[derive(Clone, Debug)]
pub(crate) struct Factor {
    pub llt: Llt,
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
    /// `K_y⁻¹ H` (`n × q`).
    pub kinv_h: Mat<f64>,
    /// Cholesky of `A = Hᵀ K_y⁻¹ H` (absent when `q = 0`).
    pub a_llt: Option<Llt>,
    pub jitter: JitterInfo,
    pub value: f64,
}

/// Factorises `K(X, X) + diag(nugget + known)` and solves the GLS problem.
pub(crate) fn factor(
    p: &Problem<'_>,
    theta_k: &[f64],
    nugget: f64,
    ws: &mut Workspace,
    keep_kxx: bool,
) -> Result<Factor> {
    let n = p.x.n();
    if ws.kxx.nrows() != n {
        ws.kxx = Mat::zeros(n, n);
    }
    p.kernel.matrix_into(theta_k, p.x, None, ws.kxx.as_mut());
    let mut ky = Mat::<f64>::zeros(n, n);
    for j in 0..n {
        for i in j..n {
            ky[(i, j)] = ws.kxx[(i, j)];
        }
        ky[(j, j)] += nugget + p.known.get(j).copied().unwrap_or(0.0);
    }
    if let Some(k) = (0..n).find(|&i| !ky[(i, i)].is_finite()) {
        return Err(Error::NonFinite {
            op: "GpEmulator",
            index: k,
            value: ky[(k, k)],
            context: "diagonal of the training covariance".into(),
        });
    }
    let _ = keep_kxx;
    let (llt, jitter) = match Llt::factor_owned(ky.clone(), Par::Seq) {
        Some(l) => (
            l,
            JitterInfo {
                jitter_added: 0.0,
                attempts: 1,
            },
        ),
        None => {
            let mut full = ky;
            mechml_engine::linalg::fill_upper_from_lower(&mut full);
            cholesky_with_jitter(full.as_ref(), JitterPolicy::default(), Par::Seq)?
        }
    };
    let q = p.h.ncols();
    let mut kinv_h = p.h.to_owned();
    llt.solve_in_place(kinv_h.as_mut(), Par::Seq);
    let (beta, a_llt) = if q > 0 {
        let mut a = Mat::<f64>::zeros(q, q);
        let mut b = vec![0.0; q];
        for j in 0..q {
            for i in 0..q {
                a[(i, j)] = (0..n).map(|t| p.h[(t, i)] * kinv_h[(t, j)]).sum();
            }
            b[j] = (0..n).map(|t| kinv_h[(t, j)] * p.y[t]).sum();
        }
        let a = mechml_engine::linalg::symmetrize(a.as_ref());
        let a_llt = Llt::factor_named(
            "GpEmulator: HᵀK⁻¹H (is the mean basis collinear?)",
            a.as_ref(),
            Par::Seq,
        )?;
        (a_llt.solve_vec(&b, Par::Seq), Some(a_llt))
    } else {
        (Vec::new(), None)
    };
    let mut r = p.y.to_vec();
    for (j, bj) in beta.iter().enumerate() {
        for t in 0..n {
            r[t] -= p.h[(t, j)] * bj;
        }
    }
    let alpha = llt.solve_vec(&r, Par::Seq);
    let quad: f64 = r.iter().zip(&alpha).map(|(a, b)| a * b).sum();
    let mut value = -0.5 * quad - 0.5 * llt.logdet() - 0.5 * n as f64 * LN_2PI;
    if p.objective == Objective::Reml
        && let Some(a) = &a_llt
    {
        value += -0.5 * a.logdet() + 0.5 * q as f64 * LN_2PI;
    }
    Ok(Factor {
        llt,
        alpha,
        beta,
        kinv_h,
        a_llt,
        jitter,
        value,
    })
}

/// The objective and its gradient on the natural scale: kernel parameters, then (if
/// `nugget_fitted`) the nugget.
pub(crate) fn value_and_grad(
    p: &Problem<'_>,
    theta: &[f64],
    nugget_fitted: bool,
    fixed_nugget: f64,
    ws: &mut Workspace,
) -> Result<(f64, Vec<f64>)> {
    let nk = p.kernel.n_params();
    let nugget = if nugget_fitted {
        theta[nk]
    } else {
        fixed_nugget
    };
    let f = factor(p, &theta[..nk], nugget, ws, true)?;
    let n = p.x.n();
    if ws.inv.nrows() != n {
        ws.inv = Mat::zeros(n, n);
        ws.work = vec![0.0; n * n];
    }
    f.llt.inverse_into(ws.inv.as_mut(), &mut ws.work, Par::Seq);
    let q = p.h.ncols();
    if p.objective == Objective::Reml
        && let Some(a) = &f.a_llt
    {
        // W = K⁻¹ − (K⁻¹H) A⁻¹ (K⁻¹H)ᵀ.
        let mut c = f.kinv_h.transpose().to_owned(); // q × n
        a.solve_l_in_place(c.as_mut(), Par::Seq);
        for j in 0..n {
            for i in j..n {
                let s: f64 = (0..q).map(|t| c[(t, i)] * c[(t, j)]).sum();
                ws.inv[(i, j)] -= s;
            }
        }
    }
    // Pair weights of K̄ = ½(ααᵀ − W) in the lower triangle (overwriting W).
    let a = &f.alpha;
    let mut trace = 0.0;
    for j in 0..n {
        let d = 0.5 * (a[j] * a[j] - ws.inv[(j, j)]);
        ws.inv[(j, j)] = d;
        trace += d;
        for i in j + 1..n {
            ws.inv[(i, j)] = a[i] * a[j] - ws.inv[(i, j)];
        }
    }
    let mut grad = vec![0.0; theta.len()];
    p.kernel.matrix_pullback_sym_with_values(
        &theta[..nk],
        p.x,
        ws.kxx.as_ref(),
        ws.inv.as_ref(),
        KernelAdjoints::theta_only(&mut grad[..nk]),
    );
    if nugget_fitted {
        grad[nk] = trace;
    }
    if let Some(k) = grad.iter().position(|g| !g.is_finite()) {
        return Err(Error::NonFinite {
            op: "GpEmulator",
            index: k,
            value: grad[k],
            context: "gradient".into(),
        });
    }
    Ok((f.value, grad))
}

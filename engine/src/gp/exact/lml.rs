//! The exact-GP log marginal likelihood and its fused pullback.
//!
//! For `p` outputs `Y = [y₁ … y_p]` sharing `K_y = K(X, X) + σ_n² I = L Lᵀ`
//! (Rasmussen & Williams 2006, eq. 2.30, summed over outputs):
//!
//! ```text
//! log p(Y) = −½ Σ_k y_kᵀ K_y⁻¹ y_k − p Σᵢ log Lᵢᵢ − (n p / 2) log 2π
//! ```
//!
//! and its adjoint (R&W eq. 5.9) `K̄_y = ½ (A Aᵀ − p K_y⁻¹)` with `A = K_y⁻¹ Y`. The
//! pullback forms `K_y⁻¹` once from `L` (≈ 2n³/3 flops), overwrites it in place with the
//! pair weights of `K̄_y` and hands them to [`Kernel::matrix_pullback`], which contracts
//! them with `∂K/∂θ` and `∂K/∂X` entry by entry: no `n × n` matrix per hyperparameter. The
//! noise gradient is `∂/∂log σ_n² = σ_n² tr K̄_y`, and `Ȳ = −A`.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::{Mat, MatRef, Par};

use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::Kernel;
use crate::linalg::{JitterInfo, JitterPolicy, Llt, cholesky_with_jitter};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// What the forward pass keeps for the pullback and for predictions.
#[derive(Clone, Debug)]
pub struct ExactFactor {
    /// Cholesky factor of `K(X, X) + (σ_n² + jitter) I`.
    pub llt: Llt,
    /// `A = K_y⁻¹ Y` (`n × p`).
    pub alpha: Mat<f64>,
    /// Jitter the factorisation needed on top of the noise.
    pub jitter: JitterInfo,
}

/// Checks the shapes of an exact-GP problem.
pub(crate) fn check_problem<K: Kernel>(
    op: &'static str,
    k: &K,
    theta: &[f64],
    log_noise: f64,
    x: &Inputs,
    y: MatRef<'_, f64>,
) -> Result<()> {
    crate::gp::kernels::matrix::check_args(op, k, theta, x, None)?;
    if y.nrows() != x.n() {
        return Err(Error::ShapeMismatch {
            op,
            arg: "y",
            expected: format!("{} rows (one per input point)", x.n()),
            found: format!("{} rows", y.nrows()),
        });
    }
    if x.n() == 0 {
        return Err(Error::InvalidArgument {
            op,
            message: "no training points".into(),
        });
    }
    for j in 0..y.ncols() {
        for i in 0..y.nrows() {
            if !y[(i, j)].is_finite() {
                return Err(Error::NonFinite {
                    op,
                    index: i + j * y.nrows(),
                    value: y[(i, j)],
                    context: format!("observation {i} of output {j}"),
                });
            }
        }
    }
    if !log_noise.is_finite() {
        return Err(Error::NonFinite {
            op,
            index: 0,
            value: log_noise,
            context: "log noise variance".into(),
        });
    }
    Ok(())
}

/// Factorises `K(X, X) + σ_n² I` (escalating jitter per `policy`) and solves for `A`.
pub(crate) fn factor<K: Kernel>(
    k: &K,
    theta: &[f64],
    log_noise: f64,
    x: &Inputs,
    y: MatRef<'_, f64>,
    policy: JitterPolicy,
    par: Par,
) -> Result<ExactFactor> {
    check_problem("exact_gp", k, theta, log_noise, x, y)?;
    let n = x.n();
    let mut ky = Mat::<f64>::zeros(n, n);
    k.matrix_into(theta, x, None, ky.as_mut());
    let noise = log_noise.exp();
    for i in 0..n {
        ky[(i, i)] += noise;
    }
    crate::gp::kernels::matrix::check_matrix_finite("exact_gp", ky.as_ref(), true)?;
    let (llt, jitter) = cholesky_with_jitter(ky.as_ref(), policy, par).map_err(|e| match e {
        Error::NotPositiveDefinite { pivot, value, .. } => Error::NotPositiveDefinite {
            op: "exact_gp: K(X, X) + noise stays indefinite after the jitter policy \
                 (duplicate inputs with tiny noise? raise the noise or the jitter)",
            pivot,
            value,
        },
        e => e,
    })?;
    drop(ky);
    let mut alpha = y.to_owned();
    llt.solve_in_place(alpha.as_mut(), par);
    Ok(ExactFactor { llt, alpha, jitter })
}

/// The log marginal likelihood from a factorisation.
pub(crate) fn lml_value(f: &ExactFactor, y: MatRef<'_, f64>) -> f64 {
    let (n, p) = (y.nrows(), y.ncols());
    let mut quad = 0.0;
    for j in 0..p {
        for i in 0..n {
            quad += y[(i, j)] * f.alpha[(i, j)];
        }
    }
    -0.5 * quad - 0.5 * p as f64 * f.llt.logdet() - 0.5 * (n * p) as f64 * LN_2PI
}

/// The lower triangle of `L⁻ᵀ L⁻¹` (faer's in-place Cholesky inverse, ≈ 2n³/3 flops).
pub(crate) fn inverse_lower(llt: &Llt, par: Par) -> Mat<f64> {
    let n = llt.dim();
    let mut out = Mat::<f64>::zeros(n, n);
    let req = faer::linalg::cholesky::llt::inverse::inverse_scratch::<f64>(n, par);
    let mut buf = MemBuffer::new(req);
    faer::linalg::cholesky::llt::inverse::inverse(
        out.as_mut(),
        llt.l(),
        par,
        MemStack::new(&mut buf),
    );
    out
}

/// Adjoints of the log marginal likelihood (scaled by `gbar`), added into the outputs.
pub(crate) struct ExactAdjoints<'a> {
    pub dtheta: &'a mut [f64],
    pub dlog_noise: &'a mut f64,
    pub dx: Option<&'a mut [f64]>,
    pub dy: Option<&'a mut [f64]>,
}

/// The fused pullback (see the module docs).
#[allow(clippy::too_many_arguments)]
pub(crate) fn lml_pullback<K: Kernel>(
    k: &K,
    theta: &[f64],
    log_noise: f64,
    x: &Inputs,
    f: &ExactFactor,
    gbar: f64,
    par: Par,
    out: ExactAdjoints<'_>,
) {
    let n = x.n();
    let p = f.alpha.ncols();
    let mut w = inverse_lower(&f.llt, par);
    // Pair weights of K̄_y = ½ gbar (A Aᵀ − p K⁻¹): off-diagonal pairs count twice.
    let pf = p as f64;
    let mut trace = 0.0;
    for j in 0..n {
        let col = w
            .col_mut(j)
            .try_as_col_major_mut()
            .expect("owned Mat columns are contiguous");
        let col = col.as_slice_mut();
        if p == 1 {
            let aj = f.alpha[(j, 0)];
            let a = f
                .alpha
                .col(0)
                .try_as_col_major()
                .expect("contiguous")
                .as_slice();
            let d = 0.5 * gbar * (aj * aj - col[j]);
            trace += d;
            col[j] = d;
            for i in j + 1..n {
                col[i] = gbar * (a[i] * aj - col[i]);
            }
        } else {
            for (i, ci) in col.iter_mut().enumerate().skip(j) {
                let mut s = 0.0;
                for c in 0..p {
                    s += f.alpha[(i, c)] * f.alpha[(j, c)];
                }
                let v = gbar * (s - pf * *ci);
                *ci = if i == j { 0.5 * v } else { v };
            }
            trace += col[j];
        }
    }
    *out.dlog_noise += log_noise.exp() * trace;
    k.matrix_pullback(theta, x, None, w.as_ref(), out.dtheta, out.dx, None);
    if let Some(dy) = out.dy {
        for c in 0..p {
            for i in 0..n {
                dy[i + c * n] -= gbar * f.alpha[(i, c)];
            }
        }
    }
}

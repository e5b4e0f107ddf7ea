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
//! noise gradient is `∂/∂σ_n² = tr K̄_y`, and `Ȳ = −A`.

use faer::linalg::matmul::triangular::BlockStructure;
use faer::{Accum, Mat, MatRef, Par};

use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::{Kernel, KernelAdjoints};
use crate::gp::workspace;
pub(crate) use crate::gp::workspace::Linalg;
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

/// An exact-GP problem at one `θ`: the kernel and its parameters, the noise variance
/// `σ_n²` and the inputs.
pub(crate) struct ExactAt<'a, K> {
    pub kernel: &'a K,
    pub theta: &'a [f64],
    pub noise: f64,
    pub x: &'a Inputs,
}

/// Checks the shapes of an exact-GP problem.
pub(crate) fn check_problem<K: Kernel>(
    op: &'static str,
    p: &ExactAt<'_, K>,
    y: MatRef<'_, f64>,
) -> Result<()> {
    let x = p.x;
    crate::gp::kernels::matrix::check_args(op, p.kernel, p.theta, x, None)?;
    if y.nrows() != x.n() {
        return Err(Error::ShapeMismatch {
            op,
            arg: "y",
            expected: format!("{} rows (one per input point)", x.n()),
            found: format!("{} rows", y.nrows()),
        });
    }
    if x.n() == 0 {
        return Err(Error::invalid_option(
            op,
            "x",
            "0 points",
            "at least one training point",
        ));
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
    if !p.noise.is_finite() {
        return Err(Error::NonFinite {
            op,
            index: 0,
            value: p.noise,
            context: "noise variance".into(),
        });
    }
    Ok(())
}

/// Factorises `K(X, X) + σ_n² I` (escalating jitter per `policy`) and solves for `A`.
pub(crate) fn factor<K: Kernel>(
    p: &ExactAt<'_, K>,
    y: MatRef<'_, f64>,
    policy: JitterPolicy,
    la: Linalg<'_>,
) -> Result<ExactFactor> {
    factor_keep(p, y, policy, la, false).map(|(f, _)| f)
}

/// [`factor`], also returning the lower triangle of the noise-free `K(X, X)` when `keep_k`
/// (for [`lml_pullback_owned`], whose kernel may read its values instead of recomputing
/// them).
pub(crate) fn factor_keep<K: Kernel>(
    p: &ExactAt<'_, K>,
    y: MatRef<'_, f64>,
    policy: JitterPolicy,
    la: Linalg<'_>,
    keep_k: bool,
) -> Result<(ExactFactor, Option<Mat<f64>>)> {
    check_problem("exact_gp", p, y)?;
    let ExactAt {
        kernel: k,
        theta,
        noise,
        x,
    } = *p;
    let Linalg { par, pool } = la;
    let n = x.n();
    let build = |mut ky: Mat<f64>| {
        k.matrix_into(theta, x, None, ky.as_mut());
        for i in 0..n {
            ky[(i, i)] += noise;
        }
        ky
    };
    let check = |m: &Mat<f64>| {
        crate::gp::kernels::matrix::check_matrix_finite("exact_gp", m.as_ref(), true)
    };
    let (ky, kxx) = if keep_k {
        let mut kxx = workspace::take(pool, n, n);
        k.matrix_into(theta, x, None, kxx.as_mut());
        let mut ky = workspace::take(pool, n, n);
        if !copy_lower_all_finite(&kxx, &mut ky)
            && let Err(e) = check(&kxx)
        {
            workspace::give(pool, kxx);
            workspace::give(pool, ky);
            return Err(e);
        }
        for i in 0..n {
            ky[(i, i)] += noise;
        }
        (ky, Some(kxx))
    } else {
        let ky = build(workspace::take(pool, n, n));
        if let Err(e) = check(&ky) {
            workspace::give(pool, ky);
            return Err(e);
        }
        (ky, None)
    };
    // Fast path: factorise in place. If that fails, rebuild and escalate jitter.
    let (llt, jitter) = match Llt::factor_owned(ky, par) {
        Some(llt) => (
            llt,
            JitterInfo {
                jitter_added: 0.0,
                attempts: 1,
            },
        ),
        None => match cholesky_with_jitter(build(Mat::zeros(n, n)).as_ref(), policy, par) {
            Ok(v) => v,
            Err(e) => {
                if let Some(kxx) = kxx {
                    workspace::give(pool, kxx);
                }
                return Err(name_indefinite(e));
            }
        },
    };
    let mut alpha = y.to_owned();
    llt.solve_in_place(alpha.as_mut(), par);
    Ok((ExactFactor { llt, alpha, jitter }, kxx))
}

/// Says what an indefinite `K(X, X) + noise` after the jitter policy means.
fn name_indefinite(e: Error) -> Error {
    match e {
        Error::NotPositiveDefinite { pivot, value, .. } => Error::NotPositiveDefinite {
            op: "exact_gp: K(X, X) + noise stays indefinite after the jitter policy \
                 (duplicate inputs with tiny noise? raise the noise or the jitter)",
            pivot,
            value,
        },
        e => e,
    }
}

/// Copies the lower triangle (diagonal included) of the square `src` into `dst` (same
/// shape, owned so columns are contiguous), and says whether every copied entry is finite
/// ([`all_finite`](crate::error::all_finite) on each column just copied, still in cache).
fn copy_lower_all_finite(src: &Mat<f64>, dst: &mut Mat<f64>) -> bool {
    let n = src.nrows();
    let mut finite = true;
    for j in 0..src.ncols() {
        let (Some(s), Some(d)) = (
            src.col(j).try_as_col_major(),
            dst.col_mut(j).try_as_col_major_mut(),
        ) else {
            // Not reached for owned matrices; fall back to the general copy (the caller's
            // entry-by-entry check then decides).
            let s = src.col(j).subrows(j, n - j);
            dst.col_mut(j).subrows_mut(j, n - j).copy_from(s);
            finite = false;
            continue;
        };
        let s = &s.as_slice()[j..n];
        d.as_slice_mut()[j..n].copy_from_slice(s);
        finite &= crate::error::all_finite(s);
    }
    finite
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

/// Writes the lower triangle of `K⁻¹ = L⁻ᵀ L⁻¹` into `out` (≈ 2n³/3 flops: a triangular
/// inverse and a triangular product), using `linv` as scratch. `out` may be a buffer that
/// no longer holds anything needed (even `L`'s own, once `L` has been read into `linv`).
fn inverse_lower_into(l: MatRef<'_, f64>, linv: &mut Mat<f64>, out: &mut Mat<f64>, par: Par) {
    faer::linalg::triangular_inverse::invert_lower_triangular(linv.as_mut(), l, par);
    faer::linalg::matmul::triangular::matmul(
        out.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        linv.transpose(),
        BlockStructure::TriangularUpper,
        linv.as_ref(),
        BlockStructure::TriangularLower,
        1.0,
        par,
    );
}

/// Adjoints of the log marginal likelihood (scaled by `gbar`), added into the outputs:
/// `θ` and `σ_n²` on the natural scale, `X` point-major, `Y` column-major.
pub(crate) struct ExactAdjoints<'a> {
    pub dtheta: &'a mut [f64],
    pub dnoise: &'a mut f64,
    pub dx: Option<&'a mut [f64]>,
    pub dy: Option<&'a mut [f64]>,
}

/// The fused pullback (see the module docs), keeping the factorisation (for a tape block
/// whose pullback may run more than once).
pub(crate) fn lml_pullback<K: Kernel>(
    p: &ExactAt<'_, K>,
    f: &ExactFactor,
    gbar: f64,
    par: Par,
    out: ExactAdjoints<'_>,
) {
    let n = p.x.n();
    let mut linv = Mat::<f64>::zeros(n, n);
    let mut w = Mat::<f64>::zeros(n, n);
    inverse_lower_into(f.llt.l(), &mut linv, &mut w, par);
    drop(linv);
    let weights = PairWeights {
        alpha: &f.alpha,
        kxx: None,
        gbar,
    };
    contract(p, w, weights, out);
}

/// The fused pullback consuming the factorisation: `K⁻¹` is written over `L`, and the
/// buffers go back to the pool. `kxx`, the lower triangle of the noise-free `K(X, X)` from
/// [`factor_keep`], lets the kernel read its values instead of recomputing them.
pub(crate) fn lml_pullback_owned<K: Kernel>(
    p: &ExactAt<'_, K>,
    f: ExactFactor,
    kxx: Option<Mat<f64>>,
    gbar: f64,
    la: Linalg<'_>,
    out: ExactAdjoints<'_>,
) {
    let Linalg { par, pool } = la;
    let n = p.x.n();
    let mut linv = workspace::take(pool, n, n);
    let mut w = f.llt.into_l();
    let l_copy_free = w.as_ref();
    faer::linalg::triangular_inverse::invert_lower_triangular(linv.as_mut(), l_copy_free, par);
    faer::linalg::matmul::triangular::matmul(
        w.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        linv.transpose(),
        BlockStructure::TriangularUpper,
        linv.as_ref(),
        BlockStructure::TriangularLower,
        1.0,
        par,
    );
    workspace::give(pool, linv);
    let weights = PairWeights {
        alpha: &f.alpha,
        kxx: kxx.as_ref(),
        gbar,
    };
    let w = contract(p, w, weights, out);
    workspace::give(pool, w);
    if let Some(kxx) = kxx {
        workspace::give(pool, kxx);
    }
}

/// What the pair weights of `K̄_y` are formed from: `A = K_y⁻¹ Y`, the adjoint `gbar` of
/// the log-likelihood, and (optionally) the kernel matrix for the kernel's pullback.
struct PairWeights<'a> {
    alpha: &'a Mat<f64>,
    kxx: Option<&'a Mat<f64>>,
    gbar: f64,
}

/// Overwrites the lower triangle of `K⁻¹` (in `w`) with the pair weights of
/// `K̄_y = ½ gbar (A Aᵀ − p K⁻¹)` (off-diagonal pairs count twice) and contracts them
/// with the kernel's derivatives. Returns the buffer.
fn contract<K: Kernel>(
    p: &ExactAt<'_, K>,
    mut w: Mat<f64>,
    weights: PairWeights<'_>,
    out: ExactAdjoints<'_>,
) -> Mat<f64> {
    let PairWeights { alpha, kxx, gbar } = weights;
    let ExactAt {
        kernel: k,
        theta,
        x,
        ..
    } = *p;
    let n = x.n();
    let p = alpha.ncols();
    let pf = p as f64;
    let mut trace = 0.0;
    for j in 0..n {
        let col = w
            .col_mut(j)
            .try_as_col_major_mut()
            .expect("owned Mat columns are contiguous");
        let col = col.as_slice_mut();
        if p == 1 {
            let a = alpha
                .col(0)
                .try_as_col_major()
                .expect("owned Mat columns are contiguous")
                .as_slice();
            let aj = a[j];
            let d = 0.5 * gbar * (aj * aj - col[j]);
            trace += d;
            col[j] = d;
            for (ci, ai) in col[j + 1..].iter_mut().zip(&a[j + 1..]) {
                *ci = gbar * (ai * aj - *ci);
            }
        } else {
            for (i, ci) in col.iter_mut().enumerate().skip(j) {
                let mut s = 0.0;
                for c in 0..p {
                    s += alpha[(i, c)] * alpha[(j, c)];
                }
                let v = gbar * (s - pf * *ci);
                *ci = if i == j { 0.5 * v } else { v };
            }
            trace += col[j];
        }
    }
    *out.dnoise += trace;
    let adj = KernelAdjoints::new(out.dtheta, out.dx, None);
    match kxx {
        Some(kxx) => {
            k.matrix_pullback_sym_with_values(theta, x, kxx.as_ref(), w.as_ref(), adj);
        }
        None => k.matrix_pullback(theta, x, None, w.as_ref(), adj),
    }
    if let Some(dy) = out.dy {
        for c in 0..p {
            for i in 0..n {
                dy[i + c * n] -= gbar * alpha[(i, c)];
            }
        }
    }
    w
}

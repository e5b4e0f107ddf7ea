//! Kernel matrices in `f64` at a hyperparameter vector `θ` (natural scale), and as block
//! operations on a [`Tape`]: `K(X, Y)` is one tape record whose pullback calls
//! [`Kernel::matrix_pullback`] (no scalar entry per matrix element).

use faer::{Mat, MatRef};

use super::{Kernel, KernelAdjoints};
use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::{Tape, VarMat, VarVec};
use crate::error::{Error, Result};
use crate::gp::Inputs;

/// Checks `θ` (length and finiteness), the input dimensions, and that the second set of
/// inputs `y = (name, inputs)` has the dimension of `x` (the error names `name`, e.g. `z`
/// for inducing inputs).
pub(crate) fn check_args<K: Kernel>(
    op: &'static str,
    k: &K,
    theta: &[f64],
    x: &Inputs,
    y: Option<(&'static str, &Inputs)>,
) -> Result<()> {
    crate::error::check_len(op, "theta", theta.len(), k.n_params())?;
    crate::error::check_finite(op, "theta", theta)?;
    k.check_dim(x.d())?;
    if let Some((arg, y)) = y
        && y.d() != x.d()
    {
        return Err(Error::ShapeMismatch {
            op,
            arg,
            expected: format!("{}-dimensional points (like the inputs x)", x.d()),
            found: format!("{}-dimensional points", y.d()),
        });
    }
    Ok(())
}

/// Checks that every entry of `θ` lies in its parameter's support (e.g. a variance > 0);
/// the error names the parameter.
pub(crate) fn check_support(
    op: &'static str,
    layout: &crate::param::ParamLayout,
    theta: &[f64],
) -> Result<()> {
    crate::error::check_len(op, "theta", theta.len(), layout.len())?;
    for (p, &v) in layout.params().iter().zip(theta) {
        p.transform.to_unconstrained(op, &p.name, v)?;
    }
    Ok(())
}

/// [`check_args`] and [`check_support`] with the kernel's own layout.
fn check_public<K: Kernel>(
    op: &'static str,
    k: &K,
    theta: &[f64],
    x: &Inputs,
    y: Option<(&'static str, &Inputs)>,
) -> Result<()> {
    check_args(op, k, theta, x, y)?;
    check_support(op, &k.layout()?, theta)
}

/// Returns an error naming the first non-finite entry of a kernel matrix.
pub(crate) fn check_matrix_finite(
    op: &'static str,
    m: MatRef<'_, f64>,
    lower_only: bool,
) -> Result<()> {
    let all_finite = (0..m.ncols()).all(|j| {
        let start = if lower_only { j.min(m.nrows()) } else { 0 };
        match m.col(j).try_as_col_major() {
            Some(c) => crate::error::all_finite(&c.as_slice()[start..]),
            None => (start..m.nrows()).all(|i| m[(i, j)].is_finite()),
        }
    });
    if all_finite {
        return Ok(());
    }
    for j in 0..m.ncols() {
        for i in (if lower_only { j } else { 0 })..m.nrows() {
            let v = m[(i, j)];
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    op,
                    index: i + j * m.nrows(),
                    value: v,
                    context: format!(
                        "kernel matrix entry ({i}, {j}); are the hyperparameters extreme?"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Copies the lower triangle of a square matrix into its upper triangle.
pub(crate) fn mirror_lower(m: &mut Mat<f64>) {
    crate::linalg::fill_upper_from_lower(m);
}

/// `K(X, Y)` at the hyperparameters `θ` (natural scale, ordered as [`Kernel::layout`]);
/// `y = None` gives the symmetric `K(X, X)`.
///
/// # Errors
/// A wrong length of `θ`, an entry outside its support (naming the parameter), inputs of
/// the wrong dimension, or a non-finite entry of the matrix.
pub fn kernel_matrix<K: Kernel>(
    k: &K,
    theta: &[f64],
    x: &Inputs,
    y: Option<&Inputs>,
) -> Result<Mat<f64>> {
    check_public("kernel_matrix", k, theta, x, y.map(|y| ("y", y)))?;
    kernel_matrix_unchecked(k, theta, x, y)
}

/// [`kernel_matrix`] without the support check (for models that validated `θ` against
/// their own layout).
pub(crate) fn kernel_matrix_unchecked<K: Kernel>(
    k: &K,
    theta: &[f64],
    x: &Inputs,
    y: Option<&Inputs>,
) -> Result<Mat<f64>> {
    check_args("kernel_matrix", k, theta, x, y.map(|y| ("y", y)))?;
    let m = y.map_or(x.n(), |y| y.n());
    let mut out = Mat::<f64>::zeros(x.n(), m);
    k.matrix_into(theta, x, y, out.as_mut());
    if y.is_none() {
        mirror_lower(&mut out);
    }
    check_matrix_finite("kernel_matrix", out.as_ref(), false)?;
    Ok(out)
}

/// The diagonal `k(xᵢ, xᵢ)` at the hyperparameters `θ`.
pub fn kernel_diag<K: Kernel>(k: &K, theta: &[f64], x: &Inputs) -> Result<Vec<f64>> {
    check_public("kernel_diag", k, theta, x, None)?;
    let mut out = vec![0.0; x.n()];
    k.diag_into(theta, x, &mut out);
    crate::error::check_finite("kernel_diag", "diagonal", &out)?;
    Ok(out)
}

/// The pair weights of a symmetric adjoint: `K̄ᵢⱼ + K̄ⱼᵢ` below the diagonal, `K̄ᵢᵢ` on it
/// (what [`Kernel::matrix_pullback`] reads when `y = None`).
pub fn fold_symmetric(kbar: MatRef<'_, f64>) -> Mat<f64> {
    let n = kbar.nrows();
    Mat::from_fn(n, n, |i, j| match i.cmp(&j) {
        std::cmp::Ordering::Greater => kbar[(i, j)] + kbar[(j, i)],
        std::cmp::Ordering::Equal => kbar[(i, i)],
        std::cmp::Ordering::Less => 0.0,
    })
}

/// Converts a point-major adjoint into column-major order and adds it into `dst`.
fn add_point_major_into_col_major(n: usize, d: usize, src: &[f64], dst: &mut [f64]) {
    for i in 0..n {
        for k in 0..d {
            dst[i + k * n] += src[i * d + k];
        }
    }
}

struct KernelMatrixOp<K> {
    kernel: K,
    theta: Vec<f64>,
    x: Inputs,
    y: Option<Inputs>,
}

impl<K: Kernel> BlockOp for KernelMatrixOp<K> {
    fn name(&self) -> &'static str {
        "kernel_matrix"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let n = self.x.n();
        let m = self.y.as_ref().map_or(n, |y| y.n());
        let d = self.x.d();
        let gbar = MatRef::from_column_major_slice(g, n, m);
        let weights = match self.y {
            None => fold_symmetric(gbar),
            Some(_) => gbar.to_owned(),
        };
        let mut dtheta = vec![0.0; self.theta.len()];
        let want_x = inputs.is_active(1);
        let want_y = self.y.is_some() && inputs.is_active(2);
        let mut dx = want_x.then(|| vec![0.0; n * d]);
        let mut dy = want_y.then(|| vec![0.0; m * d]);
        self.kernel.matrix_pullback(
            &self.theta,
            &self.x,
            self.y.as_ref(),
            weights.as_ref(),
            KernelAdjoints::new(&mut dtheta, dx.as_deref_mut(), dy.as_deref_mut()),
        );
        if let Some(mut a) = inputs.arg(0) {
            a.iter_mut().zip(&dtheta).for_each(|(a, g)| *a += g);
        }
        if let (Some(dx), Some(mut a)) = (dx, inputs.arg(1)) {
            add_point_major_into_col_major(n, d, &dx, &mut a);
        }
        if let (Some(dy), Some(mut a)) = (dy, inputs.arg(2)) {
            add_point_major_into_col_major(m, d, &dy, &mut a);
        }
        Ok(())
    }
}

/// `K(X, Y)` recorded on a tape as one block, differentiable in `θ`, `X` and `Y`.
///
/// `θ` is on the natural scale (ordered as [`Kernel::layout`]); `x` is an `n × d` matrix
/// (rows are points), `y` an `m × d` one (`None`: `K(X, X)`).
///
/// ```
/// use mechml_engine::ad::Tape;
/// use mechml_engine::gp::{SquaredExponential, kernel_matrix_var};
/// let k = SquaredExponential::isotropic();        // θ = (variance, lengthscale)
/// let tape = Tape::new();
/// let theta = tape.var_vec(&[1.0, 1.0]);
/// let x = tape.var_mat(2, 1, &[0.0, 1.0])?;
/// let km = kernel_matrix_var(&tape, &k, &theta, &x, None)?;
/// let s = tape.sum_mat(&km)?;                       // 2 + 2 e^{−1/2}
/// let g = tape.gradient(&s)?;
/// // ∂s/∂ℓ = 2 · e^{−1/2} · r² / ℓ with r² = 1, ℓ = 1; ∂s/∂σ² = s / σ².
/// assert!((g.wrt_vec(&theta)[1] - 2.0 * (-0.5f64).exp()).abs() < 1e-14);
/// assert!((g.wrt_vec(&theta)[0] - (2.0 + 2.0 * (-0.5f64).exp())).abs() < 1e-14);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn kernel_matrix_var<'t, K: Kernel>(
    tape: &'t Tape,
    k: &K,
    theta: &VarVec<'t>,
    x: &VarMat<'t>,
    y: Option<&VarMat<'t>>,
) -> Result<VarMat<'t>> {
    crate::ad::varmat::check_tape(
        "kernel_matrix",
        tape,
        &[theta.tape(), x.tape(), y.and_then(|y| y.tape())],
    )?;
    let xi = Inputs::from_col_major(x.nrows(), x.ncols(), x.values())?;
    let yi = y
        .map(|y| Inputs::from_col_major(y.nrows(), y.ncols(), y.values()))
        .transpose()?;
    let km = kernel_matrix(k, theta.values(), &xi, yi.as_ref())?;
    let (n, m) = (km.nrows(), km.ncols());
    let vals = crate::ad::ops::util::to_vec(km.as_ref());
    let mut args = vec![theta.arg(), x.arg()];
    if let Some(y) = y {
        args.push(y.arg());
    }
    let start = tape.push_block(
        KernelMatrixOp {
            kernel: k.clone(),
            theta: theta.values().to_vec(),
            x: xi,
            y: yi,
        },
        &args,
        n * m,
    )?;
    Ok(VarMat::from_block(tape, start, n, m, vals))
}

struct KernelDiagOp<K> {
    kernel: K,
    theta: Vec<f64>,
    x: Inputs,
}

impl<K: Kernel> BlockOp for KernelDiagOp<K> {
    fn name(&self) -> &'static str {
        "kernel_diag"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        let (n, d) = (self.x.n(), self.x.d());
        let mut dtheta = vec![0.0; self.theta.len()];
        let mut dx = inputs.is_active(1).then(|| vec![0.0; n * d]);
        self.kernel.diag_pullback(
            &self.theta,
            &self.x,
            g,
            KernelAdjoints::new(&mut dtheta, dx.as_deref_mut(), None),
        );
        if let Some(mut a) = inputs.arg(0) {
            a.iter_mut().zip(&dtheta).for_each(|(a, g)| *a += g);
        }
        if let (Some(dx), Some(mut a)) = (dx, inputs.arg(1)) {
            add_point_major_into_col_major(n, d, &dx, &mut a);
        }
        Ok(())
    }
}

/// The diagonal `k(xᵢ, xᵢ)` recorded on a tape as one block.
pub fn kernel_diag_var<'t, K: Kernel>(
    tape: &'t Tape,
    k: &K,
    theta: &VarVec<'t>,
    x: &VarMat<'t>,
) -> Result<VarVec<'t>> {
    crate::ad::varmat::check_tape("kernel_diag", tape, &[theta.tape(), x.tape()])?;
    let xi = Inputs::from_col_major(x.nrows(), x.ncols(), x.values())?;
    check_public("kernel_diag", k, theta.values(), &xi, None)?;
    let mut vals = vec![0.0; xi.n()];
    k.diag_into(theta.values(), &xi, &mut vals);
    crate::error::check_finite("kernel_diag", "diagonal", &vals)?;
    let start = tape.push_block(
        KernelDiagOp {
            kernel: k.clone(),
            theta: theta.values().to_vec(),
            x: xi,
        },
        &[theta.arg(), x.arg()],
        vals.len(),
    )?;
    Ok(VarVec::from_block(tape, start, vals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_check_finds_the_first_bad_entry() {
        for n in [1usize, 5, 9] {
            let mut m = Mat::<f64>::from_fn(n, n, |i, j| (i + 2 * j) as f64 - 3.0);
            assert!(check_matrix_finite("t", m.as_ref(), true).is_ok());
            assert!(check_matrix_finite("t", m.as_ref(), false).is_ok());
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let (i, j) = (n - 1, n / 2);
                let keep = m[(i, j)];
                m[(i, j)] = bad;
                match check_matrix_finite("t", m.as_ref(), true) {
                    Err(Error::NonFinite { index, .. }) => assert_eq!(index, i + j * n),
                    other => panic!("expected NonFinite, got {other:?}"),
                }
                // Read through a row-strided view as well.
                let t = m.transpose().to_owned();
                assert!(check_matrix_finite("t", t.transpose(), true).is_err());
                m[(i, j)] = keep;
                if n > 1 {
                    // Above the diagonal: ignored when only the lower triangle counts.
                    m[(0, n - 1)] = bad;
                    assert!(check_matrix_finite("t", m.as_ref(), true).is_ok());
                    assert!(check_matrix_finite("t", m.as_ref(), false).is_err());
                    m[(0, n - 1)] = 0.0;
                }
            }
        }
    }
}

//! Derivative drivers: gradients, vector–Jacobian and Jacobian–vector products, full
//! Jacobians, and exact Hessian–vector products.
//!
//! Two ways to give a function:
//! * a type implementing [`ScalarFn`] / [`VectorFn`], whose `eval` is generic over
//!   [`Real`]: it can then run on `f64`, on dual numbers (forward mode) and on a tape
//!   (reverse mode), and the driver picks the cheaper mode;
//! * a closure over a [`Tape`] (`grad`, `jacobian_reverse`…), which may also use block
//!   operations.

use crate::linalg::Mat;

use super::{Dual, DualN, Real, Tape, Var};
use crate::error::{Error, Result};

/// A scalar function `ℝⁿ → ℝ` written once for every [`Real`] type.
pub trait ScalarFn {
    /// Evaluates the function.
    fn eval<R: Real>(&self, x: &[R]) -> R;
}

/// A vector function `ℝⁿ → ℝᵐ` written once for every [`Real`] type.
pub trait VectorFn {
    /// Evaluates the function.
    fn eval<R: Real>(&self, x: &[R]) -> Vec<R>;
}

/// Tangent directions per forward pass in [`jacobian_forward`].
pub const JACOBIAN_CHUNK: usize = 8;

/// Value and gradient of `f` at `x`, by one reverse sweep.
pub fn value_and_grad<F: ScalarFn + ?Sized>(f: &F, x: &[f64]) -> Result<(f64, Vec<f64>)> {
    let mut tape = Tape::with_capacity(64 * x.len().max(16));
    grad(&mut tape, x, |_, v| Ok(f.eval(v)))
}

/// Value and gradient of a closure recorded on `tape` (cleared first, reused afterwards).
///
/// ```
/// use mechml_engine::ad::{Real, Tape, api::grad};
/// let mut tape = Tape::new();
/// let (v, g) = grad(&mut tape, &[1.0, 2.0], |_, x| Ok(x[0] * x[1].sin()))?;
/// assert!((v - 2f64.sin()).abs() < 1e-15 && (g[1] - 2f64.cos()).abs() < 1e-15);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn grad<F>(tape: &mut Tape, x: &[f64], f: F) -> Result<(f64, Vec<f64>)>
where
    F: for<'t> FnOnce(&'t Tape, &[Var<'t>]) -> Result<Var<'t>>,
{
    tape.clear();
    let tape: &Tape = tape;
    let xs = tape.vars(x);
    let y = f(tape, &xs)?;
    let adj = tape.gradient(&y)?;
    Ok((y.val(), adj.wrt_slice(&xs)))
}

/// `(f(x), wᵀ J(x))`: a vector–Jacobian product by one reverse sweep.
pub fn vjp<F: VectorFn + ?Sized>(f: &F, x: &[f64], w: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    let tape = Tape::with_capacity(64 * x.len().max(16));
    let xs = tape.vars(x);
    let ys = f.eval(&xs);
    crate::error::check_len("vjp", "w", w.len(), ys.len())?;
    let seeds: Vec<(u32, f64)> = ys
        .iter()
        .zip(w)
        .filter_map(|(y, &wi)| y.slot_if_var().map(|s| (s, wi)))
        .collect();
    let adj = tape.reverse(&seeds)?;
    Ok((ys.iter().map(|y| y.val()).collect(), adj.wrt_slice(&xs)))
}

/// `(f(x), J(x) v)`: a Jacobian–vector product by one forward pass with dual numbers.
pub fn jvp<F: VectorFn + ?Sized>(f: &F, x: &[f64], v: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    crate::error::check_len("jvp", "v", v.len(), x.len())?;
    let xs: Vec<Dual> = x.iter().zip(v).map(|(&a, &b)| Dual::dual(a, b)).collect();
    let ys = f.eval(&xs);
    Ok((
        ys.iter().map(|y| y.v).collect(),
        ys.iter().map(|y| y.d[0]).collect(),
    ))
}

/// `(f(x), J(x))` by forward mode, [`JACOBIAN_CHUNK`] columns per pass.
pub fn jacobian_forward<F: VectorFn + ?Sized>(f: &F, x: &[f64]) -> Result<(Vec<f64>, Mat<f64>)> {
    const C: usize = JACOBIAN_CHUNK;
    let n = x.len();
    let mut jac: Option<Mat<f64>> = None;
    let mut value = Vec::new();
    let mut start = 0;
    loop {
        let xs: Vec<DualN<C>> = x
            .iter()
            .enumerate()
            .map(|(i, &xi)| {
                if i >= start && i < start + C {
                    DualN::seed(xi, i - start)
                } else {
                    DualN::constant(xi)
                }
            })
            .collect();
        let ys = f.eval(&xs);
        let m = ys.len();
        let j = jac.get_or_insert_with(|| Mat::zeros(m, n));
        if j.nrows() != m {
            return Err(Error::ShapeMismatch {
                op: "jacobian",
                arg: "output of f",
                expected: format!("len {} (as in the first evaluation)", j.nrows()),
                found: format!("len {m}: the output length changed between evaluations"),
            });
        }
        if start == 0 {
            value = ys.iter().map(|y| y.v).collect();
        }
        for (r, y) in ys.iter().enumerate() {
            for k in 0..C.min(n.saturating_sub(start)) {
                j[(r, start + k)] = y.d[k];
            }
        }
        start += C;
        if start >= n {
            break;
        }
    }
    Ok((value, jac.unwrap_or_else(|| Mat::zeros(0, 0))))
}

/// `(f(x), J(x))` by reverse mode: one recording, one reverse sweep per output.
pub fn jacobian_reverse<F: VectorFn + ?Sized>(f: &F, x: &[f64]) -> Result<(Vec<f64>, Mat<f64>)> {
    let tape = Tape::with_capacity(64 * x.len().max(16));
    let xs = tape.vars(x);
    let ys = f.eval(&xs);
    let (m, n) = (ys.len(), x.len());
    let mut jac = Mat::zeros(m, n);
    let mut adj = super::Adjoints::default();
    for (r, y) in ys.iter().enumerate() {
        if let Some(s) = y.slot_if_var() {
            tape.reverse_into(&[(s, 1.0)], &mut adj)?;
            for (c, xi) in xs.iter().enumerate() {
                jac[(r, c)] = adj.wrt(xi);
            }
        }
    }
    Ok((ys.iter().map(|y| y.val()).collect(), jac))
}

/// `(f(x), J(x))`, by forward mode when there are no more inputs than outputs (or at most
/// one chunk of inputs), by reverse mode otherwise.
pub fn jacobian<F: VectorFn + ?Sized>(f: &F, x: &[f64]) -> Result<(Vec<f64>, Mat<f64>)> {
    let m = f.eval(x).len();
    if x.len() <= m || x.len() <= JACOBIAN_CHUNK {
        jacobian_forward(f, x)
    } else {
        jacobian_reverse(f, x)
    }
}

/// Value, gradient and the Hessian–vector product `H(x) v`, exact, by forward-over-reverse:
/// the function is recorded on a tape of dual numbers whose tangents carry `v`, and the
/// reverse sweep's adjoints then carry `∇f` in their values and `H v` in their tangents.
/// For functions that use block operations, see [`hvp_tape`].
pub fn hvp<F: ScalarFn + ?Sized>(f: &F, x: &[f64], v: &[f64]) -> Result<(f64, Vec<f64>, Vec<f64>)> {
    crate::error::check_len("hvp", "v", v.len(), x.len())?;
    let tape: Tape<Dual> = Tape::with_capacity_generic(64 * x.len().max(16));
    let xs: Vec<Var<'_, Dual>> = x
        .iter()
        .zip(v)
        .map(|(&a, &b)| tape.var(Dual::dual(a, b)))
        .collect();
    let y = f.eval(&xs);
    let adj = tape.gradient(&y)?;
    let g = adj.wrt_slice(&xs);
    Ok((
        y.val().v,
        g.iter().map(|d| d.v).collect(),
        g.iter().map(|d| d.d[0]).collect(),
    ))
}

/// Value, gradient and the exact Hessian–vector product `H(x) v` of a closure recorded on
/// a tape of dual numbers (cleared first, reused afterwards), by forward-over-reverse as in
/// [`hvp`]. Unlike [`hvp`], the closure may use block operations: `stack`/`stack_mat`, and
/// the likelihood blocks `cholesky`, `solve_triangular`, `solve_lower`, `logdet_spd` and
/// `mvn_logpdf`, which `Tape<Dual>` implements with second-order pullbacks (see
/// [`ops`](super::ops)); a block added through [`Tape::push_block`] on a `Tape<Dual>`
/// must implement `BlockOp<Dual>` the same way.
///
/// ```
/// use mechml_engine::ad::{Dual, Real, Tape, api::hvp_tape};
/// // f(x) = log det [[x₀, x₁], [x₁, 2]] = ln(2 x₀ − x₁²).
/// let mut tape: Tape<Dual> = Tape::with_capacity_generic(64);
/// let (x, v) = ([3.0, 1.0], [1.0, 0.0]);
/// let (f, g, hv) = hvp_tape(&mut tape, &x, &v, |t, xs| {
///     let two = mechml_engine::ad::Var::constant(Dual::constant(2.0));
///     t.logdet_spd(&t.stack_mat(2, 2, &[xs[0], xs[1], xs[1], two])?)
/// })?;
/// let d = 2.0 * x[0] - x[1] * x[1];
/// assert!((f - d.ln()).abs() < 1e-14 && (g[0] - 2.0 / d).abs() < 1e-14);
/// assert!((hv[0] + 4.0 / (d * d)).abs() < 1e-14); // ∂²f/∂x₀² = −4/d²
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn hvp_tape<F>(
    tape: &mut Tape<Dual>,
    x: &[f64],
    v: &[f64],
    f: F,
) -> Result<(f64, Vec<f64>, Vec<f64>)>
where
    F: for<'t> FnOnce(&'t Tape<Dual>, &[Var<'t, Dual>]) -> Result<Var<'t, Dual>>,
{
    crate::error::check_len("hvp_tape", "v", v.len(), x.len())?;
    tape.clear();
    let tape: &Tape<Dual> = tape;
    let xs: Vec<Var<'_, Dual>> = x
        .iter()
        .zip(v)
        .map(|(&a, &b)| tape.var(Dual::dual(a, b)))
        .collect();
    let y = f(tape, &xs)?;
    let adj = tape.gradient(&y)?;
    let g = adj.wrt_slice(&xs);
    Ok((
        y.val().v,
        g.iter().map(|d| d.v).collect(),
        g.iter().map(|d| d.d[0]).collect(),
    ))
}

/// The full Hessian by `n` Hessian–vector products (symmetrised).
pub fn hessian<F: ScalarFn + ?Sized>(f: &F, x: &[f64]) -> Result<Mat<f64>> {
    let n = x.len();
    let mut h = Mat::zeros(n, n);
    let mut e = vec![0.0; n];
    for j in 0..n {
        e[j] = 1.0;
        let (_, _, hv) = hvp(f, x, &e)?;
        e[j] = 0.0;
        for i in 0..n {
            h[(i, j)] = hv[i];
        }
    }
    for j in 0..n {
        for i in 0..j {
            let s = 0.5 * (h[(i, j)] + h[(j, i)]);
            h[(i, j)] = s;
            h[(j, i)] = s;
        }
    }
    Ok(h)
}

/// `J v` for a closure recorded on a tape, by a forward sweep over the recording (every
/// block used must implement [`BlockOp::pushforward`](super::BlockOp::pushforward)).
pub fn jvp_tape<F>(tape: &mut Tape, x: &[f64], v: &[f64], f: F) -> Result<(Vec<f64>, Vec<f64>)>
where
    F: for<'t> FnOnce(&'t Tape, &[Var<'t>]) -> Result<Vec<Var<'t>>>,
{
    crate::error::check_len("jvp_tape", "v", v.len(), x.len())?;
    tape.clear();
    let tape: &Tape = tape;
    let xs = tape.vars(x);
    let ys = f(tape, &xs)?;
    let seeds: Vec<(u32, f64)> = xs.iter().zip(v).map(|(x, &vi)| (x.slot(), vi)).collect();
    let tan = tape.forward(&seeds)?;
    Ok((ys.iter().map(|y| y.val()).collect(), tan.wrt_slice(&ys)))
}

/// `wᵀ J` for a closure recorded on a tape (which may use block operations).
pub fn vjp_tape<F>(tape: &mut Tape, x: &[f64], w: &[f64], f: F) -> Result<(Vec<f64>, Vec<f64>)>
where
    F: for<'t> FnOnce(&'t Tape, &[Var<'t>]) -> Result<Vec<Var<'t>>>,
{
    tape.clear();
    let tape: &Tape = tape;
    let xs = tape.vars(x);
    let ys = f(tape, &xs)?;
    crate::error::check_len("vjp_tape", "w", w.len(), ys.len())?;
    let seeds: Vec<(u32, f64)> = ys
        .iter()
        .zip(w)
        .filter_map(|(y, &wi)| y.slot_if_var().map(|s| (s, wi)))
        .collect();
    let adj = tape.reverse(&seeds)?;
    Ok((ys.iter().map(|y| y.val()).collect(), adj.wrt_slice(&xs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rosen;
    impl ScalarFn for Rosen {
        fn eval<R: Real>(&self, x: &[R]) -> R {
            let mut f = R::zero();
            for i in 0..x.len() - 1 {
                f += (x[i + 1] - x[i].square()).square() * 100.0 + (R::one() - x[i]).square();
            }
            f
        }
    }

    #[test]
    fn rosenbrock_hessian_closed_form() {
        // 2-D Rosenbrock: H = [[1200 x² − 400 y + 2, −400 x], [−400 x, 200]].
        let (x, y) = (0.7, -0.3);
        let h = hessian(&Rosen, &[x, y]).unwrap();
        assert!((h[(0, 0)] - (1200.0 * x * x - 400.0 * y + 2.0)).abs() < 1e-10);
        assert!((h[(0, 1)] + 400.0 * x).abs() < 1e-10);
        assert!((h[(1, 1)] - 200.0).abs() < 1e-10);
    }

    struct Polar;
    impl VectorFn for Polar {
        fn eval<R: Real>(&self, x: &[R]) -> Vec<R> {
            vec![x[0] * x[1].cos(), x[0] * x[1].sin(), x[0].square()]
        }
    }

    #[test]
    fn jacobians_agree_with_closed_form() {
        let (r, t) = (1.3, 0.4);
        let expected = [
            [t.cos(), -r * t.sin()],
            [t.sin(), r * t.cos()],
            [2.0 * r, 0.0],
        ];
        for (_, j) in [
            jacobian_forward(&Polar, &[r, t]).unwrap(),
            jacobian_reverse(&Polar, &[r, t]).unwrap(),
        ] {
            for (i, row) in expected.iter().enumerate() {
                for (k, e) in row.iter().enumerate() {
                    assert!((j[(i, k)] - e).abs() < 1e-14);
                }
            }
        }
    }
}

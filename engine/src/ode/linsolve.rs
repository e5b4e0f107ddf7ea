//! A reusable dense LU workspace (partial pivoting, `P A = L U`) for the Newton and
//! Rosenbrock matrices `I − hγJ`: factorisations and solves allocate nothing after the
//! first.
//!
//! Above [`SMALL_N`] states the factorisation and solves are faer's. At or below it they
//! are the unblocked right-looking elimination with row pivoting (Golub & Van Loan 2013,
//! Algorithm 3.4.1, LAPACK `getf2`) on a row-major array: for a 3 × 3 system faer's
//! general path costs about 1,500 instructions per solve in set-up (permutation
//! checks, views, scratch), some 100 times the arithmetic, and the stiff solvers of small
//! systems call it once per Newton iteration or stage. Both paths pick the same pivots
//! (the largest magnitude in the column), so the factors agree to rounding.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::lu::partial_pivoting::{factor, solve};
use faer::perm::PermRef;
use faer::{Conj, Mat, MatMut, MatRef, Par};

/// The convergence tolerance of the simplified Newton iterations (ESDIRK stages, BDF
/// correctors), in units of the scaled norm: `max(10 ε / rtol, min(√rtol, 0.03))` with the
/// largest relative tolerance (Hairer & Wanner 1996, IV.8, after eq. (8.11); as diffrax).
pub(crate) fn newton_tolerance(tol: &crate::solver::Tolerance) -> f64 {
    let rtol = tol.rtol.max();
    (10.0 * f64::EPSILON / rtol.max(1e-300)).max(rtol.sqrt().min(0.03))
}

/// Largest size factorised by the built-in unblocked LU.
pub(crate) const SMALL_N: usize = 16;

/// The storage of one of the two paths.
enum Factors {
    /// Row-major `n × n` factors (`L` strictly below the diagonal, unit diagonal
    /// implied; `U` on and above) and the row interchanges `piv[k]` of step `k`.
    Small {
        lu: Vec<f64>,
        piv: Vec<usize>,
        /// `1 / Uₖₖ`.
        inv_diag: Vec<f64>,
    },
    /// faer's factors, permutation and scratch.
    Faer {
        lu: Mat<f64>,
        perm: Vec<usize>,
        perm_inv: Vec<usize>,
        buf: MemBuffer,
    },
}

impl Factors {
    /// faer's storage for `n × n`.
    fn faer(n: usize) -> Self {
        let par = Par::Seq;
        let req = factor::lu_in_place_scratch::<usize, f64>(n, n, par, Default::default())
            .or(solve::solve_in_place_scratch::<usize, f64>(n, 1, par))
            .or(solve::solve_transpose_in_place_scratch::<usize, f64>(
                n, 1, par,
            ));
        Factors::Faer {
            lu: Mat::zeros(n, n),
            perm: vec![0; n],
            perm_inv: vec![0; n],
            buf: MemBuffer::new(req),
        }
    }
}

/// LU factors of an `n × n` matrix with their scratch space.
pub(crate) struct LuWork {
    n: usize,
    f: Factors,
    /// Whether the factors are valid.
    pub valid: bool,
}

impl LuWork {
    pub(crate) fn new(n: usize) -> Self {
        let f = if n <= SMALL_N {
            Factors::Small {
                lu: vec![0.0; n * n],
                piv: vec![0; n],
                inv_diag: vec![0.0; n],
            }
        } else {
            Factors::faer(n)
        };
        Self { n, f, valid: false }
    }

    /// Factorises `c_i I + c_j J` (`identity_scale · I + jac_scale · J`). Returns the index
    /// of a zero or non-finite pivot (or of a row with a non-finite entry) on failure.
    pub(crate) fn factor_shifted(
        &mut self,
        jac: MatRef<'_, f64>,
        identity_scale: f64,
        jac_scale: f64,
    ) -> Result<(), usize> {
        let n = self.n;
        self.valid = false;
        match &mut self.f {
            Factors::Small { lu, piv, inv_diag } => {
                for i in 0..n {
                    for j in 0..n {
                        let d = if i == j { identity_scale } else { 0.0 };
                        let v = d + jac_scale * jac[(i, j)];
                        if !v.is_finite() {
                            return Err(i);
                        }
                        lu[i * n + j] = v;
                    }
                }
                small_factor(lu, piv, n)?;
                for (k, d) in inv_diag.iter_mut().enumerate() {
                    *d = 1.0 / lu[k * n + k];
                }
            }
            Factors::Faer {
                lu,
                perm,
                perm_inv,
                buf,
            } => {
                for j in 0..n {
                    for i in 0..n {
                        let d = if i == j { identity_scale } else { 0.0 };
                        let v = d + jac_scale * jac[(i, j)];
                        if !v.is_finite() {
                            return Err(i);
                        }
                        lu[(i, j)] = v;
                    }
                }
                factor::lu_in_place(
                    lu.as_mut(),
                    perm,
                    perm_inv,
                    Par::Seq,
                    MemStack::new(buf),
                    Default::default(),
                );
                if let Some(i) = (0..n).find(|&i| lu[(i, i)] == 0.0 || !lu[(i, i)].is_finite()) {
                    return Err(i);
                }
            }
        }
        self.valid = true;
        Ok(())
    }

    /// Solves `A x = b` in place.
    pub(crate) fn solve(&mut self, x: &mut [f64]) {
        let n = self.n;
        match &mut self.f {
            Factors::Small { lu, piv, inv_diag } => match n {
                1 => small_solve::<1>(lu, piv, inv_diag, x),
                2 => small_solve::<2>(lu, piv, inv_diag, x),
                3 => small_solve::<3>(lu, piv, inv_diag, x),
                4 => small_solve::<4>(lu, piv, inv_diag, x),
                5 => small_solve::<5>(lu, piv, inv_diag, x),
                6 => small_solve::<6>(lu, piv, inv_diag, x),
                7 => small_solve::<7>(lu, piv, inv_diag, x),
                8 => small_solve::<8>(lu, piv, inv_diag, x),
                _ => small_solve_dyn(lu, piv, inv_diag, x, n),
            },
            Factors::Faer {
                lu,
                perm,
                perm_inv,
                buf,
            } => {
                let rhs = MatMut::from_column_major_slice_mut(x, n, 1);
                let lu = lu.as_ref();
                solve::solve_in_place_with_conj(
                    lu,
                    lu,
                    PermRef::new_checked(perm, perm_inv, n),
                    Conj::No,
                    rhs,
                    Par::Seq,
                    MemStack::new(buf),
                );
            }
        }
    }

    /// Solves `Aᵀ x = b` in place.
    pub(crate) fn solve_transpose(&mut self, x: &mut [f64]) {
        let n = self.n;
        match &mut self.f {
            Factors::Small { lu, piv, inv_diag } => {
                // Aᵀ = Uᵀ Lᵀ P: Uᵀ z = b (lower), Lᵀ w = z (unit upper), x = Pᵀ w.
                for i in 0..n {
                    let mut acc = x[i];
                    for j in 0..i {
                        acc -= lu[j * n + i] * x[j];
                    }
                    x[i] = acc * inv_diag[i];
                }
                for i in (0..n).rev() {
                    let mut acc = x[i];
                    for j in i + 1..n {
                        acc -= lu[j * n + i] * x[j];
                    }
                    x[i] = acc;
                }
                for (k, &p) in piv.iter().enumerate().rev() {
                    x.swap(k, p);
                }
            }
            Factors::Faer {
                lu,
                perm,
                perm_inv,
                buf,
            } => {
                let rhs = MatMut::from_column_major_slice_mut(x, n, 1);
                let lu = lu.as_ref();
                solve::solve_transpose_in_place_with_conj(
                    lu,
                    lu,
                    PermRef::new_checked(perm, perm_inv, n),
                    Conj::No,
                    rhs,
                    Par::Seq,
                    MemStack::new(buf),
                );
            }
        }
    }
}

/// `x ← A⁻¹ x` from the small factors, with the size a constant (loops unrolled).
#[inline]
fn small_solve<const N: usize>(lu: &[f64], piv: &[usize], inv_diag: &[f64], x: &mut [f64]) {
    let (lu, piv, inv_diag, x) = (&lu[..N * N], &piv[..N], &inv_diag[..N], &mut x[..N]);
    for k in 0..N {
        x.swap(k, piv[k]);
    }
    // L z = P b (unit lower), then U x = z.
    for i in 1..N {
        let mut acc = x[i];
        for j in 0..i {
            acc -= lu[i * N + j] * x[j];
        }
        x[i] = acc;
    }
    for i in (0..N).rev() {
        let mut acc = x[i];
        for j in i + 1..N {
            acc -= lu[i * N + j] * x[j];
        }
        x[i] = acc * inv_diag[i];
    }
}

/// [`small_solve`] for any size.
fn small_solve_dyn(lu: &[f64], piv: &[usize], inv_diag: &[f64], x: &mut [f64], n: usize) {
    for (k, &p) in piv.iter().enumerate() {
        x.swap(k, p);
    }
    for i in 1..n {
        let mut acc = x[i];
        for (l, xj) in lu[i * n..i * n + i].iter().zip(&x[..i]) {
            acc -= l * xj;
        }
        x[i] = acc;
    }
    for i in (0..n).rev() {
        let (head, tail) = x.split_at_mut(i + 1);
        let mut acc = head[i];
        for (u, xj) in lu[i * n + i + 1..(i + 1) * n].iter().zip(tail.iter()) {
            acc -= u * xj;
        }
        head[i] = acc * inv_diag[i];
    }
}

/// In-place `P A = L U` of a row-major `n × n` array by elimination with row pivoting;
/// `Err(k)` for a zero (or non-finite) pivot in column `k`.
fn small_factor(a: &mut [f64], piv: &mut [usize], n: usize) -> Result<(), usize> {
    for k in 0..n {
        let mut p = k;
        let mut best = a[k * n + k].abs();
        for i in k + 1..n {
            let v = a[i * n + k].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        piv[k] = p;
        if best == 0.0 || !best.is_finite() {
            return Err(k);
        }
        if p != k {
            for j in 0..n {
                a.swap(k * n + j, p * n + j);
            }
        }
        let inv = 1.0 / a[k * n + k];
        let (top, bottom) = a.split_at_mut((k + 1) * n);
        let pivot_row = &top[k * n + k + 1..k * n + n];
        for row in bottom.chunks_exact_mut(n) {
            let l = row[k] * inv;
            row[k] = l;
            if l != 0.0 {
                for (x, &u) in row[k + 1..].iter_mut().zip(pivot_row) {
                    *x -= l * u;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_solves() {
        let j = faer::mat![[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [2.0, 0.0, 1.0]];
        let mut w = LuWork::new(3);
        w.factor_shifted(j.as_ref(), 2.0, -0.5).unwrap();
        let a = Mat::<f64>::from_fn(
            3,
            3,
            |r, c| if r == c { 2.0 } else { 0.0 } - 0.5 * j[(r, c)],
        );
        let b = [1.0, -2.0, 0.25];
        let mut x = b;
        w.solve(&mut x);
        for r in 0..3 {
            let v: f64 = (0..3).map(|c| a[(r, c)] * x[c]).sum();
            assert!((v - b[r]).abs() < 1e-13);
        }
        let mut x = b;
        w.solve_transpose(&mut x);
        for r in 0..3 {
            let v: f64 = (0..3).map(|c| a[(c, r)] * x[c]).sum();
            assert!((v - b[r]).abs() < 1e-13);
        }
    }

    /// The built-in path against faer's on random matrices of every small size (and one
    /// that needs pivoting), through residuals and through each other; singular and
    /// non-finite matrices are errors naming the column or row.
    #[test]
    fn small_path_matches_faer_and_residuals() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let mut uniform = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
        for n in 1..=SMALL_N + 1 {
            let jac = Mat::<f64>::from_fn(n, n, |_, _| uniform());
            let b: Vec<f64> = (0..n).map(|_| uniform()).collect();
            let mut small = LuWork::new(n);
            // faer's path at the same size.
            let mut big = LuWork {
                n,
                f: Factors::faer(n),
                valid: false,
            };
            small.factor_shifted(jac.as_ref(), 0.3, -1.0).unwrap();
            big.factor_shifted(jac.as_ref(), 0.3, -1.0).unwrap();
            let a = Mat::<f64>::from_fn(n, n, |r, c| {
                let d = if r == c { 0.3 } else { 0.0 };
                d - jac[(r, c)]
            });
            for transpose in [false, true] {
                let (mut xs, mut xb) = (b.clone(), b.clone());
                if transpose {
                    small.solve_transpose(&mut xs);
                    big.solve_transpose(&mut xb);
                } else {
                    small.solve(&mut xs);
                    big.solve(&mut xb);
                }
                let scale = xs.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                for r in 0..n {
                    let v: f64 = (0..n)
                        .map(|c| if transpose { a[(c, r)] } else { a[(r, c)] } * xs[c])
                        .sum();
                    assert!((v - b[r]).abs() < 1e-12 * scale * n as f64, "n = {n}");
                    assert!((xs[r] - xb[r]).abs() < 1e-11 * scale, "n = {n}");
                }
            }
        }
        // A zero leading entry needs a row interchange.
        let j = faer::mat![[0.0, 1.0], [1.0, 1.0]];
        let mut w = LuWork::new(2);
        w.factor_shifted(j.as_ref(), 0.0, 1.0).unwrap();
        let mut x = [1.0, 2.0];
        w.solve(&mut x);
        assert!((x[0] - 1.0).abs() < 1e-15 && (x[1] - 1.0).abs() < 1e-15);
        // Singular: the second column is eliminated to zero.
        let j = faer::mat![[1.0, 2.0], [2.0, 4.0]];
        assert_eq!(w.factor_shifted(j.as_ref(), 0.0, 1.0), Err(1));
        assert!(!w.valid);
        let j = faer::mat![[1.0, 2.0], [f64::NAN, 4.0]];
        assert_eq!(w.factor_shifted(j.as_ref(), 0.0, 1.0), Err(1));
    }
}

//! A reusable dense LU workspace (faer's partial-pivoting LU, `P A = L U`) for the
//! Newton and Rosenbrock matrices `I − hγJ`: factorisations and solves allocate nothing
//! after the first.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::lu::partial_pivoting::{factor, solve};
use faer::perm::PermRef;
use faer::{Conj, Mat, MatMut, Par};

/// LU factors of an `n × n` matrix with their scratch space.
pub(crate) struct LuWork {
    n: usize,
    lu: Mat<f64>,
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    buf: MemBuffer,
    /// Whether the factors are valid.
    pub valid: bool,
}

impl LuWork {
    pub(crate) fn new(n: usize) -> Self {
        let par = Par::Seq;
        let req = factor::lu_in_place_scratch::<usize, f64>(n, n, par, Default::default())
            .or(solve::solve_in_place_scratch::<usize, f64>(n, 1, par))
            .or(solve::solve_transpose_in_place_scratch::<usize, f64>(
                n, 1, par,
            ));
        Self {
            n,
            lu: Mat::zeros(n, n),
            perm: vec![0; n],
            perm_inv: vec![0; n],
            buf: MemBuffer::new(req),
            valid: false,
        }
    }

    /// Factorises `c_i I + c_j J` (`identity_scale · I + jac_scale · J`). Returns the index
    /// of a zero or non-finite pivot on failure.
    pub(crate) fn factor_shifted(
        &mut self,
        jac: &Mat<f64>,
        identity_scale: f64,
        jac_scale: f64,
    ) -> Result<(), usize> {
        let n = self.n;
        for j in 0..n {
            for i in 0..n {
                let d = if i == j { identity_scale } else { 0.0 };
                self.lu[(i, j)] = d + jac_scale * jac[(i, j)];
            }
        }
        self.factor_current()
    }

    fn factor_current(&mut self) -> Result<(), usize> {
        let n = self.n;
        self.valid = false;
        for j in 0..n {
            for i in 0..n {
                if !self.lu[(i, j)].is_finite() {
                    return Err(i);
                }
            }
        }
        factor::lu_in_place(
            self.lu.as_mut(),
            &mut self.perm,
            &mut self.perm_inv,
            Par::Seq,
            MemStack::new(&mut self.buf),
            Default::default(),
        );
        if let Some(i) = (0..n).find(|&i| self.lu[(i, i)] == 0.0 || !self.lu[(i, i)].is_finite()) {
            return Err(i);
        }
        self.valid = true;
        Ok(())
    }

    /// Solves `A x = b` in place.
    pub(crate) fn solve(&mut self, x: &mut [f64]) {
        let n = self.n;
        let rhs = MatMut::from_column_major_slice_mut(x, n, 1);
        let lu = self.lu.as_ref();
        solve::solve_in_place_with_conj(
            lu,
            lu,
            PermRef::new_checked(&self.perm, &self.perm_inv, n),
            Conj::No,
            rhs,
            Par::Seq,
            MemStack::new(&mut self.buf),
        );
    }

    /// Solves `Aᵀ x = b` in place.
    pub(crate) fn solve_transpose(&mut self, x: &mut [f64]) {
        let n = self.n;
        let rhs = MatMut::from_column_major_slice_mut(x, n, 1);
        let lu = self.lu.as_ref();
        solve::solve_transpose_in_place_with_conj(
            lu,
            lu,
            PermRef::new_checked(&self.perm, &self.perm_inv, n),
            Conj::No,
            rhs,
            Par::Seq,
            MemStack::new(&mut self.buf),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_solves() {
        let j = faer::mat![[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [2.0, 0.0, 1.0]];
        let mut w = LuWork::new(3);
        w.factor_shifted(&j, 2.0, -0.5).unwrap();
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
}

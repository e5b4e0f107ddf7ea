//! [`SymEig`]: a reusable symmetric eigendecomposition (faer's tridiagonal QR, always
//! sequential so a result never depends on a thread count).

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::{Mat, MatRef, Par};
use mechml_engine::{Error, Result};

/// A symmetric eigendecomposition `S = V diag(λ) Vᵀ` of a fixed size with its workspace,
/// reused from call to call (no allocation after the first).
pub(crate) struct SymEig {
    n: usize,
    buf: MemBuffer,
    /// Eigenvalues in nondecreasing order.
    pub vals: Vec<f64>,
    /// Eigenvectors, one per column.
    pub vecs: Mat<f64>,
}

impl SymEig {
    /// A workspace for `n × n` matrices.
    pub fn new(n: usize) -> Self {
        let req = evd::self_adjoint_evd_scratch::<f64>(
            n,
            ComputeEigenvectors::Yes,
            Par::Seq,
            Default::default(),
        );
        Self {
            n,
            buf: MemBuffer::new(req),
            vals: vec![0.0; n],
            vecs: Mat::zeros(n, n),
        }
    }

    /// Size n.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// Decomposes the symmetric `s` (only its lower triangle is read).
    pub fn compute(&mut self, s: MatRef<'_, f64>, op: &'static str) -> Result<()> {
        if s.nrows() != self.n {
            *self = Self::new(s.nrows());
        }
        let diag = faer::diag::DiagMut::from_slice_mut(&mut self.vals);
        evd::self_adjoint_evd(
            s,
            diag,
            Some(self.vecs.as_mut()),
            Par::Seq,
            MemStack::new(&mut self.buf),
            Default::default(),
        )
        .map_err(|_| Error::NoConvergence {
            op,
            iterations: 0,
            detail: "the symmetric eigendecomposition did not converge; the ensemble or the \
                     observations hold non-finite values"
                .into(),
        })?;
        if let Some((k, &v)) = self.vals.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                op,
                index: k,
                value: v,
                context: "eigenvalue of the analysis matrix".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eig_reconstructs() {
        let n = 6;
        let a = Mat::<f64>::from_fn(n, n, |i, j| 1.0 / (1.0 + i as f64 + j as f64));
        let mut e = SymEig::new(n);
        e.compute(a.as_ref(), "test").unwrap();
        for i in 0..n {
            for j in 0..n {
                let r: f64 = (0..n)
                    .map(|k| e.vecs[(i, k)] * e.vals[k] * e.vecs[(j, k)])
                    .sum();
                assert!((r - a[(i, j)]).abs() < 1e-13);
            }
        }
        assert!(e.vals.windows(2).all(|w| w[0] <= w[1]));
    }
}

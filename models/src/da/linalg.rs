//! Small dense kernels the analyses share: a reusable symmetric eigendecomposition (faer's
//! tridiagonal QR, always sequential so a result never depends on a thread count) and
//! row-major-free helpers on column-major slices.

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

/// `Σ_k a[k] b[k]`.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four accumulators: a fixed association order, so the result never depends on the
    // caller, and the loop vectorises.
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        for l in 0..4 {
            acc[l] += a[4 * c + l] * b[4 * c + l];
        }
    }
    let mut tail = 0.0;
    for k in 4 * chunks..n {
        tail += a[k] * b[k];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `y += alpha x`.
#[inline]
pub(crate) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
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

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f64> = (0..11).map(|k| k as f64 * 0.3).collect();
        let b: Vec<f64> = (0..11).map(|k| 1.0 - k as f64 * 0.1).collect();
        let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-12);
    }
}

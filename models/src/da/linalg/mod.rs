//! Small dense kernels the analyses share, all sequential so a result never depends on a
//! thread count: a reusable symmetric eigendecomposition ([`SymEig`], faer's), the
//! eigenvalues and factored eigenvectors of a small symmetric matrix for applying matrix
//! functions to a few vectors ([`SymSpectral`]), and vector kernels on slices.

mod eig;
mod tridiag;
mod vector;

pub(crate) use eig::SymEig;
pub(crate) use tridiag::SymSpectral;
pub(crate) use vector::{axpy, dot};

//! Building kernels from kernels: sums and products (Rasmussen & Williams 2006, §4.2.4),
//! a positive scale, and restriction to a subset of input dimensions.
//!
//! Parameters: a sum lists its terms' parameters prefixed `k0.` and `k1.`; a product its
//! own `variance` (see [`Product`]) and its factors' prefixed `k0.`, `k1.`; a scale its
//! `scale` and the inner kernel's prefixed `k0.`; active dimensions add nothing.
//!
//! Pullbacks: for `K = K_A + K_B` both receive `K̄`; for `K = σ² K_A ∘ K_B` (element-wise),
//! `∂/∂σ² = Σ K̄ ∘ K_A ∘ K_B`, `K̄_A = σ² K̄ ∘ K_B` and `K̄_B = σ² K̄ ∘ K_A`; for
//! `K = c K_A`, `∂/∂c = Σ K̄ ∘ K_A` and `K̄_A = c K̄`.

mod active_dims;
mod product;
mod scaled;
mod sum;

pub use active_dims::ActiveDims;
pub use product::Product;
pub use scaled::Scaled;
pub use sum::Sum;

use super::Kernel;
use crate::error::{Error, Result};
use crate::gp::Inputs;

/// Shape of `K(X, Y)`.
fn shape(x: &Inputs, y: Option<&Inputs>) -> (usize, usize) {
    (x.n(), y.map_or(x.n(), |y| y.n()))
}

/// Applies `f(i, j)` to every entry that a `matrix_into` writes.
fn for_entries(n: usize, m: usize, sym: bool, mut f: impl FnMut(usize, usize)) {
    for j in 0..m {
        for i in (if sym { j } else { 0 })..n {
            f(i, j);
        }
    }
}

/// Combinators available on every kernel.
pub trait KernelExt: Kernel + Sized {
    /// `self + other` (parameters `k0.…` then `k1.…`).
    fn plus<B: Kernel>(self, other: B) -> Sum<Self, B> {
        Sum { a: self, b: other }
    }
    /// `σ² · self · other` with one variance for the product (see [`Product`]).
    fn times<B: Kernel>(self, other: B) -> Product<Self, B> {
        Product::new(self, other)
    }
    /// `scale · self` with a learnable positive `scale` (the parameter `scale`, then the
    /// kernel's prefixed `k0.`).
    fn scaled(self) -> Scaled<Self> {
        Scaled::new(self)
    }
    /// `self` on the input dimensions `dims` (in that order).
    fn on_dims(self, dims: &[usize]) -> Result<ActiveDims<Self>> {
        if dims.is_empty() {
            return Err(Error::invalid_option(
                "on_dims",
                "dims",
                "[]",
                "at least one active dimension",
            ));
        }
        self.check_dim(dims.len())?;
        Ok(ActiveDims::new(dims.to_vec(), self))
    }
}

impl<K: Kernel> KernelExt for K {}

//! [`ActiveDims`]: a kernel on some of the input dimensions.

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use crate::ad::Real;
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::{Kernel, KernelAdjoints};
use crate::param::ParamLayout;

/// `K` applied to the input dimensions `dims` only. Parameters: `K`'s (no prefix).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActiveDims<K> {
    dims: Vec<usize>,
    /// The kernel on the selected dimensions.
    pub inner: K,
}

impl<K: Kernel> ActiveDims<K> {
    pub(super) fn new(dims: Vec<usize>, inner: K) -> Self {
        Self { dims, inner }
    }
    /// The active dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }
    /// Adds a sub-input adjoint (point-major, `|dims|` per point) into the full one.
    fn scatter(&self, n: usize, d: usize, sub: &[f64], full: &mut [f64]) {
        let q = self.dims.len();
        for i in 0..n {
            for (c, &k) in self.dims.iter().enumerate() {
                full[i * d + k] += sub[i * q + c];
            }
        }
    }
    fn sub(&self, x: &Inputs) -> Inputs {
        // Dimensions were checked by `check_dim` before any matrix is built.
        x.select_dims(&self.dims)
            .unwrap_or_else(|_| Inputs::new(x.n(), 0, Vec::new()).expect("empty inputs are valid"))
    }
}

impl<K: Kernel> Kernel for ActiveDims<K> {
    fn layout(&self) -> Result<ParamLayout> {
        self.inner.layout()
    }
    fn n_params(&self) -> usize {
        self.inner.n_params()
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        if let Some(&k) = self.dims.iter().find(|&&k| k >= d) {
            return Err(Error::ShapeMismatch {
                op: "active_dims",
                arg: "inputs",
                expected: format!("at least {} dimensions (active dimension {k})", k + 1),
                found: format!("{d} dimensions"),
            });
        }
        self.inner.check_dim(self.dims.len())
    }
    fn drop_variance(&mut self) -> bool {
        self.inner.drop_variance()
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let xs: Vec<R> = self.dims.iter().map(|&k| x[k]).collect();
        let ys: Vec<R> = self.dims.iter().map(|&k| y[k]).collect();
        self.inner.eval(theta, &xs, &ys)
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, out: MatMut<'_, f64>) {
        let xs = self.sub(x);
        let ys = y.map(|y| self.sub(y));
        self.inner.matrix_into(theta, &xs, ys.as_ref(), out);
    }
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        let q = self.dims.len();
        let xs = self.sub(x);
        let ys = y.map(|y| self.sub(y));
        let mut sdx = adj.x.as_ref().map(|_| vec![0.0; x.n() * q]);
        let mut sdy = match (y, adj.y.as_ref()) {
            (Some(y), Some(_)) => Some(vec![0.0; y.n() * q]),
            _ => None,
        };
        self.inner.matrix_pullback(
            theta,
            &xs,
            ys.as_ref(),
            kbar,
            KernelAdjoints::new(adj.theta, sdx.as_deref_mut(), sdy.as_deref_mut()),
        );
        if let (Some(full), Some(sub)) = (adj.x, sdx) {
            self.scatter(x.n(), x.d(), &sub, full);
        }
        if let (Some(full), Some(sub), Some(y)) = (adj.y, sdy, y) {
            self.scatter(y.n(), y.d(), &sub, full);
        }
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        self.inner.diag_into(theta, &self.sub(x), out);
    }
    fn diag_pullback(&self, theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        let q = self.dims.len();
        let mut sdx = adj.x.as_ref().map(|_| vec![0.0; x.n() * q]);
        self.inner.diag_pullback(
            theta,
            &self.sub(x),
            dbar,
            KernelAdjoints::new(adj.theta, sdx.as_deref_mut(), None),
        );
        if let (Some(full), Some(sub)) = (adj.x, sdx) {
            self.scatter(x.n(), x.d(), &sub, full);
        }
    }
}

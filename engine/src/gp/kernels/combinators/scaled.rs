//! [`Scaled`]: `c K` with a learnable `c > 0`.

use faer::{Mat, MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{for_entries, shape};
use crate::ad::Real;
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::kernels::{Kernel, KernelAdjoints};
use crate::param::{Param, ParamLayout};

/// `c K` with `c > 0`. Parameters: `scale`, then `K`'s prefixed `k0.`. (For a kernel with
/// its own variance the scale is redundant with it: use it on kernels without one, such
/// as sums.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaled<K> {
    scale: bool,
    /// The scaled kernel.
    pub inner: K,
}

impl<K: Kernel> Scaled<K> {
    /// `c · inner` with the parameter `scale`.
    pub fn new(inner: K) -> Self {
        Self { scale: true, inner }
    }
    fn split<'a>(&self, theta: &'a [f64]) -> (f64, &'a [f64]) {
        if self.scale {
            (theta[0], &theta[1..])
        } else {
            (1.0, theta)
        }
    }
}

impl<K: Kernel> Kernel for Scaled<K> {
    fn layout(&self) -> Result<ParamLayout> {
        let mut l = ParamLayout::default();
        if self.scale {
            l.push(Param::positive("scale", 1.0))?;
        }
        l.extend_prefixed("k0", &self.inner.layout()?)?;
        Ok(l)
    }
    fn n_params(&self) -> usize {
        usize::from(self.scale) + self.inner.n_params()
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        self.inner.check_dim(d)
    }
    /// Drops the scale, and the inner kernel's variance where it has one.
    fn drop_variance(&mut self) -> bool {
        self.scale = false;
        self.inner.drop_variance()
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        if self.scale {
            theta[0] * self.inner.eval(&theta[1..], x, y)
        } else {
            self.inner.eval(theta, x, y)
        }
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let (c, ti) = self.split(theta);
        let (n, m) = shape(x, y);
        self.inner.matrix_into(ti, x, y, out.as_mut());
        if self.scale {
            for_entries(n, m, y.is_none(), |i, j| out[(i, j)] *= c);
        }
    }
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        if !self.scale {
            return self.inner.matrix_pullback(theta, x, y, kbar, adj);
        }
        let (c, ti) = self.split(theta);
        let (n, m) = shape(x, y);
        let mut k = Mat::<f64>::zeros(n, m);
        self.inner.matrix_into(ti, x, y, k.as_mut());
        let mut acc = 0.0;
        let mut scaled = Mat::<f64>::zeros(n, m);
        for_entries(n, m, y.is_none(), |i, j| {
            acc += kbar[(i, j)] * k[(i, j)];
            scaled[(i, j)] = c * kbar[(i, j)];
        });
        let KernelAdjoints {
            theta: dtheta,
            x: dx,
            y: dy,
        } = adj;
        let (d0, rest) = dtheta.split_at_mut(1);
        d0[0] += acc;
        self.inner
            .matrix_pullback(ti, x, y, scaled.as_ref(), KernelAdjoints::new(rest, dx, dy));
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let (c, ti) = self.split(theta);
        self.inner.diag_into(ti, x, out);
        if self.scale {
            out.iter_mut().for_each(|o| *o *= c);
        }
    }
    fn diag_pullback(&self, theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        if !self.scale {
            return self.inner.diag_pullback(theta, x, dbar, adj);
        }
        let (c, ti) = self.split(theta);
        let mut k = vec![0.0; x.n()];
        self.inner.diag_into(ti, x, &mut k);
        let KernelAdjoints {
            theta: dtheta,
            x: dx,
            ..
        } = adj;
        let (d0, rest) = dtheta.split_at_mut(1);
        d0[0] += dbar.iter().zip(&k).map(|(w, k)| w * k).sum::<f64>();
        let scaled: Vec<f64> = dbar.iter().map(|w| c * w).collect();
        self.inner
            .diag_pullback(ti, x, &scaled, KernelAdjoints::new(rest, dx, None));
    }
}

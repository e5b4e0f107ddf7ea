//! Building kernels from kernels: sums and products (Rasmussen & Williams 2006, §4.2.4),
//! a positive scale, and restriction to a subset of input dimensions.
//!
//! Pullbacks: for `K = K_A + K_B` both receive `K̄`; for `K = K_A ∘ K_B` (element-wise),
//! `K̄_A = K̄ ∘ K_B` and `K̄_B = K̄ ∘ K_A`; for `K = c K_A`, `∂/∂log c = Σ K̄ ∘ K` and
//! `K̄_A = c K̄`.

use faer::{Mat, MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{Kernel, check_theta, positive_log};
use crate::ad::Real;
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

/// `A + B`. Parameters: those of `A`, then those of `B`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sum<A, B> {
    /// First term.
    pub a: A,
    /// Second term.
    pub b: B,
}

/// `A ∘ B` (the product of the covariance functions). Parameters: `A`'s, then `B`'s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product<A, B> {
    /// First factor.
    pub a: A,
    /// Second factor.
    pub b: B,
}

/// `c K` with `c > 0`. Parameters: `log c`, then `K`'s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaled<K> {
    log_scale: f64,
    /// The scaled kernel.
    pub inner: K,
}

/// `K` applied to the input dimensions `dims` only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActiveDims<K> {
    dims: Vec<usize>,
    /// The kernel on the selected dimensions.
    pub inner: K,
}

/// Combinators available on every kernel.
pub trait KernelExt: Kernel + Sized {
    /// `self + other`.
    fn plus<B: Kernel>(self, other: B) -> Sum<Self, B> {
        Sum { a: self, b: other }
    }
    /// `self · other`.
    fn times<B: Kernel>(self, other: B) -> Product<Self, B> {
        Product { a: self, b: other }
    }
    /// `scale · self` with a learnable positive `scale`.
    fn scaled(self, scale: f64) -> Result<Scaled<Self>> {
        Ok(Scaled {
            log_scale: positive_log("scaled", "scale", scale)?,
            inner: self,
        })
    }
    /// `self` on the input dimensions `dims` (in that order).
    fn on_dims(self, dims: &[usize]) -> Result<ActiveDims<Self>> {
        if dims.is_empty() {
            return Err(Error::InvalidArgument {
                op: "on_dims",
                message: "need at least one active dimension".into(),
            });
        }
        self.check_dim(dims.len())?;
        Ok(ActiveDims {
            dims: dims.to_vec(),
            inner: self,
        })
    }
}

impl<K: Kernel> KernelExt for K {}

impl<A: Kernel, B: Kernel> Kernel for Sum<A, B> {
    fn n_params(&self) -> usize {
        self.a.n_params() + self.b.n_params()
    }
    fn param_names(&self) -> Vec<String> {
        let mut n: Vec<String> = self
            .a
            .param_names()
            .into_iter()
            .map(|s| format!("a.{s}"))
            .collect();
        n.extend(self.b.param_names().into_iter().map(|s| format!("b.{s}")));
        n
    }
    fn params(&self) -> Vec<f64> {
        let mut p = self.a.params();
        p.extend(self.b.params());
        p
    }
    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        check_theta("sum", theta, self.n_params())?;
        let pa = self.a.n_params();
        self.a.set_params(&theta[..pa])?;
        self.b.set_params(&theta[pa..])
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        self.a.check_dim(d)?;
        self.b.check_dim(d)
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let pa = self.a.n_params();
        self.a.eval(&theta[..pa], x, y) + self.b.eval(&theta[pa..], x, y)
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let pa = self.a.n_params();
        let (n, m) = shape(x, y);
        self.a.matrix_into(&theta[..pa], x, y, out.as_mut());
        let mut tmp = Mat::<f64>::zeros(n, m);
        self.b.matrix_into(&theta[pa..], x, y, tmp.as_mut());
        for_entries(n, m, y.is_none(), |i, j| out[(i, j)] += tmp[(i, j)]);
    }
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        dtheta: &mut [f64],
        mut dx: Option<&mut [f64]>,
        mut dy: Option<&mut [f64]>,
    ) {
        let pa = self.a.n_params();
        let (ta, tb) = theta.split_at(pa);
        let (da, db) = dtheta.split_at_mut(pa);
        self.a
            .matrix_pullback(ta, x, y, kbar, da, dx.as_deref_mut(), dy.as_deref_mut());
        self.b.matrix_pullback(tb, x, y, kbar, db, dx, dy);
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let pa = self.a.n_params();
        self.a.diag_into(&theta[..pa], x, out);
        let mut tmp = vec![0.0; x.n()];
        self.b.diag_into(&theta[pa..], x, &mut tmp);
        out.iter_mut().zip(&tmp).for_each(|(o, t)| *o += t);
    }
    fn diag_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        dbar: &[f64],
        dtheta: &mut [f64],
        mut dx: Option<&mut [f64]>,
    ) {
        let pa = self.a.n_params();
        let (da, db) = dtheta.split_at_mut(pa);
        self.a
            .diag_pullback(&theta[..pa], x, dbar, da, dx.as_deref_mut());
        self.b.diag_pullback(&theta[pa..], x, dbar, db, dx);
    }
}

impl<A: Kernel, B: Kernel> Kernel for Product<A, B> {
    fn n_params(&self) -> usize {
        self.a.n_params() + self.b.n_params()
    }
    fn param_names(&self) -> Vec<String> {
        let mut n: Vec<String> = self
            .a
            .param_names()
            .into_iter()
            .map(|s| format!("a.{s}"))
            .collect();
        n.extend(self.b.param_names().into_iter().map(|s| format!("b.{s}")));
        n
    }
    fn params(&self) -> Vec<f64> {
        let mut p = self.a.params();
        p.extend(self.b.params());
        p
    }
    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        check_theta("product", theta, self.n_params())?;
        let pa = self.a.n_params();
        self.a.set_params(&theta[..pa])?;
        self.b.set_params(&theta[pa..])
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        self.a.check_dim(d)?;
        self.b.check_dim(d)
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let pa = self.a.n_params();
        self.a.eval(&theta[..pa], x, y) * self.b.eval(&theta[pa..], x, y)
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let pa = self.a.n_params();
        let (n, m) = shape(x, y);
        self.a.matrix_into(&theta[..pa], x, y, out.as_mut());
        let mut tmp = Mat::<f64>::zeros(n, m);
        self.b.matrix_into(&theta[pa..], x, y, tmp.as_mut());
        for_entries(n, m, y.is_none(), |i, j| out[(i, j)] *= tmp[(i, j)]);
    }
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        dtheta: &mut [f64],
        mut dx: Option<&mut [f64]>,
        mut dy: Option<&mut [f64]>,
    ) {
        let pa = self.a.n_params();
        let (ta, tb) = theta.split_at(pa);
        let (da, db) = dtheta.split_at_mut(pa);
        let (n, m) = shape(x, y);
        let sym = y.is_none();
        let mut ka = Mat::<f64>::zeros(n, m);
        let mut kb = Mat::<f64>::zeros(n, m);
        self.a.matrix_into(ta, x, y, ka.as_mut());
        self.b.matrix_into(tb, x, y, kb.as_mut());
        // K̄_A = K̄ ∘ K_B (into kb), K̄_B = K̄ ∘ K_A (into ka).
        for_entries(n, m, sym, |i, j| {
            kb[(i, j)] *= kbar[(i, j)];
            ka[(i, j)] *= kbar[(i, j)];
        });
        self.a.matrix_pullback(
            ta,
            x,
            y,
            kb.as_ref(),
            da,
            dx.as_deref_mut(),
            dy.as_deref_mut(),
        );
        self.b.matrix_pullback(tb, x, y, ka.as_ref(), db, dx, dy);
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let pa = self.a.n_params();
        self.a.diag_into(&theta[..pa], x, out);
        let mut tmp = vec![0.0; x.n()];
        self.b.diag_into(&theta[pa..], x, &mut tmp);
        out.iter_mut().zip(&tmp).for_each(|(o, t)| *o *= t);
    }
    fn diag_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        dbar: &[f64],
        dtheta: &mut [f64],
        mut dx: Option<&mut [f64]>,
    ) {
        let pa = self.a.n_params();
        let (ta, tb) = theta.split_at(pa);
        let (da, db) = dtheta.split_at_mut(pa);
        let mut ka = vec![0.0; x.n()];
        let mut kb = vec![0.0; x.n()];
        self.a.diag_into(ta, x, &mut ka);
        self.b.diag_into(tb, x, &mut kb);
        let wa: Vec<f64> = dbar.iter().zip(&kb).map(|(w, k)| w * k).collect();
        let wb: Vec<f64> = dbar.iter().zip(&ka).map(|(w, k)| w * k).collect();
        self.a.diag_pullback(ta, x, &wa, da, dx.as_deref_mut());
        self.b.diag_pullback(tb, x, &wb, db, dx);
    }
}

impl<K: Kernel> Scaled<K> {
    /// The scale `c`.
    pub fn scale(&self) -> f64 {
        self.log_scale.exp()
    }
}

impl<K: Kernel> Kernel for Scaled<K> {
    fn n_params(&self) -> usize {
        1 + self.inner.n_params()
    }
    fn param_names(&self) -> Vec<String> {
        let mut n = vec!["log_scale".to_string()];
        n.extend(
            self.inner
                .param_names()
                .into_iter()
                .map(|s| format!("inner.{s}")),
        );
        n
    }
    fn params(&self) -> Vec<f64> {
        let mut p = vec![self.log_scale];
        p.extend(self.inner.params());
        p
    }
    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        check_theta("scaled", theta, self.n_params())?;
        self.inner.set_params(&theta[1..])?;
        self.log_scale = theta[0];
        Ok(())
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        self.inner.check_dim(d)
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        theta[0].exp() * self.inner.eval(&theta[1..], x, y)
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let c = theta[0].exp();
        let (n, m) = shape(x, y);
        self.inner.matrix_into(&theta[1..], x, y, out.as_mut());
        for_entries(n, m, y.is_none(), |i, j| out[(i, j)] *= c);
    }
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
        dy: Option<&mut [f64]>,
    ) {
        let c = theta[0].exp();
        let (n, m) = shape(x, y);
        let mut k = Mat::<f64>::zeros(n, m);
        self.inner.matrix_into(&theta[1..], x, y, k.as_mut());
        let mut acc = 0.0;
        let mut scaled = Mat::<f64>::zeros(n, m);
        for_entries(n, m, y.is_none(), |i, j| {
            acc += kbar[(i, j)] * k[(i, j)];
            scaled[(i, j)] = c * kbar[(i, j)];
        });
        let (d0, rest) = dtheta.split_at_mut(1);
        d0[0] += c * acc;
        self.inner
            .matrix_pullback(&theta[1..], x, y, scaled.as_ref(), rest, dx, dy);
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let c = theta[0].exp();
        self.inner.diag_into(&theta[1..], x, out);
        out.iter_mut().for_each(|o| *o *= c);
    }
    fn diag_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        dbar: &[f64],
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
    ) {
        let c = theta[0].exp();
        let mut k = vec![0.0; x.n()];
        self.inner.diag_into(&theta[1..], x, &mut k);
        let (d0, rest) = dtheta.split_at_mut(1);
        d0[0] += c * dbar.iter().zip(&k).map(|(w, k)| w * k).sum::<f64>();
        let scaled: Vec<f64> = dbar.iter().map(|w| c * w).collect();
        self.inner.diag_pullback(&theta[1..], x, &scaled, rest, dx);
    }
}

impl<K: Kernel> ActiveDims<K> {
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
    fn n_params(&self) -> usize {
        self.inner.n_params()
    }
    fn param_names(&self) -> Vec<String> {
        self.inner.param_names()
    }
    fn params(&self) -> Vec<f64> {
        self.inner.params()
    }
    fn set_params(&mut self, theta: &[f64]) -> Result<()> {
        self.inner.set_params(theta)
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
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
        dy: Option<&mut [f64]>,
    ) {
        let q = self.dims.len();
        let xs = self.sub(x);
        let ys = y.map(|y| self.sub(y));
        let mut sdx = dx.as_ref().map(|_| vec![0.0; x.n() * q]);
        let mut sdy = match (y, dy.as_ref()) {
            (Some(y), Some(_)) => Some(vec![0.0; y.n() * q]),
            _ => None,
        };
        self.inner.matrix_pullback(
            theta,
            &xs,
            ys.as_ref(),
            kbar,
            dtheta,
            sdx.as_deref_mut(),
            sdy.as_deref_mut(),
        );
        if let (Some(full), Some(sub)) = (dx, sdx) {
            self.scatter(x.n(), x.d(), &sub, full);
        }
        if let (Some(full), Some(sub), Some(y)) = (dy, sdy, y) {
            self.scatter(y.n(), y.d(), &sub, full);
        }
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        self.inner.diag_into(theta, &self.sub(x), out);
    }
    fn diag_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        dbar: &[f64],
        dtheta: &mut [f64],
        dx: Option<&mut [f64]>,
    ) {
        let q = self.dims.len();
        let mut sdx = dx.as_ref().map(|_| vec![0.0; x.n() * q]);
        self.inner
            .diag_pullback(theta, &self.sub(x), dbar, dtheta, sdx.as_deref_mut());
        if let (Some(full), Some(sub)) = (dx, sdx) {
            self.scatter(x.n(), x.d(), &sub, full);
        }
    }
}

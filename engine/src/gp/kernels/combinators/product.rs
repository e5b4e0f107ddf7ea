//! [`Product`]: `σ² K_A ∘ K_B` with one variance.

use faer::{Mat, MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{for_entries, shape};
use crate::ad::Real;
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::kernels::{Kernel, KernelAdjoints};
use crate::param::{Param, ParamLayout};

/// `σ² A ∘ B`: the product of the covariance functions with one variance.
///
/// The factors are made unit-variance shapes ([`Kernel::drop_variance`]) when built with
/// [`Product::new`] (or [`KernelExt::times`](super::KernelExt::times)), and the product
/// owns the only variance: parameters `variance`, then `A`'s prefixed `k0.`, then `B`'s
/// prefixed `k1.`. If a factor has no separable variance (an ARD linear kernel, a sum),
/// it keeps its own scale and the product has no `variance` (one amplitude either way;
/// two factors without a separable variance keep one each, and their product is then
/// identifiable only up to a common factor).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product<A, B> {
    /// First factor.
    pub a: A,
    /// Second factor.
    pub b: B,
    variance: bool,
}

impl<A: Kernel, B: Kernel> Product<A, B> {
    /// `σ² a ∘ b` (see the type docs).
    pub fn new(mut a: A, mut b: B) -> Self {
        let unit_a = a.drop_variance();
        let unit_b = b.drop_variance();
        Self {
            a,
            b,
            variance: unit_a && unit_b,
        }
    }

    /// Whether the product carries its own `variance` (both factors are unit-variance
    /// shapes).
    pub fn has_variance(&self) -> bool {
        self.variance
    }

    /// `(σ², θ_A, θ_B)`.
    fn split<'a>(&self, theta: &'a [f64]) -> (f64, &'a [f64], &'a [f64]) {
        let v = usize::from(self.variance);
        let pa = self.a.n_params();
        let var = if self.variance { theta[0] } else { 1.0 };
        (var, &theta[v..v + pa], &theta[v + pa..])
    }
}

impl<A: Kernel, B: Kernel> Kernel for Product<A, B> {
    fn layout(&self) -> Result<ParamLayout> {
        let mut l = ParamLayout::default();
        if self.variance {
            l.push(Param::positive("variance", 1.0))?;
        }
        l.extend_prefixed("k0", &self.a.layout()?)?;
        l.extend_prefixed("k1", &self.b.layout()?)?;
        Ok(l)
    }
    fn n_params(&self) -> usize {
        usize::from(self.variance) + self.a.n_params() + self.b.n_params()
    }
    fn check_dim(&self, d: usize) -> Result<()> {
        self.a.check_dim(d)?;
        self.b.check_dim(d)
    }
    fn drop_variance(&mut self) -> bool {
        // Without a variance of its own, a factor carries the amplitude.
        let had = self.variance;
        self.variance = false;
        had
    }
    fn eval<R: Real>(&self, theta: &[R], x: &[R], y: &[R]) -> R {
        let v = usize::from(self.variance);
        let pa = self.a.n_params();
        let k = self.a.eval(&theta[v..v + pa], x, y) * self.b.eval(&theta[v + pa..], x, y);
        if self.variance { theta[0] * k } else { k }
    }
    fn matrix_into(&self, theta: &[f64], x: &Inputs, y: Option<&Inputs>, mut out: MatMut<'_, f64>) {
        let (var, ta, tb) = self.split(theta);
        let (n, m) = shape(x, y);
        self.a.matrix_into(ta, x, y, out.as_mut());
        let mut tmp = Mat::<f64>::zeros(n, m);
        self.b.matrix_into(tb, x, y, tmp.as_mut());
        for_entries(n, m, y.is_none(), |i, j| {
            out[(i, j)] = var * (out[(i, j)] * tmp[(i, j)]);
        });
    }
    fn matrix_pullback(
        &self,
        theta: &[f64],
        x: &Inputs,
        y: Option<&Inputs>,
        kbar: MatRef<'_, f64>,
        adj: KernelAdjoints<'_>,
    ) {
        let (var, ta, tb) = self.split(theta);
        let v = usize::from(self.variance);
        let pa = self.a.n_params();
        let KernelAdjoints {
            theta: dtheta,
            x: mut dx,
            y: mut dy,
        } = adj;
        let (dvar, rest) = dtheta.split_at_mut(v);
        let (da, db) = rest.split_at_mut(pa);
        let (n, m) = shape(x, y);
        let sym = y.is_none();
        let mut ka = Mat::<f64>::zeros(n, m);
        let mut kb = Mat::<f64>::zeros(n, m);
        self.a.matrix_into(ta, x, y, ka.as_mut());
        self.b.matrix_into(tb, x, y, kb.as_mut());
        // ∂/∂σ² = Σ K̄ ∘ K_A ∘ K_B; K̄_A = σ² K̄ ∘ K_B (into kb), K̄_B = σ² K̄ ∘ K_A (into ka).
        let mut acc = 0.0;
        for_entries(n, m, sym, |i, j| {
            let w = kbar[(i, j)];
            acc += w * ka[(i, j)] * kb[(i, j)];
            kb[(i, j)] *= var * w;
            ka[(i, j)] *= var * w;
        });
        if let Some(dv) = dvar.first_mut() {
            *dv += acc;
        }
        let adj_a = KernelAdjoints::new(da, dx.as_deref_mut(), dy.as_deref_mut());
        self.a.matrix_pullback(ta, x, y, kb.as_ref(), adj_a);
        self.b
            .matrix_pullback(tb, x, y, ka.as_ref(), KernelAdjoints::new(db, dx, dy));
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let (var, ta, tb) = self.split(theta);
        self.a.diag_into(ta, x, out);
        let mut tmp = vec![0.0; x.n()];
        self.b.diag_into(tb, x, &mut tmp);
        out.iter_mut()
            .zip(&tmp)
            .for_each(|(o, t)| *o = var * (*o * t));
    }
    fn diag_pullback(&self, theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        let (var, ta, tb) = self.split(theta);
        let v = usize::from(self.variance);
        let pa = self.a.n_params();
        let KernelAdjoints {
            theta: dtheta,
            x: mut dx,
            ..
        } = adj;
        let (dvar, rest) = dtheta.split_at_mut(v);
        let (da, db) = rest.split_at_mut(pa);
        let mut ka = vec![0.0; x.n()];
        let mut kb = vec![0.0; x.n()];
        self.a.diag_into(ta, x, &mut ka);
        self.b.diag_into(tb, x, &mut kb);
        if let Some(dv) = dvar.first_mut() {
            *dv += dbar
                .iter()
                .zip(&ka)
                .zip(&kb)
                .map(|((w, a), b)| w * a * b)
                .sum::<f64>();
        }
        let wa: Vec<f64> = dbar.iter().zip(&kb).map(|(w, k)| var * w * k).collect();
        let wb: Vec<f64> = dbar.iter().zip(&ka).map(|(w, k)| var * w * k).collect();
        self.a
            .diag_pullback(ta, x, &wa, KernelAdjoints::new(da, dx.as_deref_mut(), None));
        self.b
            .diag_pullback(tb, x, &wb, KernelAdjoints::new(db, dx, None));
    }
}

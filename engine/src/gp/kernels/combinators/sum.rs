//! [`Sum`]: `K_A + K_B`.

use faer::{Mat, MatMut, MatRef};
use serde::{Deserialize, Serialize};

use super::{for_entries, shape};
use crate::ad::Real;
use crate::error::Result;
use crate::gp::Inputs;
use crate::gp::kernels::{Kernel, KernelAdjoints};
use crate::param::ParamLayout;

/// `A + B`. Parameters: those of `A` prefixed `k0.`, then those of `B` prefixed `k1.`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sum<A, B> {
    /// First term.
    pub a: A,
    /// Second term.
    pub b: B,
}

impl<A: Kernel, B: Kernel> Kernel for Sum<A, B> {
    fn layout(&self) -> Result<ParamLayout> {
        let mut l = ParamLayout::default();
        l.extend_prefixed("k0", &self.a.layout()?)?;
        l.extend_prefixed("k1", &self.b.layout()?)?;
        Ok(l)
    }
    fn n_params(&self) -> usize {
        self.a.n_params() + self.b.n_params()
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
        adj: KernelAdjoints<'_>,
    ) {
        let pa = self.a.n_params();
        let (ta, tb) = theta.split_at(pa);
        let KernelAdjoints {
            theta: dtheta,
            x: mut dx,
            y: mut dy,
        } = adj;
        let (da, db) = dtheta.split_at_mut(pa);
        let adj_a = KernelAdjoints::new(da, dx.as_deref_mut(), dy.as_deref_mut());
        self.a.matrix_pullback(ta, x, y, kbar, adj_a);
        self.b
            .matrix_pullback(tb, x, y, kbar, KernelAdjoints::new(db, dx, dy));
    }
    fn diag_into(&self, theta: &[f64], x: &Inputs, out: &mut [f64]) {
        let pa = self.a.n_params();
        self.a.diag_into(&theta[..pa], x, out);
        let mut tmp = vec![0.0; x.n()];
        self.b.diag_into(&theta[pa..], x, &mut tmp);
        out.iter_mut().zip(&tmp).for_each(|(o, t)| *o += t);
    }
    fn diag_pullback(&self, theta: &[f64], x: &Inputs, dbar: &[f64], adj: KernelAdjoints<'_>) {
        let pa = self.a.n_params();
        let KernelAdjoints {
            theta: dtheta,
            x: mut dx,
            ..
        } = adj;
        let (da, db) = dtheta.split_at_mut(pa);
        self.a.diag_pullback(
            &theta[..pa],
            x,
            dbar,
            KernelAdjoints::new(da, dx.as_deref_mut(), None),
        );
        self.b
            .diag_pullback(&theta[pa..], x, dbar, KernelAdjoints::new(db, dx, None));
    }
}

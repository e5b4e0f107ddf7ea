//! The classical fourth-order Runge–Kutta method as a [`Model`]: `substeps` RK4 steps of
//! size `dt` per model step.

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};

use super::{Model, Rhs};
use crate::da::Ensemble;

/// `substeps` RK4 steps of size `dt` of the ODE `ẋ = f(x)` per model step.
#[derive(Clone, Debug, PartialEq)]
pub struct Rk4<F> {
    /// The right-hand side.
    pub rhs: F,
    /// RK4 step size.
    pub dt: f64,
    /// RK4 steps per model step (≥ 1).
    pub substeps: usize,
}

impl<F: Rhs> Rk4<F> {
    /// Checks `dt > 0` finite and `substeps ≥ 1`.
    pub fn new(rhs: F, dt: f64, substeps: usize) -> Result<Self> {
        if !(dt.is_finite() && dt > 0.0) {
            return Err(Error::invalid_option("Rk4", "dt", dt, "finite and > 0"));
        }
        if substeps == 0 {
            return Err(Error::invalid_option("Rk4", "substeps", 0, ">= 1"));
        }
        Ok(Self { rhs, dt, substeps })
    }
}

impl<F: Rhs> Model for Rk4<F> {
    fn n_state(&self) -> usize {
        self.rhs.n_state()
    }

    fn step_time(&self) -> f64 {
        self.dt * self.substeps as f64
    }

    fn step<R: Real>(&self, x: &mut [R]) {
        let n = x.len();
        let h = self.dt;
        let (h2, h6) = (0.5 * h, h / 6.0);
        let mut k = vec![R::zero(); n];
        let mut xt = vec![R::zero(); n];
        let mut acc = vec![R::zero(); n];
        for _ in 0..self.substeps {
            self.rhs.rhs(x, &mut k);
            for i in 0..n {
                acc[i] = k[i];
                xt[i] = x[i] + k[i] * h2;
            }
            self.rhs.rhs(&xt, &mut k);
            for i in 0..n {
                acc[i] += k[i] * 2.0;
                xt[i] = x[i] + k[i] * h2;
            }
            self.rhs.rhs(&xt, &mut k);
            for i in 0..n {
                acc[i] += k[i] * 2.0;
                xt[i] = x[i] + k[i] * h;
            }
            self.rhs.rhs(&xt, &mut k);
            for i in 0..n {
                x[i] += (acc[i] + k[i]) * h6;
            }
        }
    }

    fn step_ensemble(&self, e: &mut Ensemble, work: &mut Vec<f64>) {
        let nm = e.n_members();
        let len = e.data().len();
        work.resize(3 * len, 0.0);
        let (k, rest) = work.split_at_mut(len);
        let (xt, acc) = rest.split_at_mut(len);
        let h = self.dt;
        let (h2, h6) = (0.5 * h, h / 6.0);
        let x = e.data_mut();
        for _ in 0..self.substeps {
            self.rhs.rhs_ensemble(nm, x, k);
            for (((a, t), &ki), &xi) in acc
                .iter_mut()
                .zip(xt.iter_mut())
                .zip(k.iter())
                .zip(x.iter())
            {
                *a = ki;
                *t = xi + ki * h2;
            }
            self.rhs.rhs_ensemble(nm, xt, k);
            for (((a, t), &ki), &xi) in acc
                .iter_mut()
                .zip(xt.iter_mut())
                .zip(k.iter())
                .zip(x.iter())
            {
                *a += ki * 2.0;
                *t = xi + ki * h2;
            }
            self.rhs.rhs_ensemble(nm, xt, k);
            for (((a, t), &ki), &xi) in acc
                .iter_mut()
                .zip(xt.iter_mut())
                .zip(k.iter())
                .zip(x.iter())
            {
                *a += ki * 2.0;
                *t = xi + ki * h;
            }
            self.rhs.rhs_ensemble(nm, xt, k);
            for ((xi, &a), &ki) in x.iter_mut().zip(acc.iter()).zip(k.iter()) {
                *xi += (a + ki) * h6;
            }
        }
    }
}

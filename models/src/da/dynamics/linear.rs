//! A linear map `x ← M x` as a forecast model, for checks against the Kalman filter.

use faer::Mat;
use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};

use super::Model;
use crate::da::Ensemble;

/// The linear model `x_{k+1} = M x_k`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    m: Mat<f64>,
}

impl LinearModel {
    /// A square, finite `M`.
    pub fn new(m: Mat<f64>) -> Result<Self> {
        if m.nrows() != m.ncols() || m.nrows() == 0 {
            return Err(Error::ShapeMismatch {
                op: "LinearModel",
                arg: "m",
                expected: "square, non-empty".into(),
                found: format!("{}x{}", m.nrows(), m.ncols()),
            });
        }
        if m.as_ref().is_all_finite() {
            Ok(Self { m })
        } else {
            Err(Error::invalid_option(
                "LinearModel",
                "m",
                "non-finite entries",
                "finite",
            ))
        }
    }

    /// The matrix M.
    pub fn matrix(&self) -> &Mat<f64> {
        &self.m
    }
}

impl Model for LinearModel {
    fn n_state(&self) -> usize {
        self.m.nrows()
    }

    fn step_time(&self) -> f64 {
        1.0
    }

    fn step<R: Real>(&self, x: &mut [R]) {
        let n = self.m.nrows();
        let old = x.to_vec();
        for i in 0..n {
            let mut s = R::zero();
            for j in 0..n {
                s += old[j] * self.m[(i, j)];
            }
            x[i] = s;
        }
    }

    fn step_ensemble(&self, e: &mut Ensemble, work: &mut Vec<f64>) {
        // E ← E Mᵀ (each row is a member).
        work.clear();
        work.extend_from_slice(e.data());
        let (nm, n) = (e.n_members(), e.n_state());
        let old = faer::MatRef::from_column_major_slice(work, nm, n);
        faer::linalg::matmul::matmul(
            e.as_mat_mut(),
            faer::Accum::Replace,
            old,
            self.m.transpose(),
            1.0,
            faer::Par::Seq,
        );
    }
}

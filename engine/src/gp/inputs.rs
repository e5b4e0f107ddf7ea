//! [`Inputs`]: a set of `n` input points in `ℝᵈ`, stored point by point.

use faer::{Mat, MatRef};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `n` points in `ℝᵈ`, stored point-major: point `i` is `data[i d .. (i + 1) d]` (the
/// row-major layout of an `n × d` design matrix), so a kernel reads each point as one
/// contiguous slice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    n: usize,
    d: usize,
    data: Vec<f64>,
}

impl Inputs {
    /// From point-major values (`n d` of them).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `data.len() != n d`, [`Error::NonFinite`] for a NaN or
    /// infinite coordinate (naming the point and dimension).
    pub fn new(n: usize, d: usize, data: Vec<f64>) -> Result<Self> {
        crate::error::check_len("Inputs::new", "data", data.len(), n * d)?;
        if let Some(k) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                op: "Inputs::new",
                index: k,
                value: data[k],
                context: format!("point {}, dimension {}", k / d.max(1), k % d.max(1)),
            });
        }
        Ok(Self { n, d, data })
    }

    /// From rows `[x₁, …, x_d]`.
    pub fn from_rows<const D: usize>(rows: &[[f64; D]]) -> Result<Self> {
        Self::new(rows.len(), D, rows.iter().flatten().copied().collect())
    }

    /// One-dimensional points.
    pub fn from_1d(xs: &[f64]) -> Result<Self> {
        Self::new(xs.len(), 1, xs.to_vec())
    }

    /// From an `n × d` matrix whose rows are the points.
    pub fn from_faer(m: MatRef<'_, f64>) -> Result<Self> {
        let (n, d) = (m.nrows(), m.ncols());
        let mut data = Vec::with_capacity(n * d);
        for i in 0..n {
            for k in 0..d {
                data.push(m[(i, k)]);
            }
        }
        Self::new(n, d, data)
    }

    /// From column-major `n × d` values (the layout of a [`VarMat`](crate::ad::VarMat)).
    pub fn from_col_major(n: usize, d: usize, vals: &[f64]) -> Result<Self> {
        crate::error::check_len("Inputs::from_col_major", "values", vals.len(), n * d)?;
        let mut data = vec![0.0; n * d];
        for k in 0..d {
            for i in 0..n {
                data[i * d + k] = vals[i + k * n];
            }
        }
        Self::new(n, d, data)
    }

    /// Number of points.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Dimension of each point.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Point `i` (panics if `i >= n`, like indexing).
    #[inline]
    pub fn point(&self, i: usize) -> &[f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// All coordinates, point-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Mutable coordinates, point-major (keep them finite).
    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// The points as an `n × d` matrix.
    pub fn to_faer(&self) -> Mat<f64> {
        Mat::from_fn(self.n, self.d, |i, k| self.data[i * self.d + k])
    }

    /// Column-major `n × d` values.
    pub fn to_col_major(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.n * self.d];
        for i in 0..self.n {
            for k in 0..self.d {
                out[i + k * self.n] = self.data[i * self.d + k];
            }
        }
        out
    }

    /// The points with the given indices, in that order.
    pub fn select(&self, idx: &[usize]) -> Result<Self> {
        let mut data = Vec::with_capacity(idx.len() * self.d);
        for &i in idx {
            if i >= self.n {
                return Err(Error::invalid_option(
                    "Inputs::select",
                    "idx",
                    i,
                    format!("an index below the number of points {}", self.n),
                ));
            }
            data.extend_from_slice(self.point(i));
        }
        Ok(Self {
            n: idx.len(),
            d: self.d,
            data,
        })
    }

    /// The given dimensions of every point (used by active-dimension kernels).
    pub fn select_dims(&self, dims: &[usize]) -> Result<Self> {
        if let Some(&k) = dims.iter().find(|&&k| k >= self.d) {
            return Err(Error::invalid_option(
                "Inputs::select_dims",
                "dims",
                k,
                format!("a dimension below {} (the inputs' dimension)", self.d),
            ));
        }
        let mut data = Vec::with_capacity(self.n * dims.len());
        for i in 0..self.n {
            let p = self.point(i);
            data.extend(dims.iter().map(|&k| p[k]));
        }
        Ok(Self {
            n: self.n,
            d: dims.len(),
            data,
        })
    }
}

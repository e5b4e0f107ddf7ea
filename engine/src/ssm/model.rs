//! The linear-Gaussian state-space model with time-varying matrices,
//!
//! $$ x_1 \\sim N(m_1, P_1),\\qquad
//!    y_t = H_t x_t + d_t + v_t,\\ v_t \\sim N(0, R_t),\\qquad
//!    x_{t+1} = F_t x_t + B_t u_t + c_t + w_t,\\ w_t \\sim N(0, Q_t), $$
//!
//! for t = 1, …, T (the convention of dynamax: the first state emits y₁). Each matrix is a
//! [`Seq`]: one value for all times, or one per time step (T of them; the transition at the
//! last step is used only to forecast x_{T+1}). Observations are [`Observations`]: a
//! missing component is NaN and contributes nothing.
//!
//! ```
//! use mechml_engine::ssm::{LinearGaussianSsm, Observations, Seq};
//! // A local-level model whose observation noise changes half-way.
//! let mut model = LinearGaussianSsm::time_invariant(1, 1, vec![1.0], vec![0.1], vec![1.0],
//!                                                   vec![0.5], vec![0.0], vec![1.0])?;
//! model.r = Seq::varying(1, 1, 4, vec![0.5, 0.5, 2.0, 2.0])?;
//! let data = Observations::univariate(vec![0.2, f64::NAN, 0.4, 0.1])?;
//! model.check(&data)?;
//! assert_eq!(data.n_observed(), 3);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::ad::Real;
use crate::error::{Error, Result};

/// A matrix that is either the same at every time step or given for each step, stored
/// flat (column-major, step after step).
#[derive(Clone, Debug, PartialEq)]
pub struct Seq<R> {
    rows: usize,
    cols: usize,
    varying: bool,
    data: Vec<R>,
}

impl<R: Real> Seq<R> {
    /// The same `rows x cols` matrix at every step (column-major values).
    pub fn constant(rows: usize, cols: usize, values: Vec<R>) -> Result<Self> {
        if values.len() != rows * cols {
            return Err(Error::ShapeMismatch {
                op: "Seq::constant",
                arg: "values",
                expected: format!("{rows}x{cols}"),
                found: format!("len {}", values.len()),
            });
        }
        Ok(Self {
            rows,
            cols,
            varying: false,
            data: values,
        })
    }

    /// One `rows x cols` matrix per step: `values` holds `n_steps` column-major matrices
    /// one after the other.
    pub fn varying(rows: usize, cols: usize, n_steps: usize, values: Vec<R>) -> Result<Self> {
        if values.len() != rows * cols * n_steps {
            return Err(Error::ShapeMismatch {
                op: "Seq::varying",
                arg: "values",
                expected: format!("{n_steps} x ({rows}x{cols})"),
                found: format!("len {}", values.len()),
            });
        }
        Ok(Self {
            rows,
            cols,
            varying: true,
            data: values,
        })
    }

    /// A constant zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            varying: false,
            data: vec![R::zero(); rows * cols],
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Whether the matrix changes with time.
    pub fn is_varying(&self) -> bool {
        self.varying
    }
    /// Number of stored matrices (1 if constant).
    pub fn n_stored(&self) -> usize {
        match self.data.len().checked_div(self.rows * self.cols) {
            Some(k) => k,
            None if self.varying => usize::MAX,
            None => 1,
        }
    }
    /// The matrix at step `t` (0-based).
    #[inline]
    pub fn at(&self, t: usize) -> &[R] {
        let sz = self.rows * self.cols;
        let s = if self.varying { t * sz } else { 0 };
        &self.data[s..s + sz]
    }
    /// Offset of step `t` in [`Seq::data`].
    #[inline]
    pub fn offset(&self, t: usize) -> usize {
        if self.varying {
            t * self.rows * self.cols
        } else {
            0
        }
    }
    /// All stored values.
    pub fn data(&self) -> &[R] {
        &self.data
    }
    /// Mutable stored values.
    pub fn data_mut(&mut self) -> &mut [R] {
        &mut self.data
    }
    /// A sequence of the same layout with values mapped.
    pub fn map<S: Real>(&self, f: impl Fn(R) -> S) -> Seq<S> {
        Seq {
            rows: self.rows,
            cols: self.cols,
            varying: self.varying,
            data: self.data.iter().map(|&x| f(x)).collect(),
        }
    }
    /// A sequence with the same layout and the given values.
    pub fn with_data<S: Real>(&self, data: Vec<S>) -> Result<Seq<S>> {
        if data.len() != self.data.len() {
            return Err(Error::ShapeMismatch {
                op: "Seq::with_data",
                arg: "data",
                expected: format!("len {}", self.data.len()),
                found: format!("len {}", data.len()),
            });
        }
        Ok(Seq {
            rows: self.rows,
            cols: self.cols,
            varying: self.varying,
            data,
        })
    }
    /// Zeros with the same layout (for adjoints).
    pub fn zeros_like<S: Real>(&self) -> Seq<S> {
        Seq {
            rows: self.rows,
            cols: self.cols,
            varying: self.varying,
            data: vec![S::zero(); self.data.len()],
        }
    }
}

/// Observations y_t (`T x m`, NaN = missing) and known inputs u_t (`T x k`), stored time
/// after time (`y[t * m + i]`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Observations {
    /// Number of time steps T.
    pub n_steps: usize,
    /// Observation dimension m.
    pub n_obs: usize,
    /// Input dimension k.
    pub n_inputs: usize,
    /// y, `T * m` values (NaN where missing).
    pub y: Vec<f64>,
    /// u, `T * k` values (finite).
    pub u: Vec<f64>,
}

impl Observations {
    /// Checks lengths; inputs must be finite, observations finite or NaN (infinities are
    /// rejected).
    pub fn new(
        n_steps: usize,
        n_obs: usize,
        y: Vec<f64>,
        n_inputs: usize,
        u: Vec<f64>,
    ) -> Result<Self> {
        if y.len() != n_steps * n_obs {
            return Err(Error::ShapeMismatch {
                op: "Observations",
                arg: "y",
                expected: format!("{n_steps} x {n_obs}"),
                found: format!("len {}", y.len()),
            });
        }
        if u.len() != n_steps * n_inputs {
            return Err(Error::ShapeMismatch {
                op: "Observations",
                arg: "u",
                expected: format!("{n_steps} x {n_inputs}"),
                found: format!("len {}", u.len()),
            });
        }
        if let Some(i) = y.iter().position(|v| v.is_infinite()) {
            return Err(Error::NonFinite {
                op: "Observations",
                index: i,
                value: y[i],
                context: format!(
                    "observation at step {}, component {}",
                    i / n_obs.max(1),
                    i % n_obs.max(1)
                ),
            });
        }
        if let Some(i) = u.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                op: "Observations",
                index: i,
                value: u[i],
                context: format!(
                    "input at step {}, component {} (inputs cannot be missing)",
                    i / n_inputs.max(1),
                    i % n_inputs.max(1)
                ),
            });
        }
        Ok(Self {
            n_steps,
            n_obs,
            n_inputs,
            y,
            u,
        })
    }

    /// A scalar series without inputs.
    pub fn univariate(y: Vec<f64>) -> Result<Self> {
        Self::new(y.len(), 1, y, 0, Vec::new())
    }

    /// y_t.
    #[inline]
    pub fn y_at(&self, t: usize) -> &[f64] {
        &self.y[t * self.n_obs..(t + 1) * self.n_obs]
    }
    /// u_t.
    #[inline]
    pub fn u_at(&self, t: usize) -> &[f64] {
        &self.u[t * self.n_inputs..(t + 1) * self.n_inputs]
    }
    /// Number of observed (non-NaN) scalars.
    pub fn n_observed(&self) -> usize {
        self.y.iter().filter(|v| !v.is_nan()).count()
    }
}

/// The matrices of a time-invariant model without inputs or offsets, by name
/// (column-major): the state dimension `n` is that of `m1`, the observation dimension `m`
/// that of `r`.
///
/// ```
/// use mechml_engine::ssm::TimeInvariant;
/// // Local level: x' = x + w, y = x + v.
/// let model = TimeInvariant {
///     f: vec![1.0],
///     q: vec![0.1],
///     h: vec![1.0],
///     r: vec![0.5],
///     m1: vec![0.0],
///     p1: vec![1.0],
/// }
/// .build()?;
/// assert_eq!((model.n_state(), model.n_obs()), (1, 1));
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TimeInvariant<R> {
    /// Transition F (`n x n`).
    pub f: Vec<R>,
    /// Process-noise covariance Q (`n x n`).
    pub q: Vec<R>,
    /// Observation matrix H (`m x n`).
    pub h: Vec<R>,
    /// Observation-noise covariance R (`m x m`).
    pub r: Vec<R>,
    /// Prior mean m₁ (`n`).
    pub m1: Vec<R>,
    /// Prior covariance P₁ (`n x n`).
    pub p1: Vec<R>,
}

impl<R: Real> TimeInvariant<R> {
    /// The model, with every shape checked.
    ///
    /// # Errors
    /// A matrix whose length does not fit `n = m1.len()` and `m` with `m² = r.len()`, or
    /// non-finite entries.
    pub fn build(self) -> Result<LinearGaussianSsm<R>> {
        let n = self.m1.len();
        let m = (self.r.len() as f64).sqrt().round() as usize;
        if m * m != self.r.len() {
            return Err(Error::ShapeMismatch {
                op: "TimeInvariant",
                arg: "r",
                expected: "m x m".into(),
                found: format!("len {}", self.r.len()),
            });
        }
        LinearGaussianSsm::time_invariant(n, m, self.f, self.q, self.h, self.r, self.m1, self.p1)
    }
}

/// A linear-Gaussian state-space model (see the [module docs](self)), with values of any
/// [`Real`] type.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGaussianSsm<R> {
    /// Transition F_t (`n x n`).
    pub f: Seq<R>,
    /// Input matrix B_t (`n x k`).
    pub b: Seq<R>,
    /// Transition offset c_t (`n x 1`).
    pub c: Seq<R>,
    /// Process-noise covariance Q_t (`n x n`).
    pub q: Seq<R>,
    /// Observation matrix H_t (`m x n`).
    pub h: Seq<R>,
    /// Observation offset d_t (`m x 1`).
    pub d: Seq<R>,
    /// Observation-noise covariance R_t (`m x m`).
    pub r: Seq<R>,
    /// Prior mean m₁ (`n`).
    pub m1: Vec<R>,
    /// Prior covariance P₁ (`n x n`).
    pub p1: Vec<R>,
}

impl<R: Real> LinearGaussianSsm<R> {
    /// A time-invariant model without inputs or offsets: the positional shorthand of
    /// [`TimeInvariant::build`] (`n` states, `m` observations; `f`, `q`, `h`, `r`, `m1`,
    /// `p1` as there).
    // Kept positional for the models crate, its guides and tests; new code can name the
    // matrices with `TimeInvariant`.
    #[allow(clippy::too_many_arguments)]
    pub fn time_invariant(
        n: usize,
        m: usize,
        f: Vec<R>,
        q: Vec<R>,
        h: Vec<R>,
        r: Vec<R>,
        m1: Vec<R>,
        p1: Vec<R>,
    ) -> Result<Self> {
        let model = Self {
            f: Seq::constant(n, n, f)?,
            b: Seq::zeros(n, 0),
            c: Seq::zeros(n, 1),
            q: Seq::constant(n, n, q)?,
            h: Seq::constant(m, n, h)?,
            d: Seq::zeros(m, 1),
            r: Seq::constant(m, m, r)?,
            m1,
            p1,
        };
        model.check_shapes()?;
        Ok(model)
    }

    /// State dimension n.
    pub fn n_state(&self) -> usize {
        self.f.rows()
    }
    /// Observation dimension m.
    pub fn n_obs(&self) -> usize {
        self.h.rows()
    }
    /// Input dimension k.
    pub fn n_inputs(&self) -> usize {
        self.b.cols()
    }

    /// Checks that every matrix has a consistent shape and finite entries.
    pub fn check_shapes(&self) -> Result<()> {
        let n = self.n_state();
        let m = self.n_obs();
        let k = self.n_inputs();
        let expect = |arg: &'static str, s: &Seq<R>, r: usize, c: usize| -> Result<()> {
            if s.rows() != r || s.cols() != c {
                return Err(Error::ShapeMismatch {
                    op: "LinearGaussianSsm",
                    arg,
                    expected: format!("{r}x{c}"),
                    found: format!("{}x{}", s.rows(), s.cols()),
                });
            }
            if let Some(i) = s.data().iter().position(|x| !x.value().is_finite()) {
                let sz = (r * c).max(1);
                return Err(Error::NonFinite {
                    op: "LinearGaussianSsm",
                    index: i % sz,
                    value: s.data()[i].value(),
                    context: format!("entry of `{arg}` at step {}", i / sz),
                });
            }
            Ok(())
        };
        expect("f", &self.f, n, n)?;
        expect("b", &self.b, n, k)?;
        expect("c", &self.c, n, 1)?;
        expect("q", &self.q, n, n)?;
        expect("h", &self.h, m, n)?;
        expect("d", &self.d, m, 1)?;
        expect("r", &self.r, m, m)?;
        for (arg, v, len) in [("m1", &self.m1, n), ("p1", &self.p1, n * n)] {
            if v.len() != len {
                return Err(Error::ShapeMismatch {
                    op: "LinearGaussianSsm",
                    arg,
                    expected: format!("len {len}"),
                    found: format!("len {}", v.len()),
                });
            }
            if let Some(i) = v.iter().position(|x| !x.value().is_finite()) {
                return Err(Error::NonFinite {
                    op: "LinearGaussianSsm",
                    index: i,
                    value: v[i].value(),
                    context: format!("entry of `{arg}`"),
                });
            }
        }
        Ok(())
    }

    /// Checks the model against data: shapes, and that varying matrices cover every step.
    pub fn check(&self, data: &Observations) -> Result<()> {
        self.check_shapes()?;
        if data.n_obs != self.n_obs() {
            return Err(Error::ShapeMismatch {
                op: "LinearGaussianSsm",
                arg: "observations",
                expected: format!("{} components", self.n_obs()),
                found: format!("{} components", data.n_obs),
            });
        }
        if data.n_inputs != self.n_inputs() {
            return Err(Error::ShapeMismatch {
                op: "LinearGaussianSsm",
                arg: "inputs",
                expected: format!("{} components", self.n_inputs()),
                found: format!("{} components", data.n_inputs),
            });
        }
        for (arg, s) in [
            ("f", &self.f),
            ("b", &self.b),
            ("c", &self.c),
            ("q", &self.q),
            ("h", &self.h),
            ("d", &self.d),
            ("r", &self.r),
        ] {
            if s.is_varying() && s.n_stored() < data.n_steps {
                return Err(Error::ShapeMismatch {
                    op: "LinearGaussianSsm",
                    arg,
                    expected: format!("{} time steps", data.n_steps),
                    found: format!("{} time steps", s.n_stored()),
                });
            }
        }
        Ok(())
    }

    /// The model with values converted to another scalar type.
    pub fn map<S: Real>(&self, f: impl Fn(R) -> S + Copy) -> LinearGaussianSsm<S> {
        LinearGaussianSsm {
            f: self.f.map(f),
            b: self.b.map(f),
            c: self.c.map(f),
            q: self.q.map(f),
            h: self.h.map(f),
            d: self.d.map(f),
            r: self.r.map(f),
            m1: self.m1.iter().map(|&x| f(x)).collect(),
            p1: self.p1.iter().map(|&x| f(x)).collect(),
        }
    }

    /// The values as `f64` (drops derivative information).
    pub fn values(&self) -> LinearGaussianSsm<f64> {
        self.map(|x| x.value())
    }
}

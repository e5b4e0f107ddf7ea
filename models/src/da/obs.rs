//! Observation operators and the observation model `y = h(x) + ε`, `ε ~ N(0, R)` with
//! diagonal `R`.
//!
//! Every operator observes a list of state variables (its *locations*, used by the
//! localisation of the LETKF): either directly (`h(x)_j = x_{i_j}`, a subset, every k-th
//! variable or all of them) or through a pointwise nonlinearity
//! (`h(x)_j = g(x_{i_j})`).

use faer::Mat;
use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::Ensemble;
use super::ensemble::check_len;

/// A pointwise nonlinearity `g` of a nonlinear observation operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nonlinearity {
    /// `g(x) = x²`.
    Square,
    /// `g(x) = |x|` (derivative `sign x`, 0 at 0).
    Abs,
    /// `g(x) = x³ / 10`.
    Cube,
    /// `g(x) = atan(x)`.
    Atan,
    /// `g(x) = exp(x / 4)`.
    Exp,
}

impl Nonlinearity {
    /// `g(x)`.
    pub fn apply<R: Real>(self, x: R) -> R {
        match self {
            Nonlinearity::Square => x * x,
            Nonlinearity::Abs => x.abs(),
            Nonlinearity::Cube => x * x * x * 0.1,
            Nonlinearity::Atan => x.atan(),
            Nonlinearity::Exp => (x * 0.25).exp(),
        }
    }
}

/// An observation operator on an n-dimensional state (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct ObsOperator {
    n_state: usize,
    indices: Vec<usize>,
    func: Option<Nonlinearity>,
}

impl ObsOperator {
    /// Every variable: `h(x) = x`.
    pub fn identity(n_state: usize) -> Self {
        Self {
            n_state,
            indices: (0..n_state).collect(),
            func: None,
        }
    }

    /// The variables `indices` (each `< n_state`, in any order, no repeats needed).
    pub fn subset(n_state: usize, indices: Vec<usize>) -> Result<Self> {
        if let Some((j, &i)) = indices.iter().enumerate().find(|(_, i)| **i >= n_state) {
            return Err(Error::invalid_option(
                "ObsOperator::subset",
                format!("indices[{j}]"),
                i,
                format!("< n_state = {n_state}"),
            ));
        }
        if indices.is_empty() {
            return Err(Error::invalid_option(
                "ObsOperator::subset",
                "indices",
                "[]",
                "at least one observed variable",
            ));
        }
        Ok(Self {
            n_state,
            indices,
            func: None,
        })
    }

    /// Every `k`-th variable starting at `offset`: `offset, offset + k, …`.
    pub fn every_kth(n_state: usize, k: usize, offset: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::invalid_option(
                "ObsOperator::every_kth",
                "k",
                0,
                ">= 1",
            ));
        }
        if offset >= k.min(n_state) {
            return Err(Error::invalid_option(
                "ObsOperator::every_kth",
                "offset",
                offset,
                format!("< min(k, n_state) = {}", k.min(n_state)),
            ));
        }
        Self::subset(n_state, (offset..n_state).step_by(k).collect())
    }

    /// `h(x)_j = g(x_{i_j})` on the variables `indices`.
    pub fn nonlinear(n_state: usize, indices: Vec<usize>, func: Nonlinearity) -> Result<Self> {
        let mut op = Self::subset(n_state, indices)?;
        op.func = Some(func);
        Ok(op)
    }

    /// State dimension n.
    pub fn n_state(&self) -> usize {
        self.n_state
    }
    /// Number of observations p.
    pub fn n_obs(&self) -> usize {
        self.indices.len()
    }
    /// The observed variable of each observation (its location on the model grid).
    pub fn locations(&self) -> &[usize] {
        &self.indices
    }
    /// Whether `h` is linear.
    pub fn is_linear(&self) -> bool {
        self.func.is_none()
    }
    /// The nonlinearity, if any.
    pub fn nonlinearity(&self) -> Option<Nonlinearity> {
        self.func
    }

    /// `h(x)` into `out` (length p).
    pub fn apply<R: Real>(&self, x: &[R], out: &mut [R]) {
        for (o, &i) in out.iter_mut().zip(&self.indices) {
            *o = match self.func {
                None => x[i],
                Some(g) => g.apply(x[i]),
            };
        }
    }

    /// `h(x)` as a new vector, with shape checks.
    pub fn eval(&self, x: &[f64]) -> Result<Vec<f64>> {
        check_len("ObsOperator::eval", "x", x.len(), self.n_state)?;
        let mut out = vec![0.0; self.n_obs()];
        self.apply(x, &mut out);
        Ok(out)
    }

    /// The observed ensemble `h(E)` (`N × p`, column-major like the ensemble).
    pub fn apply_ensemble(&self, e: &Ensemble) -> Result<Ensemble> {
        check_len(
            "ObsOperator::apply_ensemble",
            "ensemble state",
            e.n_state(),
            self.n_state,
        )?;
        let nm = e.n_members();
        let mut data = Vec::with_capacity(nm * self.n_obs());
        for &i in &self.indices {
            let col = e.var(i);
            match self.func {
                None => data.extend_from_slice(col),
                Some(g) => data.extend(col.iter().map(|&v| g.apply(v))),
            }
        }
        Ensemble::from_data(nm, self.n_obs(), data)
    }

    /// `H(x)ᵀ z`: the adjoint of the linearised operator at `x` applied to `z` (length p),
    /// added into `out` (length n).
    pub fn adjoint_add(&self, x: &[f64], z: &[f64], out: &mut [f64]) {
        use mechml_engine::ad::Dual;
        for (&i, &zj) in self.indices.iter().zip(z) {
            out[i] += match self.func {
                None => zj,
                Some(g) => g.apply(Dual::dual(x[i], 1.0)).d[0] * zj,
            };
        }
    }

    /// `H(x) dx`: the linearised operator at `x` applied to `dx` (length n), into `out`
    /// (length p).
    pub fn tangent(&self, x: &[f64], dx: &[f64], out: &mut [f64]) {
        use mechml_engine::ad::Dual;
        for (o, &i) in out.iter_mut().zip(&self.indices) {
            *o = match self.func {
                None => dx[i],
                Some(g) => g.apply(Dual::dual(x[i], dx[i])).d[0],
            };
        }
    }

    /// The Jacobian `H = ∂h/∂x` at `x` (`p × n`).
    pub fn jacobian(&self, x: &[f64]) -> Mat<f64> {
        use mechml_engine::ad::Dual;
        let mut h = Mat::zeros(self.n_obs(), self.n_state);
        for (j, &i) in self.indices.iter().enumerate() {
            h[(j, i)] = match self.func {
                None => 1.0,
                Some(g) => g.apply(Dual::dual(x[i], 1.0)).d[0],
            };
        }
        h
    }
}

/// The observation model: an operator and the diagonal of the noise covariance R.
#[derive(Clone, Debug, PartialEq)]
pub struct ObsModel {
    /// The operator h.
    pub operator: ObsOperator,
    /// The variances `R_jj` (length p, each finite and > 0).
    pub noise_var: Vec<f64>,
}

impl ObsModel {
    /// `h` with independent noise of standard deviation `std` on every observation.
    pub fn new(operator: ObsOperator, std: f64) -> Result<Self> {
        let p = operator.n_obs();
        Self::with_variances(operator, vec![std * std; p])
    }

    /// `h` with noise variances `noise_var`.
    pub fn with_variances(operator: ObsOperator, noise_var: Vec<f64>) -> Result<Self> {
        check_len("ObsModel", "noise_var", noise_var.len(), operator.n_obs())?;
        if let Some((j, &v)) = noise_var
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            return Err(Error::invalid_option(
                "ObsModel",
                format!("noise_var[{j}]"),
                v,
                "finite and > 0",
            ));
        }
        Ok(Self {
            operator,
            noise_var,
        })
    }

    /// Number of observations p.
    pub fn n_obs(&self) -> usize {
        self.operator.n_obs()
    }

    /// A synthetic observation `h(x) + ε` of the state `x`.
    pub fn sample<G: Rng + ?Sized>(&self, x: &[f64], rng: &mut G) -> Result<Vec<f64>> {
        let mut y = self.operator.eval(x)?;
        for (yj, v) in y.iter_mut().zip(&self.noise_var) {
            let z: f64 = StandardNormal.sample(rng);
            *yj += v.sqrt() * z;
        }
        Ok(y)
    }

    /// Checks an observation vector: length p, finite.
    pub fn check_y(&self, y: &[f64], op: &'static str) -> Result<()> {
        check_len(op, "y", y.len(), self.n_obs())?;
        if let Some((j, &v)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                op,
                index: j,
                value: v,
                context: "observation".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_select_and_transform() {
        let x: Vec<f64> = (0..10).map(|i| i as f64 - 3.0).collect();
        assert_eq!(ObsOperator::identity(10).eval(&x).unwrap(), x);
        let every = ObsOperator::every_kth(10, 3, 1).unwrap();
        assert_eq!(every.locations(), &[1, 4, 7]);
        assert_eq!(every.eval(&x).unwrap(), vec![-2.0, 1.0, 4.0]);
        let sq = ObsOperator::nonlinear(10, vec![0, 5], Nonlinearity::Square).unwrap();
        assert_eq!(sq.eval(&x).unwrap(), vec![9.0, 4.0]);
        let h = sq.jacobian(&x);
        assert_eq!((h[(0, 0)], h[(1, 5)], h[(1, 4)]), (-6.0, 4.0, 0.0));
        assert!(ObsOperator::subset(4, vec![4]).is_err());
        assert!(ObsOperator::every_kth(4, 0, 0).is_err());
        assert!(ObsModel::new(ObsOperator::identity(3), 0.0).is_err());
    }
}

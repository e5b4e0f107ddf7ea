//! Observed trajectories: times and full-state observations.

use mechml_engine::{Error, Result};

/// Observations `ys[k] ≈ y(ts[k])` of every state, at increasing times.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    ts: Vec<f64>,
    ys: Vec<Vec<f64>>,
}

impl Trajectory {
    /// A trajectory, checked: at least two times, strictly increasing and finite; one
    /// finite observation of the same length per time.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first offending index.
    pub fn new(ts: Vec<f64>, ys: Vec<Vec<f64>>) -> Result<Self> {
        let bad =
            |name: String, v: String, e: &str| Error::invalid_option("de::Trajectory", name, v, e);
        if ts.len() < 2 || ys.len() != ts.len() {
            return Err(bad(
                "(ts, ys)".into(),
                format!("({} times, {} observations)", ts.len(), ys.len()),
                "at least two times and one observation per time",
            ));
        }
        for k in 0..ts.len() {
            if !ts[k].is_finite() || (k > 0 && ts[k] <= ts[k - 1]) {
                return Err(bad(
                    format!("ts[{k}]"),
                    ts[k].to_string(),
                    "finite, strictly increasing",
                ));
            }
            if ys[k].len() != ys[0].len() || ys[k].is_empty() {
                return Err(bad(
                    format!("ys[{k}]"),
                    format!("length {}", ys[k].len()),
                    "the length of ys[0], nonzero",
                ));
            }
            if let Some(v) = ys[k].iter().find(|v| !v.is_finite()) {
                return Err(bad(format!("ys[{k}]"), v.to_string(), "finite values"));
            }
        }
        Ok(Self { ts, ys })
    }

    /// Observation times.
    pub fn ts(&self) -> &[f64] {
        &self.ts
    }

    /// Observations, one per time.
    pub fn ys(&self) -> &[Vec<f64>] {
        &self.ys
    }

    /// Number of observation times.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Always false (a trajectory has at least two times).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.ys[0].len()
    }

    /// Splits in time: the first `n_train` points for training, the rest (with the last
    /// training point as its initial state) for validation; `None` when nothing is left.
    ///
    /// # Errors
    /// `n_train` below 2 or above the length.
    pub fn split(&self, n_train: usize) -> Result<(Trajectory, Option<Trajectory>)> {
        if n_train < 2 || n_train > self.len() {
            return Err(Error::invalid_option(
                "de::Trajectory::split",
                "n_train",
                n_train.to_string(),
                format!("2..={}", self.len()),
            ));
        }
        let train = Trajectory {
            ts: self.ts[..n_train].to_vec(),
            ys: self.ys[..n_train].to_vec(),
        };
        let val = (n_train < self.len()).then(|| Trajectory {
            ts: self.ts[n_train - 1..].to_vec(),
            ys: self.ys[n_train - 1..].to_vec(),
        });
        Ok((train, val))
    }
}

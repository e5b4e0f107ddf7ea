//! Which states a solve returns: one vocabulary for ODE and SDE solves.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which states a solve returns.
///
/// ```
/// use mechml_engine::solver::SaveAt;
/// let s = SaveAt::Times(vec![0.0, 0.5, 1.0]);
/// s.validate("ode", 0.0, 1.0)?;
/// assert!(SaveAt::Times(vec![0.5, 0.2]).validate("ode", 0.0, 1.0).is_err()); // unsorted
/// assert_eq!(SaveAt::steps(), SaveAt::Every(1));
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum SaveAt {
    /// Only the state at `t1`.
    #[default]
    Final,
    /// The state at these times (sorted, inside `[t0, t1]`): by dense output between the
    /// steps where the method has one, else by stopping the steps at each time (or, for
    /// fixed steps, on the step grid).
    Times(Vec<f64>),
    /// The state at `t0`, after every `k`-th accepted step, and at `t1`.
    Every(usize),
}

impl SaveAt {
    /// After every accepted step (and at `t0`): `Every(1)`.
    pub const fn steps() -> Self {
        SaveAt::Every(1)
    }

    /// Checks the save times against the interval `[t0, t1]` (sorted, finite, inside) and
    /// `Every(k)` for `k ≥ 1`.
    pub fn validate(&self, op: &'static str, t0: f64, t1: f64) -> Result<()> {
        match self {
            SaveAt::Final => Ok(()),
            SaveAt::Every(0) => Err(Error::invalid_option(
                op,
                "save_at",
                "Every(0)",
                "Every(k) with k ≥ 1",
            )),
            SaveAt::Every(_) => Ok(()),
            SaveAt::Times(ts) => {
                let (lo, hi) = if t0 <= t1 { (t0, t1) } else { (t1, t0) };
                for (i, &t) in ts.iter().enumerate() {
                    if !(t.is_finite() && t >= lo && t <= hi) {
                        return Err(Error::invalid_option(
                            op,
                            format!("save_at[{i}]"),
                            t,
                            format!("a finite time inside [{t0}, {t1}]"),
                        ));
                    }
                    if i > 0 {
                        let prev = ts[i - 1];
                        let sorted = if t0 <= t1 { t >= prev } else { t <= prev };
                        if !sorted {
                            return Err(Error::invalid_option(
                                op,
                                format!("save_at[{i}]"),
                                t,
                                format!(
                                    "times sorted in the direction of integration (after {prev})"
                                ),
                            ));
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

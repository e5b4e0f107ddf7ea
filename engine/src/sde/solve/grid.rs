//! The uniform step grid of a fixed-step solve and its save indices.

use super::OP;
use crate::error::{Error, Result};
use crate::sde::problem::check_interval;
use crate::solver::SaveAt;

/// A uniform step grid `t_k = t0 + k h`, `t_n = t1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FixedGrid {
    pub t0: f64,
    pub t1: f64,
    pub n: usize,
}

impl FixedGrid {
    pub fn new(t0: f64, t1: f64, n: usize) -> Result<Self> {
        check_interval(OP, t0, t1)?;
        if n == 0 {
            return Err(Error::invalid_option(OP, "n_steps", 0, "≥ 1"));
        }
        Ok(Self { t0, t1, n })
    }
    #[inline]
    pub fn h(&self) -> f64 {
        (self.t1 - self.t0) / self.n as f64
    }
    #[inline]
    pub fn t(&self, k: usize) -> f64 {
        if k == self.n {
            self.t1
        } else {
            self.t0 + k as f64 * self.h()
        }
    }
    /// Step indices at which to save (sorted, unique), for `save`.
    pub fn save_indices(&self, save: &SaveAt) -> Result<Vec<usize>> {
        save.validate(OP, self.t0, self.t1)?;
        match save {
            SaveAt::Final => Ok(vec![self.n]),
            SaveAt::Every(k) => {
                let mut v: Vec<usize> = (0..=self.n).step_by(*k).collect();
                if v.last() != Some(&self.n) {
                    v.push(self.n);
                }
                Ok(v)
            }
            SaveAt::Times(ts) => {
                let h = self.h();
                let mut v = Vec::with_capacity(ts.len());
                for (i, &ts) in ts.iter().enumerate() {
                    let k = ((ts - self.t0) / h).round();
                    let ok = ts.is_finite()
                        && k >= 0.0
                        && k <= self.n as f64
                        && (self.t(k as usize) - ts).abs()
                            <= 1e-9 * h + 4.0 * f64::EPSILON * ts.abs();
                    if !ok {
                        return Err(Error::invalid_option(
                            OP,
                            format!("save_at[{i}]"),
                            ts,
                            format!(
                                "a step time t0 + k h of the fixed grid (t0 = {}, h = {h})",
                                self.t0
                            ),
                        ));
                    }
                    if v.last().is_some_and(|&l| l >= k as usize) {
                        return Err(strictly_increasing(i, ts));
                    }
                    v.push(k as usize);
                }
                Ok(v)
            }
        }
    }
}

/// The error for save time `i` (`t`) not after its predecessor.
pub(crate) fn strictly_increasing(i: usize, t: f64) -> Error {
    Error::invalid_option(
        OP,
        format!("save_at[{i}]"),
        t,
        "save times strictly increasing",
    )
}

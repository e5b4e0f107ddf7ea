//! Learning-rate schedules `η_t` for first-order optimisers (`t` = 0-based step index).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A learning-rate schedule. `t` counts steps from 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LearningRate {
    /// `η_t = lr`.
    Constant {
        /// Learning rate.
        lr: f64,
    },
    /// `η_t = lr · γᵗ`.
    Exponential {
        /// Initial learning rate.
        lr: f64,
        /// Decay per step, in (0, 1].
        gamma: f64,
    },
    /// `η_t = lr · factor^⌊t / every⌋`.
    Step {
        /// Initial learning rate.
        lr: f64,
        /// Multiplier applied every `every` steps, in (0, 1].
        factor: f64,
        /// Period in steps (≥ 1).
        every: usize,
    },
    /// `η_t = lr / (1 + decay · t)`.
    InverseTime {
        /// Initial learning rate.
        lr: f64,
        /// Decay rate (≥ 0).
        decay: f64,
    },
    /// Cosine annealing (Loshchilov & Hutter 2017, arXiv:1608.03983, eq. 5, one cycle):
    /// `η_t = lr_min + ½ (lr − lr_min)(1 + cos(π min(t, steps) / steps))`.
    Cosine {
        /// Initial learning rate.
        lr: f64,
        /// Final learning rate.
        lr_min: f64,
        /// Length of the annealing in steps (≥ 1); afterwards `lr_min`.
        steps: usize,
    },
    /// Linear warm-up from `lr/warmup` to the inner schedule over the first `warmup` steps:
    /// `η_t = inner(t) · min(1, (t + 1) / warmup)`.
    Warmup {
        /// Warm-up length in steps (≥ 1).
        warmup: usize,
        /// Schedule after (and scaled during) the warm-up.
        inner: Box<LearningRate>,
    },
}

impl Default for LearningRate {
    fn default() -> Self {
        LearningRate::Constant { lr: 1e-2 }
    }
}

impl LearningRate {
    /// The learning rate at step `t`.
    pub fn at(&self, t: usize) -> f64 {
        let tf = t as f64;
        match self {
            LearningRate::Constant { lr } => *lr,
            LearningRate::Exponential { lr, gamma } => lr * gamma.powf(tf),
            LearningRate::Step { lr, factor, every } => {
                lr * factor.powi((t / (*every).max(1)) as i32)
            }
            LearningRate::InverseTime { lr, decay } => lr / (1.0 + decay * tf),
            LearningRate::Cosine { lr, lr_min, steps } => {
                let s = (*steps).max(1) as f64;
                let r = tf.min(s) / s;
                lr_min + 0.5 * (lr - lr_min) * (1.0 + (std::f64::consts::PI * r).cos())
            }
            LearningRate::Warmup { warmup, inner } => {
                inner.at(t) * ((tf + 1.0) / (*warmup).max(1) as f64).min(1.0)
            }
        }
    }

    /// Checks the parameters (rates positive and finite, factors in (0, 1], periods ≥ 1).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the field (`inner.*` inside a warm-up).
    pub fn validate(&self) -> Result<()> {
        let op = "LearningRate";
        let bad = |name: &str, value: &dyn std::fmt::Display, expected: &str| {
            Err(Error::invalid_option(op, name, value, expected))
        };
        let pos = |name: &str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                bad(name, &v, "finite and > 0")
            }
        };
        match self {
            LearningRate::Constant { lr } => pos("lr", *lr),
            LearningRate::Exponential { lr, gamma } => {
                pos("lr", *lr)?;
                if !(*gamma > 0.0 && *gamma <= 1.0) {
                    return bad("gamma", gamma, "in (0, 1]");
                }
                Ok(())
            }
            LearningRate::Step { lr, factor, every } => {
                pos("lr", *lr)?;
                if !(*factor > 0.0 && *factor <= 1.0) {
                    return bad("factor", factor, "in (0, 1]");
                }
                if *every == 0 {
                    return bad("every", every, "≥ 1");
                }
                Ok(())
            }
            LearningRate::InverseTime { lr, decay } => {
                pos("lr", *lr)?;
                if !(decay.is_finite() && *decay >= 0.0) {
                    return bad("decay", decay, "finite and ≥ 0");
                }
                Ok(())
            }
            LearningRate::Cosine { lr, lr_min, steps } => {
                pos("lr", *lr)?;
                if !(lr_min.is_finite() && *lr_min >= 0.0 && lr_min <= lr) {
                    return bad("lr_min", lr_min, &format!("in [0, lr = {lr}]"));
                }
                if *steps == 0 {
                    return bad("steps", steps, "≥ 1");
                }
                Ok(())
            }
            LearningRate::Warmup { warmup, inner } => {
                if *warmup == 0 {
                    return bad("warmup", warmup, "≥ 1");
                }
                inner.validate().map_err(super::nested_option(op, "inner"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        let e = LearningRate::Exponential {
            lr: 0.1,
            gamma: 0.5,
        };
        assert!((e.at(3) - 0.0125).abs() < 1e-16);
        let s = LearningRate::Step {
            lr: 1.0,
            factor: 0.1,
            every: 10,
        };
        assert_eq!(s.at(9), 1.0);
        assert!((s.at(10) - 0.1).abs() < 1e-16);
        let c = LearningRate::Cosine {
            lr: 1.0,
            lr_min: 0.0,
            steps: 100,
        };
        assert!((c.at(50) - 0.5).abs() < 1e-15 && c.at(100).abs() < 1e-15 && c.at(500) == 0.0);
        let w = LearningRate::Warmup {
            warmup: 4,
            inner: Box::new(LearningRate::Constant { lr: 2.0 }),
        };
        assert_eq!((w.at(0), w.at(1), w.at(3), w.at(9)), (0.5, 1.0, 2.0, 2.0));
        let i = LearningRate::InverseTime {
            lr: 1.0,
            decay: 1.0,
        };
        assert_eq!(i.at(3), 0.25);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(LearningRate::Constant { lr: -1.0 }.validate().is_err());
        assert!(
            LearningRate::Exponential {
                lr: 1.0,
                gamma: 1.5
            }
            .validate()
            .is_err()
        );
        assert!(
            LearningRate::Cosine {
                lr: 1.0,
                lr_min: 2.0,
                steps: 3
            }
            .validate()
            .is_err()
        );
    }
}

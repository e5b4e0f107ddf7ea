//! One explicit Runge–Kutta step over any [`Real`], outside the time loop: for models
//! whose transition is a fixed number of Runge–Kutta steps written on dual numbers or on
//! the tape (hybrid state-space models, universal differential equations), and for tests
//! of a tableau.
//!
//! For a tableau `(A, b, c)` with error weights `e = b − b̂`, a step of size `h` from
//! `(t, y)` computes
//!
//! $$k_i = f\Big(t + c_i h,\; y + h \sum_{j<i} a_{ij} k_j\Big),\qquad
//!   y_{new} = y + h \sum_i b_i k_i,\qquad \mathrm{err} = h \sum_i e_i k_i$$
//!
//! (Hairer, Nørsett & Wanner 1993, II.1, eq. (1.8); II.4 for the embedded estimate).
//!
//! ```
//! use mechml_engine::ad::{Real, Tape};
//! use mechml_engine::ode::problems::Logistic;
//! use mechml_engine::ode::rk_step::{rk_step, rk_step_rhs};
//! use mechml_engine::ode::tableau::{DOPRI5, RK4};
//!
//! // y' = −y from y = 1: one RK4 step of size 0.1 against e^{−0.1} (local error h⁵/120).
//! let s = rk_step(&RK4, |_t, y: &[f64], dy: &mut [f64]| dy[0] = -y[0], 0.0, 0.1, &[1.0]);
//! assert!((s.y_new[0] - (-0.1f64).exp()).abs() < 1e-7);
//! assert!(s.error_estimate().is_none()); // RK4 has no embedded pair
//!
//! // The same step on the tape, through an `OdeRhs` with parameters: d y_new / d r.
//! let tape = Tape::new();
//! let p = tape.vars(&[1.5, 10.0]);
//! let y0 = tape.vars(&[0.5]);
//! let s = rk_step_rhs(&DOPRI5, &Logistic, &p, 0.0, 0.01, &y0);
//! let g = tape.gradient(&s.y_new[0])?;
//! // y(h) ≈ y0 + h r y0 (1 − y0/K): ∂/∂r ≈ h y0 (1 − y0/K) = 0.00475.
//! assert!((g.wrt(&p[0]) - 0.00475).abs() < 1e-4);
//! assert!(s.error_estimate().unwrap()[0].val().abs() < 1e-12);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use super::problem::OdeRhs;
use super::tableau::ButcherTableau;
use crate::ad::Real;

/// The result of [`rk_step`]: the new state and the stage derivatives (from which
/// [`RkStep::error_estimate`] forms the embedded error estimate on request).
#[derive(Clone, Debug)]
pub struct RkStep<'a, R> {
    /// `y + h Σ bᵢ kᵢ`.
    pub y_new: Vec<R>,
    /// The stage derivatives `kᵢ`.
    pub stages: Vec<Vec<R>>,
    h: f64,
    tab: &'a ButcherTableau,
}

impl<R: Real> RkStep<'_, R> {
    /// `h Σ (bᵢ − b̂ᵢ) kᵢ`, or `None` for a tableau without error weights.
    pub fn error_estimate(&self) -> Option<Vec<R>> {
        let e = self.tab.b_err?;
        let n = self.y_new.len();
        let mut err = vec![R::zero(); n];
        for (i, &ei) in e.iter().enumerate() {
            if ei != 0.0 {
                let he = self.h * ei;
                for (v, &ki) in err.iter_mut().zip(&self.stages[i]) {
                    *v += ki * he;
                }
            }
        }
        Some(err)
    }
}

/// One step of the explicit method `tab` of size `h` from `(t, y)` for `y' = f(t, y)`,
/// `f(t, y, dy)` writing the derivative into `dy`, over any [`Real`] (see the
/// [module documentation](self)). The tableau is taken as given (check it once with
/// [`ButcherTableau::validate`]); rows of `A` beyond the strictly lower triangle are
/// ignored.
pub fn rk_step<'a, R, F>(
    tab: &'a ButcherTableau,
    mut f: F,
    t: f64,
    h: f64,
    y: &[R],
) -> RkStep<'a, R>
where
    R: Real,
    F: FnMut(f64, &[R], &mut [R]),
{
    let n = y.len();
    let s = tab.stages();
    let mut k: Vec<Vec<R>> = Vec::with_capacity(s);
    let mut yi = y.to_vec();
    for i in 0..s {
        yi.copy_from_slice(y);
        for (j, &a) in tab.a[i].iter().enumerate().take(i) {
            if a != 0.0 {
                let ha = h * a;
                for (v, &kj) in yi.iter_mut().zip(&k[j]) {
                    *v += kj * ha;
                }
            }
        }
        let mut ki = vec![R::zero(); n];
        f(t + tab.c[i] * h, &yi, &mut ki);
        k.push(ki);
    }
    let mut y_new = y.to_vec();
    for (i, &b) in tab.b.iter().enumerate() {
        if b != 0.0 {
            let hb = h * b;
            for (v, &ki) in y_new.iter_mut().zip(&k[i]) {
                *v += ki * hb;
            }
        }
    }
    RkStep {
        y_new,
        stages: k,
        h,
        tab,
    }
}

/// [`rk_step`] for the right-hand side `rhs` with parameters `p`.
pub fn rk_step_rhs<'a, R: Real, F: OdeRhs>(
    tab: &'a ButcherTableau,
    rhs: &F,
    p: &[R],
    t: f64,
    h: f64,
    y: &[R],
) -> RkStep<'a, R> {
    rk_step(tab, |t, y, dy| rhs.rhs(R::from_f64(t), y, p, dy), t, h, y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ode::problems::Lorenz63;
    use crate::ode::tableau::{BOSH3, DOPRI5, TSIT5, VERN7};
    use crate::ode::{Method, OdeOptions, OdeProblem, solve};

    /// A fixed-step solve of the time loop is a sequence of these steps, bit for bit
    /// (non-FSAL and FSAL tableaus), and the error estimate is `y_new − ŷ_new`.
    #[test]
    fn matches_the_solver_step() {
        let p = [10.0, 28.0, 8.0 / 3.0];
        let y0 = [1.0, 0.5, 0.2];
        let h = 0.01;
        for tab in [&BOSH3, &DOPRI5, &TSIT5, &VERN7] {
            let prob = OdeProblem::new(Lorenz63, 0.0, 3.0 * h, y0.to_vec(), p.to_vec()).unwrap();
            let sol = solve(
                &prob,
                Method::FixedStep {
                    tableau: tab,
                    dt: h,
                },
                &OdeOptions::default(),
            )
            .unwrap();
            let mut y = y0.to_vec();
            for k in 0..3 {
                y = rk_step_rhs(tab, &Lorenz63, &p, k as f64 * h, h, &y).y_new;
            }
            for (a, b) in y.iter().zip(sol.y_final()) {
                assert!(
                    (a - b).abs() <= 4.0 * f64::EPSILON * b.abs(),
                    "{}",
                    tab.name
                );
            }
            // err = h Σ (b − b̂) k: the difference of the two solutions of the pair.
            let s = rk_step_rhs(tab, &Lorenz63, &p, 0.0, h, &y0);
            let bh: Vec<f64> = tab
                .b
                .iter()
                .zip(tab.b_err.unwrap())
                .map(|(b, e)| b - e)
                .collect();
            let hat = ButcherTableau {
                name: "embedded",
                a: tab.a,
                b: Box::leak(bh.into_boxed_slice()),
                b_err: None,
                c: tab.c,
                order: tab.embedded_order,
                embedded_order: 0,
                dense: None,
            };
            let low = rk_step_rhs(&hat, &Lorenz63, &p, 0.0, h, &y0).y_new;
            for ((e, a), b) in s.error_estimate().unwrap().iter().zip(&s.y_new).zip(&low) {
                assert!((e - (a - b)).abs() < 1e-12, "{}", tab.name);
            }
        }
    }
}

//! Forecast models for data assimilation: Lorenz-96 (one- and two-scale, any size),
//! Lorenz-63, and linear maps, advanced by the classical fourth-order Runge–Kutta method.
//!
//! Two ways to advance a model, computing the same numbers:
//! * [`Model::step`] on one state, generic over [`Real`]: on `f64` for the truth and the
//!   variational methods, on dual numbers for the tangent-linear model and on a tape for
//!   the adjoint (see [`tangent_linear`] and [`adjoint`]);
//! * [`Model::step_ensemble`] on a whole [`Ensemble`] stored members ×
//!   state, where the right-hand side of each state variable runs over the contiguous
//!   values of all members and vectorises.
//!
//! The classical RK4 step of `ẋ = f(x)` with step `h` (Kutta 1901; Hairer, Nørsett & Wanner,
//! *Solving ODEs I*, Table 1.2):
//!
//! $$ k_1 = f(x),\ k_2 = f(x + \tfrac h2 k_1),\ k_3 = f(x + \tfrac h2 k_2),\
//!    k_4 = f(x + h k_3),\quad x ← x + \tfrac h6 (k_1 + 2k_2 + 2k_3 + k_4). $$
//!
//! Both paths perform the same floating-point operations in the same order, so an
//! ensemble member and the same state advanced alone agree bitwise.

mod any;
mod linear;
mod lorenz63;
mod lorenz96;
mod rk4;
mod two_scale;

pub use any::AnyModel;
pub use linear::LinearModel;
pub use lorenz63::Lorenz63;
pub use lorenz96::Lorenz96;
pub use rk4::Rk4;
pub use two_scale::Lorenz96TwoScale;

use mechml_engine::Result;
use mechml_engine::ad::{Dual, Real, Tape};

use super::Ensemble;

/// The right-hand side `f` of an autonomous ODE `ẋ = f(x)`.
pub trait Rhs: Sync {
    /// State dimension n.
    fn n_state(&self) -> usize;

    /// `dx = f(x)` for one state.
    fn rhs<R: Real>(&self, x: &[R], dx: &mut [R]);

    /// `dx = f(x)` for every member of an ensemble of `n_members` members stored
    /// column-major `N × n` (`x[i * N + m]`). The default gathers each member and calls
    /// [`rhs`](Rhs::rhs); models override it with a loop over contiguous members.
    fn rhs_ensemble(&self, n_members: usize, x: &[f64], dx: &mut [f64]) {
        let n = self.n_state();
        let mut xm = vec![0.0; n];
        let mut dm = vec![0.0; n];
        for m in 0..n_members {
            for i in 0..n {
                xm[i] = x[i * n_members + m];
            }
            self.rhs(&xm, &mut dm);
            for i in 0..n {
                dx[i * n_members + m] = dm[i];
            }
        }
    }
}

/// A discrete-time forecast model: one [`step`](Model::step) advances the state from one
/// analysis time to the next.
pub trait Model: Sync {
    /// State dimension n.
    fn n_state(&self) -> usize;

    /// Model time covered by one step (1 for a map).
    fn step_time(&self) -> f64;

    /// Advances one state by one step, in place.
    fn step<R: Real>(&self, x: &mut [R]);

    /// Advances every member of an ensemble by one step; `work` is scratch memory kept by
    /// the caller between calls.
    fn step_ensemble(&self, e: &mut Ensemble, work: &mut Vec<f64>);
}

/// The tangent-linear model: `(M(x), M'(x) v)` by one forward pass with dual numbers.
pub fn tangent_linear<M: Model + ?Sized>(model: &M, x: &[f64], v: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut xd: Vec<Dual> = x.iter().zip(v).map(|(&a, &b)| Dual::dual(a, b)).collect();
    model.step(&mut xd);
    (
        xd.iter().map(|d| d.v).collect(),
        xd.iter().map(|d| d.d[0]).collect(),
    )
}

/// The adjoint model: `(M(x), M'(x)ᵀ w)` by one reverse sweep over a tape recording of
/// the step.
pub fn adjoint<M: Model + ?Sized>(model: &M, x: &[f64], w: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    let tape = Tape::new();
    let xs = tape.vars(x);
    let mut ys = xs.clone();
    model.step(&mut ys);
    let seeds: Vec<(u32, f64)> = ys
        .iter()
        .zip(w)
        .filter_map(|(y, &wi)| y.slot_if_var().map(|s| (s, wi)))
        .collect();
    let adj = tape.reverse(&seeds)?;
    Ok((ys.iter().map(|y| y.val()).collect(), adj.wrt_slice(&xs)))
}

/// The Jacobian `M'(x)` (`n × n`, column-major) of one step, by n tangent-linear passes
/// of eight directions each.
pub fn jacobian<M: Model + ?Sized>(model: &M, x: &[f64]) -> faer::Mat<f64> {
    use mechml_engine::ad::DualN;
    const K: usize = 8;
    let n = x.len();
    let mut jac = faer::Mat::zeros(n, n);
    let mut start = 0;
    while start < n {
        let width = K.min(n - start);
        let mut xd: Vec<DualN<K>> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let mut d = [0.0; K];
                if i >= start && i < start + width {
                    d[i - start] = 1.0;
                }
                DualN::new(v, d)
            })
            .collect();
        model.step(&mut xd);
        for (i, y) in xd.iter().enumerate() {
            for c in 0..width {
                jac[(i, start + c)] = y.d[c];
            }
        }
        start += width;
    }
    jac
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn l96() -> Rk4<Lorenz96> {
        Rk4::new(Lorenz96::new(12, 8.0).unwrap(), 0.05, 1).unwrap()
    }

    #[test]
    fn ensemble_step_equals_single_steps_bitwise() {
        let model = l96();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut e = Ensemble::gaussian(5, &[8.0; 12], 1.0, &mut rng).unwrap();
        let before: Vec<Vec<f64>> = (0..5).map(|m| e.member(m)).collect();
        let mut work = Vec::new();
        model.step_ensemble(&mut e, &mut work);
        for (m, x0) in before.iter().enumerate() {
            let mut x = x0.clone();
            model.step(&mut x);
            assert_eq!(x, e.member(m));
        }
        let two = Rk4::new(
            Lorenz96TwoScale::new(4, 3, 10.0, 1.0, 10.0, 10.0).unwrap(),
            0.005,
            2,
        )
        .unwrap();
        let mut e = Ensemble::gaussian(3, &[1.0; 16], 1.0, &mut rng).unwrap();
        let x0 = e.member(1);
        two.step_ensemble(&mut e, &mut work);
        let mut x = x0;
        two.step(&mut x);
        assert_eq!(x, e.member(1));
    }

    #[test]
    fn tangent_linear_and_adjoint_agree_with_finite_differences() {
        let model = l96();
        let x: Vec<f64> = (0..12).map(|i| 8.0 + (i as f64 * 0.7).sin()).collect();
        let v: Vec<f64> = (0..12).map(|i| (i as f64 * 1.3).cos()).collect();
        let w: Vec<f64> = (0..12).map(|i| 0.5 - (i as f64 * 0.4).sin()).collect();
        let (_, mv) = tangent_linear(&model, &x, &v);
        let eps = 1e-6;
        let step = |s: f64| {
            let mut y: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + s * b).collect();
            model.step(&mut y);
            y
        };
        let (yp, ym) = (step(eps), step(-eps));
        for i in 0..12 {
            let fd = (yp[i] - ym[i]) / (2.0 * eps);
            assert!(
                (fd - mv[i]).abs() < 1e-7 * (1.0 + fd.abs()),
                "{i}: {fd} vs {}",
                mv[i]
            );
        }
        // Adjoint identity <w, M'v> = <M'ᵀw, v>.
        let (_, mtw) = adjoint(&model, &x, &w).unwrap();
        let lhs: f64 = w.iter().zip(&mv).map(|(a, b)| a * b).sum();
        let rhs: f64 = mtw.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0));
        let jac = jacobian(&model, &x);
        for i in 0..12 {
            let jv: f64 = (0..12).map(|j| jac[(i, j)] * v[j]).sum();
            assert!((jv - mv[i]).abs() < 1e-12);
        }
    }
}

//! Reference problems for ODE solvers (problem + reference value), and the order-condition
//! checker of Runge–Kutta tableaus, for downstream crates that test their own methods
//! (feature `testing`).
//!
//! Each reference is an [`OdeProblem`] with the state at its end time computed
//! independently of this crate: scipy's DOP853 / Radau at tight tolerances for Lorenz-63,
//! Lorenz-96 and Robertson to `t = 10⁵` (the workload definitions of the benchmarks), and
//! the Bari *Test Set for IVP Solvers* (Mazzia & Magherini, release 2.4; RADAU5 in
//! quadruple precision) for HIRES, OREGO, Van der Pol (μ = 1000) and Robertson to
//! `t = 10¹¹`. The same values are in `engine/tests/data/ode_reference.txt` with their
//! provenance.
//!
//! ```
//! use mechml_engine::ode::{solve, Method, OdeOptions};
//! use mechml_engine::testing::ode::{check_tableau, hires};
//! use mechml_engine::ode::tableau::TSIT5;
//!
//! let r = hires();
//! let sol = solve(&r.problem, Method::Rodas5P, &OdeOptions::with_tol(1e-8, 1e-10))?;
//! assert!(r.max_abs_error(sol.y_final()) < 1e-6);
//! check_tableau(&TSIT5, 1e-13)?;
//! # Ok::<(), mechml_engine::Error>(())
//! ```

// The reference values keep the digits their sources publish.
#![allow(clippy::excessive_precision)]

use crate::ode::problems::{Hires, Lorenz63, Lorenz96, Orego, Robertson, VanDerPol};
use crate::ode::{OdeProblem, OdeRhs};

pub use crate::ode::tableau::order_conditions::{
    MAX_ORDER, MeasuredOrders, Trees, check_tableau, full_a, measured_orders,
};

/// A reference problem: the problem, its state at `problem.t1` computed independently,
/// and where that value comes from.
#[derive(Clone, Debug)]
pub struct Reference<F: OdeRhs> {
    /// Short name (`"hires"`).
    pub name: &'static str,
    /// The initial-value problem.
    pub problem: OdeProblem<F>,
    /// `y(t1)`.
    pub y_final: Vec<f64>,
    /// Where `y_final` comes from.
    pub source: &'static str,
    /// Whether the problem is stiff (needs an implicit method).
    pub stiff: bool,
}

impl<F: OdeRhs> Reference<F> {
    /// `max |yᵢ − y_finalᵢ|`.
    ///
    /// # Panics
    /// If `y` has the wrong length.
    pub fn max_abs_error(&self, y: &[f64]) -> f64 {
        assert_eq!(y.len(), self.y_final.len(), "{}: state length", self.name);
        y.iter()
            .zip(&self.y_final)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }
}

const SCIPY: &str = "scipy DOP853 (Lorenz) / Radau (Robertson) at tight tolerances";
const TESTSET: &str = "Bari Test Set for IVP Solvers, release 2.4 (RADAU5, quadruple precision)";

fn problem<F: OdeRhs>(rhs: F, t1: f64, y0: Vec<f64>, p: Vec<f64>) -> OdeProblem<F> {
    OdeProblem::new(rhs, 0.0, t1, y0, p).expect("the reference problems are well formed")
}

/// Lorenz-63 with `(σ, ρ, β) = (10, 28, 8/3)` from `(1, 0, 0)` to `t = 10` (chaotic:
/// the reference is good to about `1e-8`).
pub fn lorenz63() -> Reference<Lorenz63> {
    Reference {
        name: "lorenz63",
        problem: problem(
            Lorenz63,
            10.0,
            vec![1.0, 0.0, 0.0],
            vec![10.0, 28.0, 8.0 / 3.0],
        ),
        y_final: vec![-5.857685382423607, -5.831082486423225, 23.932132987030748],
        source: SCIPY,
        stiff: false,
    }
}

/// Lorenz-96 with 40 states and `F = 8` from `(8.01, 8, …, 8)` to `t = 1`.
pub fn lorenz96() -> Reference<Lorenz96> {
    let mut y0 = vec![8.0; 40];
    y0[0] = 8.01;
    Reference {
        name: "lorenz96",
        problem: problem(Lorenz96 { n: 40 }, 1.0, y0, vec![8.0]),
        y_final: vec![
            8.96471665828167,
            8.506425905637625,
            6.91748765769407,
            6.078081144581882,
            7.205869772966809,
            9.558569666484305,
            10.17364878141005,
            6.729083683620307,
            4.350959364216135,
            6.247809421204117,
            10.080745413175281,
            10.9011978772125,
            5.928844034418328,
            4.246934607986632,
            7.369377224058362,
            10.855145064875542,
            9.21906399327032,
            5.490530188665591,
            6.333605969082156,
            9.047774861944923,
            9.567944213972936,
            7.423219762609508,
            6.831369268863249,
            8.075160491018343,
            8.757808536184843,
            8.080000934156491,
            7.569842986209471,
            7.8893599957190945,
            8.204870088011019,
            8.051851115320984,
            7.8459103148548115,
            7.911031033246627,
            8.080167546127157,
            8.169060637330745,
            8.163913003151139,
            8.034280299148346,
            7.748905627374807,
            7.505680077439887,
            7.664676897767309,
            8.330371258679268,
        ],
        source: SCIPY,
        stiff: false,
    }
}

/// Robertson's kinetics with `k = (0.04, 3e7, 1e4)` from `(1, 0, 0)` to `t = 10⁵`.
pub fn robertson() -> Reference<Robertson> {
    Reference {
        name: "robertson",
        problem: problem(Robertson, 1e5, vec![1.0, 0.0, 0.0], vec![0.04, 3e7, 1e4]),
        y_final: vec![
            0.017865921142100276,
            7.274751468436633e-08,
            0.9821340061103881,
        ],
        source: SCIPY,
        stiff: true,
    }
}

/// Robertson's kinetics to `t = 10¹¹` (the test set's ROBER; `y₂ ≈ 8e-14` at the end
/// needs a per-component absolute tolerance).
pub fn robertson_long() -> Reference<Robertson> {
    Reference {
        name: "rober",
        problem: problem(Robertson, 1e11, vec![1.0, 0.0, 0.0], vec![0.04, 3e7, 1e4]),
        y_final: vec![
            0.2083340149701255e-7,
            0.8333360770334713e-13,
            0.9999999791665050,
        ],
        source: TESTSET,
        stiff: true,
    }
}

/// HIRES (8 species) on `[0, 321.8122]`.
pub fn hires() -> Reference<Hires> {
    Reference {
        name: "hires",
        problem: problem(
            Hires,
            321.8122,
            vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057],
            vec![],
        ),
        y_final: vec![
            0.7371312573325668e-3,
            0.1442485726316185e-3,
            0.5888729740967575e-4,
            0.1175651343283149e-2,
            0.2386356198831331e-2,
            0.6238968252742796e-2,
            0.2849998395185769e-2,
            0.2850001604814231e-2,
        ],
        source: TESTSET,
        stiff: true,
    }
}

/// OREGO (the Oregonator) on `[0, 360]` from `(1, 2, 3)`.
pub fn orego() -> Reference<Orego> {
    Reference {
        name: "orego",
        problem: problem(Orego, 360.0, vec![1.0, 2.0, 3.0], vec![]),
        y_final: vec![
            0.1000814870318523e1,
            0.1228178521549917e4,
            0.1320554942846706e3,
        ],
        source: TESTSET,
        stiff: true,
    }
}

/// Van der Pol with `μ = 1000` from `(2, 0)` to `t = 2000` (the test set's VDPOL,
/// release 2.4 form).
pub fn van_der_pol() -> Reference<VanDerPol> {
    Reference {
        name: "vdpol",
        problem: problem(VanDerPol, 2000.0, vec![2.0, 0.0], vec![1000.0]),
        y_final: vec![0.1706167732170469e1, -0.8928097010248125e-3],
        source: TESTSET,
        stiff: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values here are the reference file's, read independently.
    #[test]
    fn references_match_the_data_file() {
        let text = include_str!("../../tests/data/ode_reference.txt");
        let file = |name: &str| -> Vec<f64> {
            let line = text
                .lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap();
            line.split_whitespace()
                .skip(1)
                .map(|v| v.parse().unwrap())
                .collect()
        };
        assert_eq!(lorenz63().y_final, file("lorenz63_y10"));
        assert_eq!(lorenz96().y_final, file("lorenz96_y1"));
        assert_eq!(robertson().y_final, file("robertson_y1e5"));
        assert_eq!(robertson_long().y_final, file("testset_rober"));
        assert_eq!(hires().y_final, file("testset_hires"));
        assert_eq!(orego().y_final, file("testset_orego"));
        assert_eq!(van_der_pol().y_final, file("testset_vdpol"));
    }
}

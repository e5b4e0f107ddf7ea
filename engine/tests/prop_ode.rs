//! Property tests of gradients through solves: a small linear system against its
//! analytic gradient for random parameters (every sensitivity method), and the tape
//! block against finite differences.

use mechml_engine::ad::Tape;
use mechml_engine::ad::gradcheck::{GradCheckOptions, check_tape_gradient};
use mechml_engine::ode::problems::{Linear, LotkaVolterra};
use mechml_engine::ode::{
    Checkpointing, Method, OdeOptions, OdeProblem, SaveAt, Sensitivity, SensitivitySolve,
    TapeProblem, solve_on_tape,
};
use proptest::prelude::*;

const METHODS: [Sensitivity; 5] = [
    Sensitivity::Forward,
    Sensitivity::DiscreteAdjoint {
        checkpointing: Checkpointing::Auto,
    },
    Sensitivity::DiscreteAdjoint {
        checkpointing: Checkpointing::Budget(4),
    },
    Sensitivity::ContinuousAdjoint {
        checkpointing: Checkpointing::Auto,
    },
    Sensitivity::Backsolve,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// `y' = A y` with `A = [[−a, b], [−b, −a]]`: `y(T) = e^{−aT} R(bT) y₀`,
    /// `R(θ) = [[cos θ, sin θ], [−sin θ, cos θ]]`. For `L = cᵀ y(T)`:
    /// `∂L/∂y₀ = e^{−aT} R(bT)ᵀ c`, `∂L/∂a = −T L`, `∂L/∂b = T e^{−aT} cᵀ R'(bT) y₀`,
    /// and the entries of `A` as parameters get `∂L/∂A = ∫ λ yᵀ` (checked through a
    /// and b by the chain rule).
    #[test]
    fn linear_system_matches_analytic_gradient(
        a in 0.05f64..1.0,
        b in -2.0f64..2.0,
        y0 in proptest::collection::vec(-1.0f64..1.0, 2),
        c in proptest::collection::vec(-1.0f64..1.0, 2),
        t1 in 0.5f64..3.0,
        method in prop_oneof![Just(Method::Tsit5), Just(Method::Vern7), Just(Method::Kvaerno5)],
    ) {
        // Column-major A.
        let amat = vec![-a, -b, b, -a];
        let prob = OdeProblem::new(Linear { n: 2 }, 0.0, t1, y0.clone(), amat).unwrap();
        let (th, e) = (b * t1, (-a * t1).exp());
        let (cs, sn) = (th.cos(), th.sin());
        let yt = [e * (cs * y0[0] + sn * y0[1]), e * (-sn * y0[0] + cs * y0[1])];
        let l = c[0] * yt[0] + c[1] * yt[1];
        let g_y0 = [e * (cs * c[0] - sn * c[1]), e * (sn * c[0] + cs * c[1])];
        let g_a = -t1 * l;
        let g_b = t1 * e * (c[0] * (-sn * y0[0] + cs * y0[1]) + c[1] * (-cs * y0[0] - sn * y0[1]));
        let opts = OdeOptions::with_tol(1e-10, 1e-10);
        for s in METHODS {
            let solve = match SensitivitySolve::new(&prob, method, &opts, s) {
                Ok(v) => v,
                Err(mechml_engine::Error::Unsupported { .. }) => continue,
                Err(e) => panic!("{e}"),
            };
            let g = solve.vjp(std::slice::from_ref(&c)).unwrap();
            let tol = 1e-6;
            for i in 0..2 {
                prop_assert!((g.y0[i] - g_y0[i]).abs() < tol, "{:?} {:?}: y0 {:?} vs {:?}", method, s, g.y0, g_y0);
            }
            // a enters A₀₀ and A₁₁ with −1; b enters A₁₀ with −1 and A₀₁ with +1.
            let ga = -g.p[0] - g.p[3];
            let gb = -g.p[1] + g.p[2];
            prop_assert!((ga - g_a).abs() < tol * (1.0 + g_a.abs()), "{:?} {:?}: a {} vs {}", method, s, ga, g_a);
            prop_assert!((gb - g_b).abs() < tol * (1.0 + g_b.abs()), "{:?} {:?}: b {} vs {}", method, s, gb, g_b);
        }
    }

    /// The tape block's gradient (every sensitivity method) against fourth-order finite
    /// differences, for random parameters and initial states of Lotka–Volterra with
    /// outputs at several times.
    #[test]
    fn tape_block_matches_finite_differences(
        p in proptest::collection::vec(0.5f64..2.0, 4),
        y0 in proptest::collection::vec(0.5f64..2.0, 2),
        s in prop_oneof![Just(METHODS[0]), Just(METHODS[1]), Just(METHODS[3]), Just(METHODS[4])],
    ) {
        let opts = OdeOptions::with_tol(1e-10, 1e-10).saving(SaveAt::Times(vec![0.5, 1.0, 2.0]));
        let x: Vec<f64> = p.iter().chain(&y0).copied().collect();
        let report = check_tape_gradient(
            &x,
            GradCheckOptions { rtol: 1e-5, atol: 1e-7, rel_step: Some(1e-3) },
            |tape: &Tape, v| {
                let pv = tape.stack(&v[..4])?;
                let yv = tape.stack(&v[4..])?;
                let out = solve_on_tape(tape, TapeProblem::new(LotkaVolterra, 0.0, 2.0, &yv, &pv), Method::Tsit5, &opts, s)?;
                let mut l = v[0] * 0.0;
                for (k, w) in [0.3, -1.0, 0.7].iter().enumerate() {
                    for y in out.state(k) {
                        l += y * y * *w;
                    }
                }
                Ok(l)
            },
        )
        .unwrap();
        prop_assert!(report.passed, "{:?}: {}", s, report);
    }
}

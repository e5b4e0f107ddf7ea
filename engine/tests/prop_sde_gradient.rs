//! Property tests of the SDE solve block: for random initial states, parameters and
//! Brownian paths, its pullback matches finite differences of the solve on the same path
//! (common random numbers), the forward sensitivities agree with it, and its pushforward
//! is the transpose of its pullback (⟨w, J v⟩ = ⟨Jᵀ w, v⟩).

use mechml_engine::Result;
use mechml_engine::ad::api::{jvp_tape, vjp_tape};
use mechml_engine::ad::gradcheck::{GradCheckOptions, check_tape_gradient};
use mechml_engine::ad::{Real, Tape, Var};
use mechml_engine::sde::{
    Calculus, EulerMaruyama, Milstein, ReversibleHeun, Sde, SdeMethod, SdeOptions, SdeProblem,
    SdeShape, Sensitivity, Steps, VirtualBrownianTree, solve_on_tape,
};
use mechml_engine::solver::SaveAt;
use proptest::prelude::*;

/// dx₁ = (p₀ x₂ − p₁ x₁) dt + p₂ x₁ dW₁, dx₂ = −p₀ sin x₁ dt + p₂ cos x₂ dW₂.
#[derive(Clone, Copy)]
struct Pendulum {
    calculus: Calculus,
}
impl Sde for Pendulum {
    fn shape(&self) -> SdeShape {
        SdeShape::diagonal(2)
            .with_params(3)
            .with_calculus(self.calculus)
    }
    fn drift<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[0] * x[1] - p[1] * x[0];
        out[1] = -(p[0] * x[0].sin());
    }
    fn diffusion<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[2] * x[0];
        out[1] = p[2] * x[1].cos();
    }
}

const N: usize = 16;

fn solve_loss<'t, M: SdeMethod>(
    tape: &'t Tape,
    z: &[Var<'t>],
    method: &M,
    calculus: Calculus,
    seed: u64,
    sens: Sensitivity,
) -> Result<Vec<Var<'t>>> {
    let w = VirtualBrownianTree::builder(0.0, 1.0)
        .dim(2)
        .seed(seed)
        .fixed_steps(N)
        .build()?;
    let opts = SdeOptions {
        steps: Steps::Fixed { n_steps: N },
        save_at: SaveAt::Every(4),
        check_finite: true,
    };
    let x0 = tape.stack(&z[..2])?;
    let p = tape.stack(&z[2..])?;
    let out = solve_on_tape(
        tape,
        &SdeProblem::new(Pendulum { calculus }, 0.0, 1.0, x0.clone(), p.clone()).unwrap(),
        method,
        &w,
        &opts,
        sens,
    )?;
    Ok(out.flatten().vars())
}

fn inputs() -> impl Strategy<Value = Vec<f64>> {
    (
        0.2f64..1.2,
        -0.8f64..0.8,
        0.5f64..1.5,
        0.1f64..0.8,
        0.05f64..0.5,
    )
        .prop_map(|(a, b, c, d, e)| vec![a, b, c, d, e])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn pullback_matches_finite_differences(z in inputs(), seed in 0u64..1000, which in 0usize..3) {
        let opts = GradCheckOptions::tol(1e-6, 1e-9);
        let report = check_tape_gradient(&z, opts, |tape, zs| {
            let outs = match which {
                0 => solve_loss(tape, zs, &EulerMaruyama, Calculus::Ito, seed, Sensitivity::default())?,
                1 => solve_loss(tape, zs, &Milstein, Calculus::Stratonovich, seed, Sensitivity::Forward)?,
                _ => solve_loss(tape, zs, &ReversibleHeun, Calculus::Stratonovich, seed, Sensitivity::Reversible)?,
            };
            let mut s = Var::constant(0.0);
            for (k, o) in outs.iter().enumerate() {
                s += *o * ((k as f64 * 1.3).cos());
            }
            Ok(s)
        }).unwrap();
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn pushforward_is_the_transpose_of_the_pullback(
        z in inputs(),
        v in proptest::collection::vec(-1.0f64..1.0, 5),
        w in proptest::collection::vec(-1.0f64..1.0, 10),
        seed in 0u64..1000,
    ) {
        let mut tape = Tape::new();
        let (ys, jv) = jvp_tape(&mut tape, &z, &v, |t, zs| {
            solve_loss(t, zs, &Milstein, Calculus::Ito, seed, Sensitivity::default())
        })
        .unwrap();
        prop_assert_eq!(ys.len(), 10);
        let (_, jtw) = vjp_tape(&mut tape, &z, &w, |t, zs| {
            solve_loss(t, zs, &Milstein, Calculus::Ito, seed, Sensitivity::default())
        })
        .unwrap();
        let lhs: f64 = w.iter().zip(&jv).map(|(a, b)| a * b).sum();
        let rhs: f64 = jtw.iter().zip(&v).map(|(a, b)| a * b).sum();
        prop_assert!((lhs - rhs).abs() < 1e-10 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
    }
}

//! `models::de::UdeRhs`'s hand-written vector–Jacobian product (physics by dual numbers,
//! network by its `f64` pullback) against the generic path of `RhsVjp` (the right-hand
//! side recorded on a tape, each layer one block), on random networks, activations,
//! states, rows and input scales.

use mechml_engine::ad::Real;
use mechml_engine::nn::{Activation, Init, Mlp};
use mechml_engine::ode::{GenericVjp, OdeRhs, RhsVjp};
use mechml_models::de::UdeRhs;
use proptest::prelude::*;

/// Nonlinear physics with two parameters, coupling neighbouring states.
#[derive(Clone)]
struct Physics(usize);

impl OdeRhs for Physics {
    fn n_states(&self) -> usize {
        self.0
    }
    fn n_params(&self) -> usize {
        2
    }
    fn rhs<R: Real>(&self, t: R, y: &[R], p: &[R], dy: &mut [R]) {
        let n = self.0;
        for i in 0..n {
            dy[i] = p[0] * y[i] * y[(i + 1) % n] - p[1] * y[i].sin() + t * 0.1;
        }
    }
}

fn vjp_of<F: OdeRhs>(rhs: &F, y: &[f64], w: &[f64], wbar: &[f64], with_p: bool) -> Vec<f64> {
    let (n, np) = (rhs.n_states(), rhs.n_params());
    let mut v = RhsVjp::new(n, np);
    // Twice into the same workspace: the second call must not see the first's scratch.
    let mut out = Vec::new();
    for _ in 0..2 {
        let mut gy = vec![0.25; n];
        let mut gp = if with_p { vec![-0.5; np] } else { Vec::new() };
        v.vjp(rhs, 0.3, y, w, wbar, &mut gy, &mut gp);
        out = gy.into_iter().chain(gp).collect();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn hand_written_vjp_equals_the_tape(
        n in 1usize..5,
        hidden in prop::collection::vec(1usize..12, 0..3),
        acts in (0usize..6, 0usize..6),
        seed in 0u64..1000,
        y in prop::collection::vec(-2.0f64..2.0, 4),
        wbar in prop::collection::vec(-1.5f64..1.5, 4),
        scale in prop::collection::vec(0.2f64..3.0, 4),
        n_rows in 1usize..5,
        with_p in any::<bool>(),
    ) {
        let n_out = n_rows.min(n);
        let mut sizes = vec![n];
        sizes.extend(&hidden);
        sizes.push(n_out);
        let net = Mlp::new(sizes)
            .unwrap()
            .with_activations(Activation::ALL[acts.0], Activation::ALL[acts.1]);
        let w = net.init_seeded(Init::GlorotNormal, seed);
        // Rows: the last n_out states, in reverse order.
        let rows: Vec<usize> = (0..n_out).map(|k| n - 1 - k).collect();
        let ude = UdeRhs::new(Physics(n), vec![0.7, -1.2], net, rows)
            .unwrap()
            .with_input_scale(scale[..n].to_vec())
            .unwrap();
        let by_hand = vjp_of(&ude, &y[..n], &w, &wbar[..n], with_p);
        let generic = vjp_of(&GenericVjp(ude), &y[..n], &w, &wbar[..n], with_p);
        prop_assert_eq!(by_hand.len(), generic.len());
        let big = generic.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (k, (a, b)) in by_hand.iter().zip(&generic).enumerate() {
            prop_assert!((a - b).abs() <= 1e-12 * big, "{}: by hand {} vs tape {}", k, a, b);
        }
    }
}

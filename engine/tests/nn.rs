//! `engine::nn`: network gradients against finite differences (proptest), the fused layer
//! blocks against the same network on scalar tape operations, forward mode against
//! reverse mode through the blocks, and initialisation statistics.

use mechml_engine::ad::api::{jvp_tape, vjp_tape};
use mechml_engine::ad::gradcheck::{GradCheckOptions, check_tape_gradient};
use mechml_engine::ad::{Tape, Var};
use mechml_engine::nn::{Activation, Init, Mlp};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Inputs `[w, x]` as one vector; output `Σ cₖ yₖ` with fixed weights `c`.
fn loss<'t>(net: &Mlp, vars: &[Var<'t>], fused: bool) -> Var<'t> {
    let (w, x) = vars.split_at(net.n_params());
    let y = if fused {
        net.forward(w, x)
    } else {
        net.forward_unfused(w, x)
    };
    let mut s = Var::constant(0.0);
    for (k, yk) in y.iter().enumerate() {
        s += *yk * (0.3 + 0.5 * k as f64);
    }
    s
}

/// The network's outputs with inputs `[w, x]`, over any `Real`.
fn fwd<R: mechml_engine::ad::Real>(net: &Mlp, v: &[R]) -> Vec<R> {
    let (w, x) = v.split_at(net.n_params());
    net.forward(w, x)
}

fn activation() -> impl Strategy<Value = Activation> {
    // ReLU's kink makes central differences wrong within a step of it; it is covered by
    // the fused-vs-scalar test below instead.
    prop::sample::select(vec![
        Activation::Identity,
        Activation::Tanh,
        Activation::Softplus,
        Activation::Gelu,
        Activation::Swish,
    ])
}

fn net_and_point() -> impl Strategy<Value = (Mlp, Vec<f64>)> {
    (
        prop::collection::vec(1usize..5, 2..5),
        activation(),
        activation(),
        any::<u64>(),
    )
        .prop_map(|(sizes, h, o, seed)| {
            let net = Mlp::new(sizes).unwrap().with_activations(h, o);
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut v = net.init_with(Init::GlorotNormal, &mut rng);
            // Nonzero biases and inputs.
            for (k, p) in v.iter_mut().enumerate() {
                *p += 0.1 * ((k as f64) * 1.3 + seed as f64 * 1e-19).sin();
            }
            v.extend((0..net.n_in()).map(|i| (0.7 * i as f64 + 0.2).cos()));
            (net, v)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Gradients with respect to weights, biases and inputs against fourth-order central
    /// differences.
    #[test]
    fn network_gradient_matches_finite_differences((net, x) in net_and_point()) {
        let opts = GradCheckOptions { rtol: 1e-6, atol: 1e-9, rel_step: None };
        let report = check_tape_gradient(&x, opts, |_t, v| Ok(loss(&net, v, true))).unwrap();
        prop_assert!(report.passed, "{net:?}: {report}");
    }

    /// Forward mode through the blocks' pushforward against reverse mode:
    /// ⟨w, J v⟩ = ⟨Jᵀ w, v⟩.
    #[test]
    fn pushforward_is_adjoint_to_pullback((net, x) in net_and_point()) {
        let dir: Vec<f64> = (0..x.len()).map(|k| (1.1 * k as f64).sin()).collect();
        let wout: Vec<f64> = (0..net.n_out()).map(|k| 1.0 - 0.4 * k as f64).collect();
        let mut tape = Tape::new();
        let (_, jv) = jvp_tape(&mut tape, &x, &dir, |_t, v| Ok(fwd(&net, v))).unwrap();
        let (_, jtw) = vjp_tape(&mut tape, &x, &wout, |_t, v| Ok(fwd(&net, v))).unwrap();
        let lhs: f64 = jv.iter().zip(&wout).map(|(a, b)| a * b).sum();
        let rhs: f64 = jtw.iter().zip(&dir).map(|(a, b)| a * b).sum();
        prop_assert!((lhs - rhs).abs() <= 1e-12 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
    }
}

/// The fused blocks against the same network recorded as scalar operations: values
/// bitwise equal, gradients equal to rounding, for every activation (ReLU included).
#[test]
fn fused_blocks_match_scalar_tape() {
    for (k, hidden) in Activation::ALL.into_iter().enumerate() {
        let net = Mlp::new(vec![3, 8, 5, 2])
            .unwrap()
            .with_activations(hidden, Activation::ALL[(k + 1) % 6]);
        let mut x = net.init_seeded(Init::GlorotUniform, 11 + k as u64);
        for (j, p) in x.iter_mut().enumerate() {
            *p += 0.05 * (j as f64).cos();
        }
        x.extend([0.4, -1.1, 0.7]);
        let grad = |fused: bool| {
            let tape = Tape::new();
            let v = tape.vars(&x);
            let l = loss(&net, &v, fused);
            let n_blocks = tape.stats().n_blocks;
            let g = tape.gradient(&l).unwrap();
            (
                l.val(),
                v.iter().map(|vi| g.wrt(vi)).collect::<Vec<_>>(),
                n_blocks,
            )
        };
        let (lf, gf, bf) = grad(true);
        let (ls, gs, bs) = grad(false);
        // Bitwise, except that the blocks' tanh is `tanh_f64` (within 3 ulp of the
        // library tanh that the scalar path calls).
        let uses_tanh =
            hidden == Activation::Tanh || Activation::ALL[(k + 1) % 6] == Activation::Tanh;
        if uses_tanh {
            assert!(
                (lf - ls).abs() <= 1e-14 * ls.abs(),
                "{hidden:?}: value {lf} vs {ls}"
            );
        } else {
            assert_eq!(lf.to_bits(), ls.to_bits(), "{hidden:?}: value {lf} vs {ls}");
        }
        assert_eq!(bf - bs, 3, "one block per layer");
        let scale = gs.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (a, b) in gf.iter().zip(&gs) {
            assert!((a - b).abs() <= 1e-14 * scale, "{hidden:?}: {a} vs {b}");
        }
        // And the plain f64 evaluation is the same function.
        let (w, xi) = x.split_at(net.n_params());
        let yf = net.forward(w, xi);
        let ys = net.forward_unfused(w, xi);
        if uses_tanh {
            for (a, b) in yf.iter().zip(&ys) {
                assert!(
                    (a - b).abs() <= 1e-14 * (1.0 + b.abs()),
                    "{hidden:?}: {a} vs {b}"
                );
            }
        } else {
            assert_eq!(yf, ys);
        }
    }
}

/// Second derivatives: on a `Tape<Dual>` the layers take the scalar path, so
/// Hessian–vector products through a network are exact (against differences of the
/// gradient).
#[test]
fn hvp_through_network_matches_gradient_differences() {
    use mechml_engine::ad::api::hvp_tape;
    let net = Mlp::new(vec![2, 4, 1]).unwrap();
    let mut x = net.init_seeded(Init::GlorotNormal, 3);
    x.extend([0.3, -0.8]);
    let v: Vec<f64> = (0..x.len()).map(|k| (0.9 * k as f64).cos()).collect();
    let mut tape = Tape::<mechml_engine::ad::Dual>::default();
    let (_, _, hv) = hvp_tape(&mut tape, &x, &v, |_t, z| Ok(fwd(&net, z)[0])).unwrap();
    let g = |p: &[f64]| {
        let tape = Tape::new();
        let z = tape.vars(p);
        let l = loss(&net, &z, true);
        let gr = tape.gradient(&l).unwrap();
        z.iter().map(|zi| gr.wrt(zi)).collect::<Vec<_>>()
    };
    let h = 1e-6;
    let xp: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + h * b).collect();
    let xm: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a - h * b).collect();
    let (gp, gm) = (g(&xp), g(&xm));
    for k in 0..x.len() {
        // loss = 0.3 y for one output.
        let fd = (gp[k] - gm[k]) / (2.0 * h) / 0.3;
        assert!(
            (hv[k] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "{k}: {} vs {fd}",
            hv[k]
        );
    }
}

/// Sample variance of a wide layer's weights against the stated variance, within four
/// standard errors (for N draws, SE(s²) = σ² √((κ − 1)/N) with kurtosis κ = 3 for the
/// normal and 9/5 for the uniform).
#[test]
fn init_variance_within_sampling_error() {
    let (n_in, n_out) = (200, 300);
    let net = Mlp::new(vec![n_in, n_out]).unwrap();
    for (init, kurt) in [
        (Init::GlorotNormal, 3.0),
        (Init::GlorotUniform, 1.8),
        (Init::HeNormal, 3.0),
        (Init::HeUniform, 1.8),
    ] {
        let w = net.init_seeded(init, 42);
        let weights = &w[..n_in * n_out];
        assert!(w[n_in * n_out..].iter().all(|b| *b == 0.0), "zero biases");
        let n = weights.len() as f64;
        let mean = weights.iter().sum::<f64>() / n;
        let var = weights.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let sigma2 = init.variance(n_in, n_out);
        let se = sigma2 * ((kurt - 1.0) / n).sqrt();
        assert!(
            (var - sigma2).abs() < 4.0 * se,
            "{init:?}: {var} vs {sigma2} ± {se}"
        );
        assert!(
            mean.abs() < 4.0 * (sigma2 / n).sqrt(),
            "{init:?}: mean {mean}"
        );
    }
    let expected = 2.0 / (n_in + n_out) as f64;
    assert_eq!(Init::GlorotNormal.variance(n_in, n_out), expected);
}

/// Reproducible: the same seed gives the same bits; another seed does not.
#[test]
fn init_is_seeded() {
    let net = Mlp::new(vec![3, 5, 2]).unwrap();
    assert_eq!(
        net.init_seeded(Init::HeNormal, 9),
        net.init_seeded(Init::HeNormal, 9)
    );
    assert_ne!(
        net.init_seeded(Init::HeNormal, 9),
        net.init_seeded(Init::HeNormal, 10)
    );
}

#[test]
fn bad_shapes_are_errors() {
    assert!(Mlp::new(vec![3]).is_err());
    assert!(Mlp::new(vec![3, 0, 1]).is_err());
    let net = Mlp::new(vec![3, 2]).unwrap();
    assert!(net.check(8, 3).is_ok());
    assert!(net.check(7, 3).is_err());
    assert!(net.check(8, 2).is_err());
}

//! Property tests of the virtual Brownian tree: increments are additive over any split of
//! any interval (on and off the grid, with and without Lévy area), and any permutation of
//! a batch of queries returns bitwise-identical answers.

use mechml_engine::sde::{BrownianPath, BrownianTreeOptions, VirtualBrownianTree};
use proptest::prelude::*;

fn tree(seed: u64, depth: u32, area: bool) -> VirtualBrownianTree {
    VirtualBrownianTree::new(
        -1.0,
        3.0,
        3,
        seed,
        BrownianTreeOptions {
            depth,
            levy_area: area,
        },
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn increments_are_additive(
        seed in any::<u64>(),
        depth in 1u32..14,
        area in any::<bool>(),
        a in -1.0f64..3.0,
        b in -1.0f64..3.0,
        frac in 0.0f64..1.0,
    ) {
        let (s, t) = (a.min(b), a.max(b));
        let u = s + frac * (t - s);
        let mut w = tree(seed, depth, area);
        let (mut w1, mut w2, mut w12) = ([0.0; 3], [0.0; 3], [0.0; 3]);
        let (mut h1, mut h2, mut h12) = ([0.0; 3], [0.0; 3], [0.0; 3]);
        if area {
            w.increment_with_area(s, u, &mut w1, &mut h1).unwrap();
            w.increment_with_area(u, t, &mut w2, &mut h2).unwrap();
            w.increment_with_area(s, t, &mut w12, &mut h12).unwrap();
        } else {
            w.increment(s, u, &mut w1).unwrap();
            w.increment(u, t, &mut w2).unwrap();
            w.increment(s, t, &mut w12).unwrap();
        }
        for c in 0..3 {
            let scale = 1.0 + w12[c].abs();
            prop_assert!((w1[c] + w2[c] - w12[c]).abs() < 1e-12 * scale);
            if area {
                // ∫ₛᵗ (W − W(s)) = ∫ₛᵘ + (t − u) W(s,u) + ∫ᵤᵗ
                let i = |h: f64, dw: f64, ha: f64| h * (0.5 * dw + ha);
                let lhs = i(u - s, w1[c], h1[c]) + (t - u) * w1[c] + i(t - u, w2[c], h2[c]);
                prop_assert!((lhs - i(t - s, w12[c], h12[c])).abs() < 1e-12 * scale * (1.0 + t - s));
            }
        }
    }

    #[test]
    fn permuted_queries_agree_bitwise(
        seed in any::<u64>(),
        points in proptest::collection::vec((-1.0f64..3.0, -1.0f64..3.0), 1..12),
        rot in 0usize..12,
    ) {
        let qs: Vec<(f64, f64)> = points.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
        let run = |order: &[usize]| {
            let mut w = tree(seed, 10, true);
            let mut out = vec![[0u64; 6]; qs.len()];
            let (mut dw, mut h) = ([0.0; 3], [0.0; 3]);
            for &k in order {
                w.increment_with_area(qs[k].0, qs[k].1, &mut dw, &mut h).unwrap();
                for c in 0..3 {
                    out[k][c] = dw[c].to_bits();
                    out[k][3 + c] = h[c].to_bits();
                }
            }
            out
        };
        let n = qs.len();
        let fwd: Vec<usize> = (0..n).collect();
        let perm: Vec<usize> = (0..n).rev().map(|k| (k + rot) % n).collect();
        prop_assert_eq!(run(&fwd), run(&perm));
    }
}

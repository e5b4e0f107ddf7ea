//! Designs: Latin stratification, published Sobol' points, discrepancy falling with n,
//! scrambling that keeps the net's stratification, parameter spaces.

use mechml_models::emulator::design::{
    HaltonOptions, MaximinOptions, ParamRange, ParameterSpace, SobolOptions, halton,
    l2_star_discrepancy, lhs, maximin_lhs, min_distance, owen_scramble, phi_p, sobol,
};

/// Every margin of an `n`-point LHS has one point in each stratum `[i/n, (i+1)/n)`.
fn assert_latin(d: &mechml_models::emulator::design::Design) {
    let n = d.n();
    for k in 0..d.d() {
        let mut seen = vec![false; n];
        for i in 0..n {
            let s = ((d.point(i)[k] * n as f64).floor() as usize).min(n - 1);
            assert!(!seen[s], "margin {k}: stratum {s} holds two points");
            seen[s] = true;
        }
    }
}

#[test]
fn lhs_is_stratified_in_every_margin() {
    for (n, dim, seed) in [(1, 3, 0), (7, 2, 1), (50, 8, 2), (200, 5, 3)] {
        assert_latin(&lhs(n, dim, seed).unwrap());
    }
    for centred in [true, false] {
        let opts = MaximinOptions {
            iterations: 3000,
            centred,
            seed: 4,
            ..Default::default()
        };
        assert_latin(&maximin_lhs(40, 4, &opts).unwrap());
    }
}

#[test]
fn maximin_improves_the_criterion() {
    let opts = MaximinOptions {
        iterations: 20_000,
        seed: 9,
        ..Default::default()
    };
    let m = maximin_lhs(25, 3, &opts).unwrap();
    let r = lhs(25, 3, 9).unwrap();
    assert!(phi_p(&m, 50.0) < phi_p(&r, 50.0));
    assert!(min_distance(&m) > min_distance(&r));
}

/// The first eight points of the Sobol' sequence in five dimensions with the Joe–Kuo
/// `new-joe-kuo-6.21201` direction numbers, as printed by the authors' generator
/// (`sobol.cc`, Joe & Kuo 2008) and by scipy 1.17 `qmc.Sobol(5, scramble=False)`.
#[test]
fn sobol_first_points_match_published_values() {
    let published = [
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [0.5, 0.5, 0.5, 0.5, 0.5],
        [0.75, 0.25, 0.25, 0.25, 0.75],
        [0.25, 0.75, 0.75, 0.75, 0.25],
        [0.375, 0.375, 0.625, 0.875, 0.375],
        [0.875, 0.875, 0.125, 0.375, 0.875],
        [0.625, 0.125, 0.875, 0.625, 0.625],
        [0.125, 0.625, 0.375, 0.125, 0.125],
    ];
    let d = sobol(8, 5, &SobolOptions::default()).unwrap();
    for (i, row) in published.iter().enumerate() {
        assert_eq!(d.point(i), row, "point {i}");
    }
    // Dimensions 100, 500 and 1000 (same sources).
    let d = sobol(4, 1000, &SobolOptions::default()).unwrap();
    let hi = [[0.0; 3], [0.5; 3], [0.75, 0.25, 0.75], [0.25, 0.75, 0.25]];
    for (i, row) in hi.iter().enumerate() {
        assert_eq!(
            [d.point(i)[99], d.point(i)[499], d.point(i)[999]],
            *row,
            "point {i}"
        );
    }
}

/// A (t, m, s)-net property that scrambling preserves: the first 2^m points of each
/// one-dimensional projection hit every interval [j/2^m, (j+1)/2^m) once.
#[test]
fn owen_scrambling_keeps_the_stratification() {
    let m = 1 << 7;
    for scramble in [false, true] {
        let d = sobol(
            m,
            6,
            &SobolOptions {
                scramble,
                seed: 11,
                skip: 0,
            },
        )
        .unwrap();
        assert_latin(&d);
        // 2-D elementary intervals of dims (0, 1): 2^3 × 2^4 boxes, one point each.
        let mut count = vec![0; 128];
        for i in 0..m {
            let p = d.point(i);
            count[(p[0] * 8.0) as usize * 16 + (p[1] * 16.0) as usize] += 1;
        }
        assert!(count.iter().all(|&c| c == 1), "scramble = {scramble}");
    }
    // Nested scrambling is a bijection on 32-bit digits.
    let xs: Vec<u32> = (0..1000u32)
        .map(|i| i.wrapping_mul(2_654_435_761))
        .collect();
    let mut ys: Vec<u32> = xs.iter().map(|&x| owen_scramble(x, 3, 1)).collect();
    ys.sort();
    ys.dedup();
    assert_eq!(ys.len(), 1000);
}

/// The L2-star discrepancy of random points has expectation (2^−d − 3^−d)/n (Warnock);
/// Sobol' and Halton points fall faster than n^−1/2, and every design falls with n.
#[test]
fn star_discrepancy_falls_with_n() {
    let dim = 3;
    let random_rms = |n: usize| ((0.5f64.powi(dim) - (1.0 / 3f64).powi(dim)) / n as f64).sqrt();
    let mut last = [f64::INFINITY; 4];
    for n in [64usize, 256, 1024] {
        let ds = [
            l2_star_discrepancy(&sobol(n, dim as usize, &SobolOptions::default()).unwrap()),
            l2_star_discrepancy(&sobol(n, dim as usize, &SobolOptions::scrambled(5)).unwrap()),
            l2_star_discrepancy(
                &halton(
                    n,
                    dim as usize,
                    &HaltonOptions {
                        skip: 1,
                        ..Default::default()
                    },
                )
                .unwrap(),
            ),
            l2_star_discrepancy(&lhs(n, dim as usize, 5).unwrap()),
        ];
        for (k, v) in ds.iter().enumerate() {
            assert!(
                *v < last[k],
                "design {k}: D2* {v} at n = {n} did not fall from {}",
                last[k]
            );
        }
        // Low-discrepancy sets beat random points' root-mean-square discrepancy.
        assert!(
            ds[0] < 0.5 * random_rms(n) && ds[1] < 0.5 * random_rms(n) && ds[2] < random_rms(n)
        );
        last = ds;
    }
    // The rate of the quasi-random sets: from n = 64 to 1024, more than the 4× of n^−1/2.
    let d64 = l2_star_discrepancy(&sobol(64, 3, &SobolOptions::default()).unwrap());
    assert!(
        d64 / last[0] > 5.0,
        "Sobol' D2* fell only {}×",
        d64 / last[0]
    );
}

#[test]
fn parameter_space_maps_both_ways_and_rejects_bad_ranges() {
    let space = ParameterSpace::new(vec![
        ParamRange::linear("a", -1.0, 3.0),
        ParamRange::log("b", 0.01, 100.0),
    ])
    .unwrap();
    let x = space.to_physical(&[0.25, 0.75]).unwrap();
    assert!((x[0] - 0.0).abs() < 1e-15 && (x[1] - 10.0).abs() < 1e-12);
    let u = space.to_unit(&x).unwrap();
    assert!((u[0] - 0.25).abs() < 1e-15 && (u[1] - 0.75).abs() < 1e-15);
    assert!(ParameterSpace::new(vec![ParamRange::log("b", 0.0, 1.0)]).is_err());
    assert!(ParameterSpace::new(vec![ParamRange::linear("a", 1.0, 1.0)]).is_err());
    assert!(
        ParameterSpace::new(vec![
            ParamRange::linear("a", 0.0, 1.0),
            ParamRange::linear("a", 0.0, 2.0)
        ])
        .is_err()
    );
    assert!(space.to_physical(&[0.5]).is_err());
    assert!(sobol(usize::MAX, 2, &SobolOptions::default()).is_err());
    assert!(sobol(4, 2000, &SobolOptions::default()).is_err());
}

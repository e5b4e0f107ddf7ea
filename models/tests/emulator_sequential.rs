//! Sequential design: the max-variance pick is the argmax of the predictive variance
//! (also after a fantasy), MICE's score against its definition, and sequential designs
//! against random points of the same size (seeded, stated in each test).

use faer::{Mat, Par};
use mechml_engine::gp::{Inputs, Kernel};
use mechml_engine::linalg::Llt;
use mechml_models::emulator::design::{SobolOptions, lhs, sobol};
use mechml_models::emulator::gp::{EmulatorOptions, GpEmulator};
use mechml_models::emulator::sequential::{
    Acquisition, ExpectedImprovement, MaxVariance, Mice, SequentialOptions, select_batch,
    sequential_design,
};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn f2(p: &[f64]) -> f64 {
    (4.0 * p[0]).sin() * (3.0 * p[1]).cos() + 0.5 * p[0] * p[1]
}

fn opts() -> EmulatorOptions {
    let mut o = EmulatorOptions::default();
    o.fit = o.fit.with_starts(2, 1.0, 0);
    o
}

fn candidates(m: usize, d: usize) -> Vec<f64> {
    let c = sobol(m, d, &SobolOptions::scrambled(9)).unwrap();
    c.as_slice().to_vec()
}

fn argmax(v: &[f64], skip: &[usize]) -> usize {
    (0..v.len())
        .filter(|i| !skip.contains(i))
        .max_by(|&a, &b| v[a].total_cmp(&v[b]))
        .unwrap()
}

#[test]
fn max_variance_picks_the_argmax_of_the_predictive_variance() {
    let d0 = lhs(8, 2, 1).unwrap();
    let y: Vec<f64> = (0..8).map(|i| f2(d0.point(i))).collect();
    let emu = GpEmulator::fit(d0.to_inputs().unwrap(), &y, &opts()).unwrap();
    let xs = candidates(200, 2);
    let picks = select_batch(&emu, &MaxVariance, &xs, 2).unwrap();
    let p = emu
        .predict(&Inputs::new(200, 2, xs.clone()).unwrap())
        .unwrap();
    assert_eq!(picks[0], argmax(&p.var, &[]));
    // The second pick: the argmax after conditioning on the first (its value does not
    // change variances), and not the first again.
    let x1 = &xs[picks[0] * 2..picks[0] * 2 + 2];
    let e1 = emu.with_runs(x1, &[123.0]).unwrap();
    let p1 = e1
        .predict(&Inputs::new(200, 2, xs.clone()).unwrap())
        .unwrap();
    assert_eq!(picks[1], argmax(&p1.var, &[picks[0]]));
    assert!(p1.var[picks[0]] < 1e-3 * p.var[picks[0]]);
    // Bad batch sizes are errors.
    assert!(select_batch(&emu, &MaxVariance, &xs, 0).is_err());
    assert!(select_batch(&emu, &MaxVariance, &xs, 201).is_err());
    assert!(select_batch(&emu, &MaxVariance, &xs[..3], 1).is_err());
}

/// MICE's denominator against the conditional variance computed directly: the kernel
/// on the other available candidates plus `τ²`, solved.
#[test]
fn mice_score_matches_its_definition() {
    let d0 = lhs(6, 2, 2).unwrap();
    let y: Vec<f64> = (0..6).map(|i| f2(d0.point(i))).collect();
    let emu = GpEmulator::fit(d0.to_inputs().unwrap(), &y, &opts()).unwrap();
    let m = 40;
    let xs = candidates(m, 2);
    let mut available = vec![true; m];
    available[3] = false;
    let mice = Mice { nugget: 0.5 };
    let s = mice.scores(&emu, &xs, &available).unwrap();
    let theta = emu.kernel_params();
    let tau2 = 0.5 * theta[0];
    let p = emu
        .predict(&Inputs::new(m, 2, xs.clone()).unwrap())
        .unwrap();
    for i in [0usize, 7, 39] {
        let others: Vec<usize> = (0..m).filter(|&j| j != i && available[j]).collect();
        let pts: Vec<f64> = others
            .iter()
            .flat_map(|&j| xs[2 * j..2 * j + 2].to_vec())
            .collect();
        let c = Inputs::new(others.len(), 2, pts).unwrap();
        let xi = Inputs::new(1, 2, xs[2 * i..2 * i + 2].to_vec()).unwrap();
        let mut k = Mat::<f64>::zeros(c.n(), c.n());
        emu.kernel().matrix_into(&theta, &c, None, k.as_mut());
        mechml_engine::linalg::fill_upper_from_lower(&mut k);
        for a in 0..c.n() {
            k[(a, a)] += tau2;
        }
        let mut kx = Mat::<f64>::zeros(c.n(), 1);
        emu.kernel().matrix_into(&theta, &c, Some(&xi), kx.as_mut());
        let kv: Vec<f64> = (0..c.n()).map(|a| kx[(a, 0)]).collect();
        let sol = Llt::factor(k.as_ref(), Par::Seq)
            .unwrap()
            .solve_vec(&kv, Par::Seq);
        let cond = theta[0] - kv.iter().zip(&sol).map(|(a, b)| a * b).sum::<f64>();
        let want = p.var[i] / cond;
        assert!((s[i] - want).abs() < 1e-8 * want, "{i}: {} vs {want}", s[i]);
    }
    assert!(Mice { nugget: 0.0 }.scores(&emu, &xs, &available).is_err());
}

fn rmse(emu: &GpEmulator) -> f64 {
    let g = 25;
    let pts: Vec<f64> = (0..g * g)
        .flat_map(|k| {
            [
                (k % g) as f64 / (g - 1) as f64,
                (k / g) as f64 / (g - 1) as f64,
            ]
        })
        .collect();
    let p = emu
        .predict(&Inputs::new(g * g, 2, pts.clone()).unwrap())
        .unwrap();
    ((0..g * g)
        .map(|k| (p.mean[k] - f2(&pts[2 * k..2 * k + 2])).powi(2))
        .sum::<f64>()
        / (g * g) as f64)
        .sqrt()
}

/// On `f(x) = sin(4x₁) cos(3x₂) + x₁x₂/2` over the unit square: 5 LHS runs plus 3
/// batches of 5 by maximum variance and by MICE (refits between batches, fantasies
/// within) give a lower RMSE on a 25 × 25 grid than 20 uniform random runs (the mean
/// RMSE over random seeds 1–3).
#[test]
fn sequential_designs_beat_random_points_of_the_same_size() {
    let d0 = lhs(5, 2, 3).unwrap();
    let y0: Vec<f64> = (0..5).map(|i| f2(d0.point(i))).collect();
    let xs = candidates(400, 2);
    let so = SequentialOptions {
        batches: 3,
        batch_size: 5,
        emulator: opts(),
    };
    let mut random = 0.0;
    for seed in 1..=3u64 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let pts: Vec<f64> = (0..40).map(|_| rng.random::<f64>()).collect();
        let y: Vec<f64> = pts.chunks(2).map(f2).collect();
        let emu = GpEmulator::fit(Inputs::new(20, 2, pts).unwrap(), &y, &opts()).unwrap();
        random += rmse(&emu) / 3.0;
    }
    let acqs: [&dyn Acquisition; 2] = [&MaxVariance, &Mice::default()];
    for acq in acqs {
        let s =
            sequential_design(|p| Ok(f2(p)), d0.to_inputs().unwrap(), &y0, &xs, acq, &so).unwrap();
        assert_eq!(s.emulator.inputs().n(), 20);
        assert_eq!(s.picks.len(), 3);
        let e = rmse(&s.emulator);
        assert!(e < random, "{}: RMSE {e} vs random {random}", acq.name());
    }
}

/// Expected improvement on the Forrester function `(6x − 2)² sin(12x − 4)` (minimum
/// −6.0207 at x = 0.7572): 4 LHS runs plus 5 batches of 2 find a smaller value than
/// 14 uniform random runs (seeds 1–3, each) and come within 0.05 of the minimum.
#[test]
fn expected_improvement_finds_the_minimum() {
    let f = |x: &[f64]| (6.0 * x[0] - 2.0).powi(2) * (12.0 * x[0] - 4.0).sin();
    let d0 = lhs(4, 1, 5).unwrap();
    let y0: Vec<f64> = (0..4).map(|i| f(d0.point(i))).collect();
    let xs: Vec<f64> = (0..501).map(|i| i as f64 / 500.0).collect();
    let so = SequentialOptions {
        batches: 5,
        batch_size: 2,
        emulator: opts(),
    };
    let s = sequential_design(
        |p| Ok(f(p)),
        d0.to_inputs().unwrap(),
        &y0,
        &xs,
        &ExpectedImprovement::default(),
        &so,
    )
    .unwrap();
    let best = s
        .emulator
        .outputs()
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    assert!(best < -6.0207 + 0.05, "best {best}");
    for seed in 1..=3u64 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let rbest = (0..14)
            .map(|_| f(&[rng.random::<f64>()]))
            .fold(f64::INFINITY, f64::min);
        assert!(best < rbest, "seed {seed}: {best} vs random {rbest}");
    }
    assert!(
        ExpectedImprovement { xi: -1.0 }
            .scores(&s.emulator, &xs, &[true; 501])
            .is_err()
    );
}

//! History matching: the implausibility against its formula from the emulator's own
//! predictions; waves with refocusing never rule out the true input (with exact
//! observations and the maximum implausibility, and with noisy observations and the
//! second maximum), and the NROY region shrinks wave by wave.

use mechml_engine::gp::Inputs;
use mechml_models::emulator::design::{MaximinOptions, maximin_lhs};
use mechml_models::emulator::gp::{EmulatorOptions, GpEmulator, MultiOutputEmulator};
use mechml_models::emulator::history::{
    HmOptions, SampleOptions, Target, Wave, implausibility, nroy_mask, sample_nroy,
};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

const D: usize = 3;

/// Four outputs of three inputs in the unit cube.
fn sim(x: &[f64]) -> Vec<f64> {
    vec![
        x[0] + x[1] * x[1],
        (3.0 * x[1]).sin() + 0.5 * x[2],
        x[0] * x[2] + 0.3 * x[1],
        (1.5 * x[0]).exp() - x[2],
    ]
}

#[test]
fn implausibility_follows_its_formula() {
    let d = maximin_lhs(
        30,
        D,
        &MaximinOptions {
            iterations: 1000,
            ..Default::default()
        },
    )
    .unwrap();
    let y: Vec<f64> = (0..30).map(|i| sim(d.point(i))[1]).collect();
    let emu = GpEmulator::fit(d.to_inputs().unwrap(), &y, &EmulatorOptions::default()).unwrap();
    let t = [Target {
        name: "y1".into(),
        value: 0.7,
        obs_var: 0.02,
        disc_var: 0.01,
    }];
    let xs = [0.1, 0.2, 0.3, 0.9, 0.5, 0.1, 0.4, 0.4, 0.8];
    let imp = implausibility(&emu, &t, &xs, &HmOptions::default()).unwrap();
    let p = emu
        .predict(&Inputs::new(3, D, xs.to_vec()).unwrap())
        .unwrap();
    for (i, v) in imp.iter().enumerate() {
        let want = (0.7 - p.mean[i]).abs() / (p.var[i] + 0.03).sqrt();
        assert!((v - want).abs() < 1e-10 * (1.0 + want));
    }
}

/// Three waves (a 40-run maximin design, then 20 runs drawn from the NROY region each
/// wave, emulators refitted on the runs the earlier waves keep); returns the NROY
/// fractions and whether the truth survived every wave.
fn waves(truth: &[f64], obs: &[f64], obs_var: f64, order: usize, seed: u64) -> (Vec<f64>, bool) {
    let targets: Vec<Target> = obs
        .iter()
        .enumerate()
        .map(|(j, &z)| Target {
            name: format!("y{j}"),
            value: z,
            obs_var,
            disc_var: 0.0,
        })
        .collect();
    let first = maximin_lhs(
        40,
        D,
        &MaximinOptions {
            iterations: 1000,
            seed,
            ..Default::default()
        },
    )
    .unwrap();
    let mut xs: Vec<Vec<f64>> = (0..40).map(|i| first.point(i).to_vec()).collect();
    let mut ws: Vec<Wave> = Vec::new();
    let mut fractions = Vec::new();
    let mut survived = true;
    let opts = EmulatorOptions {
        fit: EmulatorOptions::default().fit.with_starts(2, 1.0, seed),
        ..EmulatorOptions::default()
    };
    for w in 0..3 {
        if w > 0 {
            let s = sample_nroy(
                &ws,
                D,
                &SampleOptions {
                    n: 20,
                    max_candidates: 400_000,
                    batch: 20_000,
                    seed: seed + w as u64,
                },
            )
            .unwrap();
            xs.extend(s.points.chunks(D).map(|c| c.to_vec()));
        }
        let flat: Vec<f64> = xs.iter().flatten().copied().collect();
        let keep = nroy_mask(&ws, &flat, D).unwrap();
        let train: Vec<&Vec<f64>> = xs
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|p| p.0)
            .collect();
        let x = Inputs::new(
            train.len(),
            D,
            train.iter().flat_map(|p| p.iter().copied()).collect(),
        )
        .unwrap();
        let ys: Vec<Vec<f64>> = train.iter().map(|p| sim(p)).collect();
        let emu = MultiOutputEmulator::fit(&x, &ys, &opts).unwrap();
        ws.push(Wave {
            predictor: Box::new(emu),
            targets: targets.clone(),
            options: HmOptions { cutoff: 3.0, order },
        });
        survived &= nroy_mask(&ws, truth, D).unwrap()[0];
        let s = sample_nroy(
            &ws,
            D,
            &SampleOptions {
                n: 1,
                max_candidates: 100_000,
                batch: 20_000,
                seed: 99,
            },
        )
        .unwrap();
        fractions.push(s.fraction);
    }
    (fractions, survived)
}

#[test]
fn history_matching_never_rules_out_the_truth() {
    for seed in 0..3u64 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let u = Uniform::new(0.1, 0.9).unwrap();
        let truth: Vec<f64> = (0..D).map(|_| u.sample(&mut rng)).collect();
        // Exact observations with an assumed observation sd 0.05 and the maximum
        // implausibility: only emulator error could rule the truth out, and the
        // emulator variance accounts for it.
        let (frac, ok) = waves(&truth, &sim(&truth), 0.05f64.powi(2), 1, seed);
        assert!(ok, "seed {seed}: the truth {truth:?} was ruled out");
        assert!(frac[2] < 0.2, "seed {seed}: NROY fractions {frac:?}");
        assert!(
            frac.windows(2).all(|w| w[1] <= w[0] * 1.05),
            "seed {seed}: NROY fractions {frac:?} grow"
        );
        // Noisy observations (sd 0.05) and the second-largest implausibility.
        let obs: Vec<f64> = sim(&truth)
            .iter()
            .map(|v| {
                let e: f64 = StandardNormal.sample(&mut rng);
                v + 0.05 * e
            })
            .collect();
        let (frac, ok) = waves(&truth, &obs, 0.05f64.powi(2), 2, seed + 10);
        assert!(ok, "seed {seed}: the truth {truth:?} was ruled out (noisy)");
        assert!(frac[2] < 0.5, "seed {seed}: NROY fractions {frac:?}");
    }
}

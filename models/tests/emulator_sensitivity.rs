//! Sobol' indices of the Ishigami function and the g-function against their closed forms,
//! by Saltelli sampling with Jansen's estimators and by the GP route (Oakley & O'Hagan).

use std::f64::consts::PI;

use mechml_models::emulator::design::{SobolOptions, sobol};
use mechml_models::emulator::gp::{EmulatorOptions, GpEmulator};
use mechml_models::emulator::sensitivity::{
    SensitivityOptions, g_function, g_function_indices, gp_sobol_indices, ishigami,
    ishigami_indices, sobol_indices,
};

fn ishi_unit(u: &[f64]) -> f64 {
    ishigami(
        &[
            PI * (2.0 * u[0] - 1.0),
            PI * (2.0 * u[1] - 1.0),
            PI * (2.0 * u[2] - 1.0),
        ],
        7.0,
        0.1,
    )
}

const G_A: [f64; 4] = [0.0, 1.0, 4.5, 9.0];

#[test]
fn sampling_route_matches_closed_forms() {
    let opts = SensitivityOptions {
        n: 1 << 14,
        bootstrap: 100,
        level: 0.95,
        seed: 3,
    };
    let s = sobol_indices(ishi_unit, 3, &opts).unwrap();
    let (f, t) = ishigami_indices(7.0, 0.1);
    for i in 0..3 {
        assert!(
            (s.first[i] - f[i]).abs() < 0.02,
            "Ishigami S{i}: {} vs {}",
            s.first[i],
            f[i]
        );
        assert!(
            (s.total[i] - t[i]).abs() < 0.02,
            "Ishigami ST{i}: {} vs {}",
            s.total[i],
            t[i]
        );
        // The bootstrap intervals are of the Monte Carlo error's size and hold the truth
        // within a margin of their own width.
        let (lo, hi) = s.total_ci[i];
        let w = hi - lo;
        assert!(
            w > 0.0 && w < 0.05 && t[i] > lo - w && t[i] < hi + w,
            "ST{i} interval ({lo}, {hi})"
        );
    }
    let s = sobol_indices(|u: &[f64]| g_function(u, &G_A), 4, &opts).unwrap();
    let (f, t) = g_function_indices(&G_A);
    for i in 0..4 {
        assert!(
            (s.first[i] - f[i]).abs() < 0.02,
            "g S{i}: {} vs {}",
            s.first[i],
            f[i]
        );
        assert!(
            (s.total[i] - t[i]).abs() < 0.02,
            "g ST{i}: {} vs {}",
            s.total[i],
            t[i]
        );
    }
}

#[test]
fn gp_route_matches_closed_forms() {
    let d = sobol(256, 3, &SobolOptions::scrambled(1)).unwrap();
    let y: Vec<f64> = (0..256).map(|i| ishi_unit(d.point(i))).collect();
    let emu = GpEmulator::fit(d.to_inputs().unwrap(), &y, &EmulatorOptions::default()).unwrap();
    let s = gp_sobol_indices(&emu).unwrap();
    let (f, t) = ishigami_indices(7.0, 0.1);
    for i in 0..3 {
        assert!(
            (s.first[i] - f[i]).abs() < 0.03,
            "Ishigami GP S{i}: {} vs {}",
            s.first[i],
            f[i]
        );
        assert!(
            (s.total[i] - t[i]).abs() < 0.03,
            "Ishigami GP ST{i}: {} vs {}",
            s.total[i],
            t[i]
        );
    }
    assert!(s.emulator_variance >= 0.0 && s.emulator_variance < 0.01 * s.variance);

    let d = sobol(512, 4, &SobolOptions::scrambled(2)).unwrap();
    let y: Vec<f64> = (0..512).map(|i| g_function(d.point(i), &G_A)).collect();
    let emu = GpEmulator::fit(d.to_inputs().unwrap(), &y, &EmulatorOptions::default()).unwrap();
    let s = gp_sobol_indices(&emu).unwrap();
    let (f, t) = g_function_indices(&G_A);
    for i in 0..4 {
        assert!(
            (s.first[i] - f[i]).abs() < 0.05,
            "g GP S{i}: {} vs {}",
            s.first[i],
            f[i]
        );
        assert!(
            (s.total[i] - t[i]).abs() < 0.05,
            "g GP ST{i}: {} vs {}",
            s.total[i],
            t[i]
        );
    }
    // With few runs the emulator is unsure, and says so in E*[V].
    let small = sobol(16, 4, &SobolOptions::scrambled(2)).unwrap();
    let ys: Vec<f64> = (0..16).map(|i| g_function(small.point(i), &G_A)).collect();
    let e = GpEmulator::fit(small.to_inputs().unwrap(), &ys, &EmulatorOptions::default()).unwrap();
    let ss = gp_sobol_indices(&e).unwrap();
    assert!(ss.emulator_variance / ss.variance > s.emulator_variance / s.variance);
}

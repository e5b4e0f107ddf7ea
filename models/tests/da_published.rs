//! The standard Lorenz-96 setting of Sakov & Oke (2008) (`models/data/l96_sakov2008.toml`):
//! the published time-mean analysis RMSEs are reproduced, and the methods rank as in the
//! literature: square-root filters < perturbed-observation EnKF < 3D-Var < optimal
//! interpolation < climatology.
//!
//! Published values: Sakov & Oke (2008, Tellus A 60, Table 1) for the EnKF (N = 40,
//! inflation 1.06: 0.22), DEnKF (N = 40, 1.01: 0.18) and ETKF (N = 24, 1.013, rotations:
//! 0.18); Bocquet (2011, NPG 18) for the EnKF-N (N = 24: 0.21) and, with the LETKF
//! setting of his Fig. 6 (N = 7, radius 4, inflation 1.04: 0.22); the extended KF (0.24),
//! 3D-Var (B = 0.02 B_clim: 0.41), optimal interpolation (0.95) and climatology (3.6) as
//! tabulated by DAPPER (`dapper/mods/Lorenz96/sakov2008.py`, which reproduces all of them).
//!
//! Run length: 2,500 cycles after a burn-in of 500 (Sakov & Oke ran 300,000). The
//! time-mean RMSE of a filter then has a standard error of 0.001–0.002 (measured over 8
//! seeds of the long-run example `da_sakov2008` at 3,000 cycles), and the published values
//! are rounded to 0.01; the tolerance is 0.02 for the filters (≈ 10 %), 0.03 for the
//! extended KF, and
//! 5 % for 3D-Var, optimal interpolation and climatology (whose B or mean is estimated
//! from a free run of 10⁴ steps here and from the truth itself in DAPPER). The ETKF with
//! random rotations and inflation 1.013 diverged in 1 of those 8 seeds (not in this one;
//! see docs/da.md).

use faer::Par;
use mechml_models::da::twin::{MethodKind, Setting, TwinConfig, run_method};

const SAKOV: &str = include_str!("../data/l96_sakov2008.toml");

fn setting() -> Setting {
    let mut cfg: TwinConfig = toml::from_str(SAKOV).unwrap();
    cfg.experiment.cycles = 3000;
    cfg.experiment.burn_in = 500;
    cfg.experiment.climatology_steps = 10_000;
    cfg.experiment.record_fields = 0;
    Setting::generate(&cfg).unwrap()
}

fn published(kind: MethodKind) -> (f64, f64) {
    use MethodKind::*;
    match kind {
        Enkf => (0.22, 0.02),
        Denkf => (0.18, 0.02),
        Etkf => (0.18, 0.02),
        EnkfN => (0.21, 0.02),
        Letkf => (0.22, 0.02),
        Ekf => (0.24, 0.03),
        Var3d => (0.41, 0.05 * 0.41),
        OptimalInterpolation => (0.95, 0.05 * 0.95),
        Climatology => (3.6, 0.05 * 3.6),
        other => panic!("no published value for {other:?}"),
    }
}

/// Runs the methods of `kinds` and checks each against its published value; returns their
/// time-mean analysis RMSEs.
fn check(setting: &Setting, kinds: &[MethodKind]) -> Vec<f64> {
    kinds
        .iter()
        .map(|&kind| {
            let i = setting
                .config
                .methods
                .iter()
                .position(|m| m.method == kind)
                .unwrap();
            let r = run_method(setting, i, Par::Seq).unwrap();
            let (p, tol) = published(kind);
            let got = r.summary.rmse_analysis;
            println!(
                "{:<36} rmse.a {got:.4} (published {p}, tolerance {tol:.3})",
                r.label
            );
            assert!(
                (got - p).abs() <= tol,
                "{}: {got} vs published {p} ± {tol}",
                r.label
            );
            got
        })
        .collect()
}

#[test]
fn sakov2008_ensemble_filters_reproduce_the_published_rmses() {
    let s = setting();
    use MethodKind::*;
    let r = check(&s, &[Etkf, Denkf, Enkf, EnkfN, Letkf]);
    // Square-root filters (ETKF, DEnKF) below the perturbed-observation EnKF.
    assert!(r[0] < r[2] && r[1] < r[2], "{r:?}");
}

#[test]
fn sakov2008_baselines_reproduce_the_published_rmses_and_the_ordering() {
    let s = setting();
    use MethodKind::*;
    let r = check(&s, &[Enkf, Ekf, Var3d, OptimalInterpolation, Climatology]);
    // EnKF < 3D-Var < OI < climatology.
    assert!(r[0] < r[2] && r[2] < r[3] && r[3] < r[4], "{r:?}");
}

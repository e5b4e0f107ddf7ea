//! Parameter recovery of the k-box EBM: coverage of the 95 % intervals over replicates
//! simulated from known parameters, for the two settings of `tests/ebm_fit.rs`:
//!
//! * a 2-box model driven by a forcing series (a ramp with volcanic-like dips), 500
//!   years of temperature, five free parameters (C₁, C₂, κ₁, κ₂, σ_ξ);
//! * the setting of Cummins, Stephenson & Stott (2020): a 3-box model with efficacy and
//!   stochastic forcing (γ, σ_η) under an abrupt step (F₄ₓ), temperature and
//!   top-of-atmosphere flux observed for 150 years, eleven free parameters.
//!
//! ```text
//! cargo run --release --example ebm_coverage -- [replicates (default 200)]
//! ```
//!
//! The output is quoted in `models/README.md`.

use mechml_models::ssm::ebm::recovery::{RecoveryStudy, recovery_study, synthetic_forcing};
use mechml_models::ssm::ebm::{EbmData, EbmPrior, KBoxEbm};
use mechml_models::ssm::fit::{FitOptions, Param, ParamLayout, default_fit_options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 200,
    };
    // 2-box: C1, C2, κ1, κ2, ε, σ_ξ, F, σ_T, T0.
    let truth2 = vec![8.0, 100.0, 1.2, 0.7, 1.0, 0.6, 1.0, 0.08, 0.0];
    let start2 = [5.0, 60.0, 1.0, 1.0, 1.0, 0.4];
    let study2 = RecoveryStudy {
        ebm: KBoxEbm::new(2, false, false)?,
        data: EbmData::template(synthetic_forcing(500), 1)?,
        truth: truth2,
        params: ParamLayout::new(vec![
            Param::positive("C1", start2[0]),
            Param::positive("C2", start2[1]),
            Param::positive("kappa1", start2[2]),
            Param::positive("kappa2", start2[3]),
            Param::real("epsilon", 1.0).held(),
            Param::positive("sigma_xi", start2[5]),
            Param::real("F", 1.0).held(),
            Param::real("sigma_T", 0.08).held(),
            Param::real("T0", 0.0).held(),
        ])?,
        prior: EbmPrior::Stationary,
        fit: FitOptions {
            n_starts: 2,
            ..default_fit_options()
        },
        f2x: 3.71,
    };
    let t0 = std::time::Instant::now();
    let r2 = recovery_study(&study2, reps, 100)?;
    println!(
        "2-box, forcing series, T = 500 ({:.1} s):\n{}",
        t0.elapsed().as_secs_f64(),
        r2.table()
    );
    // 3-box with stochastic forcing and flux: C1 C2 C3 κ1 κ2 κ3 ε σ_ξ γ σ_η F σ_T σ_N T0.
    let ebm3 = KBoxEbm::new(3, true, true)?;
    let truth3 = vec![
        5.0, 20.0, 100.0, 1.0, 2.0, 1.0, 1.2, 0.5, 2.0, 0.5, 5.0, 0.05, 0.05, 0.0,
    ];
    let params3 = ParamLayout::new(
        ebm3.param_names()
            .iter()
            .zip(&truth3)
            .map(|(n, &v)| match n.as_str() {
                "sigma_T" | "sigma_N" | "T0" => Param::real(n, v).held(),
                _ => Param::positive(n, v * 1.3),
            })
            .collect(),
    )?;
    let study3 = RecoveryStudy {
        ebm: ebm3,
        data: EbmData::template(vec![1.0; 150], 2)?,
        truth: truth3,
        params: params3,
        prior: EbmPrior::Stationary,
        fit: FitOptions {
            n_starts: 4,
            ..default_fit_options()
        },
        f2x: 5.0 / 2.0,
    };
    let t0 = std::time::Instant::now();
    let r3 = recovery_study(&study3, reps, 2020)?;
    println!(
        "3-box, stochastic forcing, step F4x, temperature and flux, T = 150 ({:.1} s):\n{}",
        t0.elapsed().as_secs_f64(),
        r3.table()
    );
    Ok(())
}

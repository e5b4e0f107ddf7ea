//! The k-box model checked against an independent re-implementation of the paper's
//! equations ([`paper`]): drift, input and noise matrices, observation rows, energy
//! conservation of the flux, the exact discretisation, the stationary prior, the
//! log-likelihood and the moments of simulated paths.
#![allow(clippy::needless_range_loop)]

mod paper;

use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::ssm::Observations;
use crate::ssm::discretize::discretize;
use crate::ssm::ebm::{EbmData, EbmPrior, KBoxEbm};
use crate::ssm::kalman::kalman_loglik;
use paper::*;

#[test]
fn continuous_matrices_are_the_papers_equations() {
    for (paper, ebm) in cases() {
        let sde = ebm.continuous(&paper.params()).unwrap();
        let n = paper.n();
        assert_eq!(sde.n, n);
        let a = paper.a();
        let b = paper.drift(&vec![0.0; n], 1.0);
        let sd = paper.noise_sd();
        for j in 0..n {
            assert!(
                close(sde.b[j], b[j], 1e-14),
                "{ebm:?} B[{j}]: {} vs {}",
                sde.b[j],
                b[j]
            );
            for i in 0..n {
                let idx = i + j * n;
                assert!(
                    close(sde.a[idx], a[idx], 1e-14),
                    "{ebm:?} A[{i},{j}]: {} vs {}",
                    sde.a[idx],
                    a[idx]
                );
                let w = if i == j { sd[i] * sd[i] } else { 0.0 };
                assert!(
                    close(sde.w[idx], w, 1e-14),
                    "{ebm:?} W[{i},{j}]: {} vs {w}",
                    sde.w[idx]
                );
            }
        }
    }
}

#[test]
fn observation_rows_are_the_papers_temperature_and_flux() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    for (paper, ebm) in cases() {
        let t_len = 4;
        let m = ebm.n_obs();
        let u: Vec<f64> = (0..t_len).map(|t| 0.3 + 0.7 * t as f64).collect();
        let data = EbmData::new(
            Observations::new(t_len, m, vec![0.0; t_len * m], 1, u.clone()).unwrap(),
            vec![0.01, 0.0, 0.02, 0.0],
            1.0,
        )
        .unwrap();
        let ssm = ebm
            .state_space(&paper.params(), &data, &EbmPrior::AtRest)
            .unwrap();
        let n = paper.n();
        for t in 0..t_len {
            let x: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
            let (h, d) = (ssm.h.at(t), ssm.d.at(t));
            let y: Vec<f64> = (0..m)
                .map(|i| d[i] + (0..n).map(|j| h[i + j * m] * x[j]).sum::<f64>())
                .collect();
            let t1 = x[usize::from(paper.stochastic)];
            assert!(
                close(y[0], t1 + paper.t0, 1e-14),
                "{ebm:?}: T {} vs {}",
                y[0],
                t1 + paper.t0
            );
            if m == 2 {
                let nf = paper.flux(&x, u[t]);
                assert!(
                    close(y[1], nf, 1e-13),
                    "{ebm:?} step {t}: N {} vs {nf}",
                    y[1]
                );
            }
            let r = ssm.r.at(t);
            let kv = data.known_var[t];
            assert!(close(r[0], paper.sigma_t.powi(2) + kv, 1e-14));
            if m == 2 {
                assert_eq!(r[1], 0.0);
                assert!(close(r[3], paper.sigma_n.powi(2), 1e-14));
            }
        }
    }
}

#[test]
fn flux_is_the_rate_of_heat_uptake_of_the_boxes() {
    // Energy conservation: the net downward flux at the top of the atmosphere is the
    // heat taken up by the boxes, N = Σᵢ Cᵢ dTᵢ/dt (deterministic part), with the
    // efficacy acting as an extra feedback (Held et al. 2010). Checked on the code's
    // drift matrix and flux row, independently of the paper's formula for N.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    for (paper, ebm) in cases().into_iter().filter(|(_, e)| e.observe_flux) {
        let p = paper.params();
        let sde = ebm.continuous(&p).unwrap();
        let data = EbmData::new(
            Observations::new(1, 2, vec![0.0; 2], 1, vec![0.0]).unwrap(),
            vec![0.0],
            1.0,
        )
        .unwrap();
        let n = paper.n();
        let o = ebm.t1_index();
        for _ in 0..5 {
            let x: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
            let u: f64 = rng.sample(StandardNormal);
            let data = EbmData {
                obs: Observations::new(1, 2, vec![0.0; 2], 1, vec![u]).unwrap(),
                ..data.clone()
            };
            let ssm = ebm.state_space(&p, &data, &EbmPrior::AtRest).unwrap();
            let (h, d) = (ssm.h.at(0), ssm.d.at(0));
            let flux = d[1] + (0..n).map(|j| h[1 + j * 2] * x[j]).sum::<f64>();
            let ax = matvec(&sde.a, &x);
            let uptake: f64 = (0..ebm.boxes)
                .map(|i| p.c[i] * (ax[o + i] + sde.b[o + i] * u))
                .sum();
            assert!(
                close(flux, uptake, 1e-12),
                "{ebm:?}: N {flux} vs Σ C dT/dt {uptake}"
            );
        }
    }
}

#[test]
fn exact_discretisation_matches_fine_step_integration_of_the_papers_equations() {
    for (paper, ebm) in cases().into_iter().filter(|(_, e)| !e.observe_flux) {
        let sde = ebm.continuous(&paper.params()).unwrap();
        let n = paper.n();
        for dt in [1.0, 0.25] {
            let disc = discretize(&sde, dt).unwrap();
            let steps = 400;
            // Φ column j: the mean from e_j without input; Γ: the mean from 0 with u = 1.
            for j in 0..n {
                let mut e = vec![0.0; n];
                e[j] = 1.0;
                let (col, _) = propagate(&paper, &e, &vec![0.0; n * n], 0.0, dt, steps);
                for i in 0..n {
                    let v = disc.phi[i + j * n];
                    assert!(
                        (v - col[i]).abs() < 1e-11,
                        "{ebm:?} Φ[{i},{j}] {v} vs {}",
                        col[i]
                    );
                }
            }
            let (g, q) = propagate(&paper, &vec![0.0; n], &vec![0.0; n * n], 1.0, dt, steps);
            for i in 0..n {
                assert!(
                    close(disc.gamma[i], g[i], 1e-9) || (disc.gamma[i] - g[i]).abs() < 1e-13,
                    "{ebm:?} Γ[{i}] {} vs {}",
                    disc.gamma[i],
                    g[i]
                );
                for j in 0..n {
                    let (a, b) = (disc.q[i + j * n], q[i + j * n]);
                    let scale = (q[i + i * n] * q[j + j * n]).sqrt();
                    assert!(
                        (a - b).abs() < 1e-9 * scale,
                        "{ebm:?} Q[{i},{j}] {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn stationary_prior_is_the_continuous_stationary_law() {
    for (paper, ebm) in cases().into_iter().filter(|(_, e)| !e.observe_flux) {
        let data = EbmData::new(
            Observations::new(1, 1, vec![0.0], 1, vec![0.0]).unwrap(),
            vec![0.0],
            1.0,
        )
        .unwrap();
        let ssm = ebm
            .state_space(&paper.params(), &data, &EbmPrior::Stationary)
            .unwrap();
        let p_inf = continuous_lyapunov(&paper);
        let n = paper.n();
        for idx in 0..n * n {
            let (i, j) = (idx % n, idx / n);
            let scale = (p_inf[i + i * n] * p_inf[j + j * n]).sqrt();
            assert!(
                (ssm.p1[idx] - p_inf[idx]).abs() < 1e-8 * scale,
                "{ebm:?} P∞[{i},{j}] {} vs {}",
                ssm.p1[idx],
                p_inf[idx]
            );
        }
        assert!(ssm.m1.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn likelihood_equals_the_dense_gaussian_of_the_papers_sde() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
    for (paper, ebm) in cases() {
        let t_len = 7;
        let m = ebm.n_obs();
        let u: Vec<f64> = (0..t_len)
            .map(|t| 0.2 * t as f64 + if t == 3 { -1.5 } else { 0.0 })
            .collect();
        let kv: Vec<f64> = (0..t_len)
            .map(|t| if t % 2 == 0 { 0.003 * t as f64 } else { 0.0 })
            .collect();
        let mut y: Vec<f64> = (0..t_len * m)
            .map(|_| 0.5 * rng.sample::<f64, _>(StandardNormal))
            .collect();
        y[2 * m] = f64::NAN; // a missing year
        let data = EbmData::new(
            Observations::new(t_len, m, y.clone(), 1, u.clone()).unwrap(),
            kv.clone(),
            1.0,
        )
        .unwrap();
        for prior in [EbmPrior::Stationary, EbmPrior::AtRest] {
            let ssm = ebm.state_space(&paper.params(), &data, &prior).unwrap();
            let ll = kalman_loglik(&ssm, &data.obs).unwrap();
            let p0 = match prior {
                EbmPrior::Stationary => continuous_lyapunov(&paper),
                _ => vec![0.0; paper.n().pow(2)],
            };
            let reference = independent_loglik(&paper, m, &y, &u, &kv, &p0);
            assert!(
                (ll - reference).abs() < 1e-7 * reference.abs().max(1.0),
                "{ebm:?} {prior:?}: Kalman {ll} vs dense {reference}"
            );
        }
    }
}

#[test]
fn moments_match_an_euler_maruyama_simulation_of_the_scalar_equations() {
    // Paths of the paper's scalar SDEs from rest (step forcing u = 1), simulated with
    // Euler–Maruyama at h = 1/200 yr; after 3 years the sample mean and covariance of
    // (T₁, N) against the model's moments (state-space recursion from rest).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let paper = Paper::random(3, true, &mut rng);
    let ebm = KBoxEbm::new(3, true, true).unwrap();
    let n = paper.n();
    let (years, sub, paths) = (3usize, 200usize, 4000usize);
    let h = 1.0 / sub as f64;
    let sd = paper.noise_sd();
    let mut samples = Vec::with_capacity(paths);
    for _ in 0..paths {
        let mut x = vec![0.0; n];
        for _ in 0..years * sub {
            let d = paper.drift(&x, 1.0);
            for i in 0..n {
                let dw: f64 = rng.sample::<f64, _>(StandardNormal) * h.sqrt();
                x[i] += d[i] * h + sd[i] * dw;
            }
        }
        samples.push([x[1], paper.flux(&x, 1.0)]);
    }
    // The model's moments of (T₁, N) at step `years` from x₁ = 0 (prior at rest).
    let t_len = years + 1;
    let data = EbmData::new(
        Observations::new(t_len, 2, vec![0.0; 2 * t_len], 1, vec![1.0; t_len]).unwrap(),
        vec![0.0; t_len],
        1.0,
    )
    .unwrap();
    let ssm = ebm
        .state_space(&paper.params(), &data, &EbmPrior::AtRest)
        .unwrap();
    let (f, b, q, hh) = (ssm.f.at(0), ssm.b.at(0), ssm.q.at(0), ssm.h.at(0));
    let mut mean = vec![0.0; n];
    let mut cov = vec![0.0; n * n];
    for _ in 0..years {
        let mut next = matvec(f, &mean);
        for i in 0..n {
            next[i] += b[i];
        }
        mean = next;
        let mut fc = vec![0.0; n * n];
        for j in 0..n {
            let col = matvec(f, &cov[j * n..(j + 1) * n]);
            fc[j * n..(j + 1) * n].copy_from_slice(&col);
        }
        let mut c2 = q.to_vec();
        for i in 0..n {
            for j in 0..n {
                c2[i + j * n] += (0..n).map(|l| fc[i + l * n] * f[j + l * n]).sum::<f64>();
            }
        }
        cov = c2;
    }
    let obs_row = |i: usize| -> Vec<f64> { (0..n).map(|j| hh[i + j * 2]).collect() };
    let (r0, r1) = (obs_row(0), obs_row(1));
    let d = ssm.d.at(years);
    let mom = |ra: &[f64], rb: &[f64]| -> f64 {
        (0..n)
            .map(|i| (0..n).map(|j| ra[i] * cov[i + j * n] * rb[j]).sum::<f64>())
            .sum()
    };
    let model_mean = [
        d[0] + (0..n).map(|j| r0[j] * mean[j]).sum::<f64>(),
        d[1] + (0..n).map(|j| r1[j] * mean[j]).sum::<f64>(),
    ];
    let model_cov = [
        [mom(&r0, &r0), mom(&r0, &r1)],
        [mom(&r1, &r0), mom(&r1, &r1)],
    ];
    let np = paths as f64;
    let smean = [0, 1].map(|a| samples.iter().map(|s| s[a]).sum::<f64>() / np);
    for a in 0..2 {
        // The EM scheme's bias at this step is O(h) ≪ the Monte Carlo error.
        let se = (model_cov[a][a] / np).sqrt();
        let z = (smean[a] - model_mean[a] + if a == 0 { paper.t0 } else { 0.0 }) / se;
        assert!(
            z.abs() < 4.0,
            "mean {a}: sample {} model {} (z {z})",
            smean[a],
            model_mean[a]
        );
        for bb in 0..2 {
            let scov = samples
                .iter()
                .map(|s| (s[a] - smean[a]) * (s[bb] - smean[bb]))
                .sum::<f64>()
                / (np - 1.0);
            // Standard error of a sample covariance of Gaussians: √((σ_aa σ_bb + σ_ab²)/N).
            let se = ((model_cov[a][a] * model_cov[bb][bb] + model_cov[a][bb].powi(2)) / np).sqrt();
            let z = (scov - model_cov[a][bb]) / se;
            assert!(
                z.abs() < 4.0,
                "cov {a}{bb}: sample {scov} model {} (z {z})",
                model_cov[a][bb]
            );
        }
    }
}

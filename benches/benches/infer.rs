//! `infer/*` (WORKLOADS.md §8): NUTS sampling efficiency, reported as the minimum bulk
//! effective sample size over parameters per second of total sampling time (warm-up
//! included), with R-hat. Single-threaded: the chains run one after another
//! (`parallel: false`; faer's dense kernels are not used by these densities).
//!
//! * `infer/gaussian_d100/nuts` (§8.2): N(0, Σ), d = 100, Σ_ij = 0.9^|i−j|, 4 chains ×
//!   (1,000 warm-up + 1,000 draws), target acceptance 0.8, diagonal mass matrix. The log
//!   density `−½ xᵀ P x` (P = Σ⁻¹ precomputed, dense) is recorded on the tape as one
//!   block whose pullback is `−P x` (d² multiply-adds per gradient, as the NumPyro peer's
//!   `x @ P @ x` in `benches/peers/numpyro_gaussian_d100.py`).
//! * `infer/ebm2box_hadcrut5/nuts` (§8.1): the demo's 2-box EBM on HadCRUT5 (known
//!   observation variance from its 95 % interval, RCP4.5 forcing from 1765, ε = 1 and the
//!   forcing scale held) with the §8.1 priors, as
//!   [`EbmDensity`](mechml_models::ssm::ebm::bayes::EbmDensity): the Kalman
//!   log-likelihood as one tape block plus the priors and the log-Jacobian of the log
//!   transforms; same sampler settings, random inits in (−2, 2) on the unconstrained scale.
//!   Peer: `benches/peers/numpyro_ebm2box_hadcrut5.py` (the same filter in JAX,
//!   `lax.scan`); both print the log-likelihood at a fixed θ as a cross-check. Figures
//!   (docs/infer.md): mechml 115 ESS/s (R-hat 1.006), NumPyro 2.8 ESS/s (R-hat 1.004,
//!   JIT included), on a loaded 2-core machine.
//!
//! Criterion times whole sampling runs (each with its own seed); after them the harness
//! prints, over the same runs, the median time, the median minimum bulk-ESS, their
//! ratio (ESS/s) and the largest R-hat. Run:
//! `cargo bench -p mechml-benches --bench infer`, and the peer with
//! `taskset -c 0 /work/venv-peers/bin/python benches/peers/numpyro_gaussian_d100.py`
//! (`numpyro_ebm2box_hadcrut5.py` for the EBM). `MECHML_BENCH_ONLY=ebm` or `=gaussian`
//! runs one workload.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mechml_engine::ad::block::{BlockOp, InputAdjoints};
use mechml_engine::ad::{Tape, VarVec};
use mechml_engine::infer::{LogDensity, MetricKind, NutsOptions, Prior, TapeFn, sample};
use mechml_models::ssm::ebm::bayes::EbmDensity;
use mechml_models::ssm::ebm::{EbmFamily, KBoxEbm};

/// `−½ xᵀ P x` as one tape block; saves `P x` for the pullback `x̄ = −ḡ P x`.
struct GaussianQuad {
    px: Vec<f64>,
}

impl BlockOp for GaussianQuad {
    fn name(&self) -> &'static str {
        "gaussian_quad"
    }
    fn pullback(
        &self,
        g: &[f64],
        inputs: &mut InputAdjoints<'_, f64>,
    ) -> mechml_engine::Result<()> {
        if let Some(mut dx) = inputs.arg(0) {
            dx.iter_mut()
                .zip(&self.px)
                .for_each(|(d, v)| *d -= g[0] * v);
        }
        Ok(())
    }
}

/// Dot product in four partial sums.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    for (x, y) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    let r = a.len() / 4 * 4;
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + dot_tail(&a[r..], &b[r..])
}

fn dot_tail(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The §8.2 target: `N(0, Σ)`, `Σ_ij = 0.9^|i−j|`, d = 100.
fn gaussian_d100() -> impl LogDensity + Clone + Send {
    let d = 100;
    // Σ⁻¹ of the AR(1) correlation is tridiagonal: (1/(1−ρ²)) [1, −ρ; −ρ, 1+ρ², …];
    // stored dense so the work per gradient is the peer's d² multiply-adds.
    let rho: f64 = 0.9;
    let mut p = vec![0.0; d * d];
    for i in 0..d {
        p[i * d + i] = if i == 0 || i == d - 1 {
            1.0
        } else {
            1.0 + rho * rho
        };
        if i + 1 < d {
            p[i * d + i + 1] = -rho;
            p[(i + 1) * d + i] = -rho;
        }
    }
    p.iter_mut().for_each(|v| *v /= 1.0 - rho * rho);
    let p = Arc::new(p);
    TapeFn::new(d, move |t: &Tape, x: &VarVec<'_>| {
        let xv = x.values();
        let px: Vec<f64> = (0..d).map(|i| dot(&p[i * d..(i + 1) * d], xv)).collect();
        let v = -0.5 * dot(xv, &px);
        let start = t.push_block(GaussianQuad { px }, &[x.arg()], 1)?;
        Ok(VarVec::from_block(t, start, vec![v])
            .get(0)
            .expect("one output"))
    })
}

/// Benchmarks one NUTS workload and prints its ESS/s figure.
pub fn bench_workload<D: LogDensity + Clone + Send>(
    c: &mut Criterion,
    id: &str,
    density: &D,
    opts: &NutsOptions,
) {
    let runs: RefCell<Vec<(Duration, f64, f64)>> = RefCell::new(Vec::new());
    let mut group = c.benchmark_group("infer");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(1));
    group.bench_function(id.trim_start_matches("infer/"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let seed = runs.borrow().len() as u64;
                let o = NutsOptions {
                    seed,
                    ..opts.clone()
                };
                let t0 = Instant::now();
                let post = sample(density, &o).expect("sampling");
                let dt = t0.elapsed();
                total += dt;
                let ess = post.summary.min_ess_bulk().unwrap_or(f64::NAN);
                let rhat = post.summary.max_rhat().unwrap_or(f64::NAN);
                runs.borrow_mut().push((dt, ess, rhat));
            }
            total
        })
    });
    group.finish();
    let runs = runs.into_inner();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let t = median(runs.iter().map(|r| r.0.as_secs_f64()).collect());
    let ess = median(runs.iter().map(|r| r.1).collect());
    let per_run = median(runs.iter().map(|r| r.1 / r.0.as_secs_f64()).collect());
    let rhat = runs.iter().map(|r| r.2).fold(f64::NAN, f64::max);
    println!(
        "{id}: {} runs; median time {t:.3} s, median min bulk-ESS {ess:.0}, median ESS/s {per_run:.0}, max R-hat {rhat:.4}",
        runs.len()
    );
}

/// The §8.1 posterior: the demo's 2-box model and data with the workload's priors.
fn ebm2box_hadcrut5() -> EbmDensity {
    let res = mechml_models::cli::demo::resolved().expect("the demo's data resolve");
    let data = res
        .ebm_data(&res.historical, res.last_observed_year())
        .expect("the demo's EBM data");
    let ebm = KBoxEbm::new(2, false, false).expect("a 2-box model");
    let layout = res.params(&ebm).expect("the demo's parameters");
    assert_eq!(
        layout.free_names(),
        ["C1", "C2", "kappa1", "kappa2", "sigma_xi", "T0"]
    );
    let ln = |m: f64, s: f64| Prior::LogNormal {
        mu: m.ln(),
        sigma: s,
    };
    let priors = vec![
        ln(8.0, 0.5),
        ln(100.0, 0.5),
        ln(1.2, 0.5),
        ln(0.7, 0.5),
        Prior::HalfNormal { sigma: 0.5 },
        Prior::Normal {
            mu: -0.3,
            sigma: 0.5,
        },
    ];
    let family = EbmFamily {
        ebm,
        data,
        prior: res.prior(),
    };
    // Cross-check with the peer: the log-likelihood at a fixed θ.
    let mut theta = layout.values();
    for (name, v) in [
        ("C1", 8.0),
        ("C2", 100.0),
        ("kappa1", 1.2),
        ("kappa2", 0.7),
        ("sigma_xi", 0.5),
        ("T0", -0.3),
    ] {
        theta[layout.index_of(name).expect("a parameter")] = v;
    }
    let ll = mechml_models::ssm::fit::loglik_at(&family, &theta).expect("log-likelihood");
    println!("infer/ebm2box_hadcrut5: log-likelihood at (8, 100, 1.2, 0.7, 0.5, -0.3) = {ll:.10}");
    EbmDensity::posterior(family, layout, priors).expect("the §8.1 posterior")
}

fn bench(c: &mut Criterion) {
    let opts = NutsOptions {
        n_chains: 4,
        n_warmup: 1000,
        n_draws: 1000,
        metric: MetricKind::Diagonal,
        parallel: false,
        ..NutsOptions::default()
    };
    // Reading the environment is fine here: a benchmark binary, not library code.
    let only = std::env::var("MECHML_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "gaussian" {
        bench_workload(c, "infer/gaussian_d100/nuts", &gaussian_d100(), &opts);
    }
    if only.is_empty() || only == "ebm" {
        bench_workload(c, "infer/ebm2box_hadcrut5/nuts", &ebm2box_hadcrut5(), &opts);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

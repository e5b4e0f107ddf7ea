//! ODE workloads of WORKLOADS.md §1–2: `ode_primal/{lorenz63, robertson, lorenz96_n40}`
//! and `ode_grad/{lorenz63, lotka_volterra}`, single-threaded.
//!
//! ```text
//! cargo bench -p mechml-benches --bench ode                    # mechml only
//! cargo bench -p mechml-benches --bench ode --features peers   # with diffsol side by side
//! ```
//!
//! Before timing, each group prints its counts (steps, RHS evaluations, Jacobians, LU
//! factorisations), its error against the reference values of §7 and, for gradients,
//! the gradient errors and the peak memory of each sensitivity method at T = 100.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mechml_engine::ode::problems::{Lorenz63, Lorenz96, LotkaVolterra, Robertson};
use mechml_engine::ode::{
    Checkpointing, Method, OdeOptions, OdeProblem, OdeRhs, OdeSolution, PiController, Sensitivity,
    SensitivitySolve, gradient, solve,
};

/// Reference values (§7), from the engine's test data.
fn reference(name: &str) -> Vec<f64> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../engine/tests/data/ode_reference.txt"
    );
    let text = std::fs::read_to_string(path).expect("engine/tests/data/ode_reference.txt");
    text.lines()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(name)).then(|| it.map(|v| v.parse().unwrap()).collect())
        })
        .unwrap_or_else(|| panic!("no reference {name}"))
}

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn lorenz(t1: f64) -> OdeProblem<Lorenz63> {
    OdeProblem::new(
        Lorenz63,
        0.0,
        t1,
        vec![1.0, 0.0, 0.0],
        vec![10.0, 28.0, 8.0 / 3.0],
    )
    .unwrap()
}

fn robertson() -> OdeProblem<Robertson> {
    OdeProblem::new(
        Robertson,
        0.0,
        1e5,
        vec![1.0, 0.0, 0.0],
        vec![0.04, 3e7, 1e4],
    )
    .unwrap()
}

fn lorenz96(t1: f64) -> OdeProblem<Lorenz96> {
    let mut y0 = vec![8.0; 40];
    y0[0] = 8.01;
    OdeProblem::new(Lorenz96 { n: 40 }, 0.0, t1, y0, vec![8.0]).unwrap()
}

fn lotka_volterra(t1: f64) -> OdeProblem<LotkaVolterra> {
    OdeProblem::new(
        LotkaVolterra,
        0.0,
        t1,
        vec![1.0, 1.0],
        vec![1.5, 1.0, 3.0, 1.0],
    )
    .unwrap()
}

fn opts(rtol: f64, atol: f64) -> OdeOptions {
    OdeOptions {
        max_steps: 1_000_000,
        ..OdeOptions::with_tol(rtol, atol)
    }
}

fn describe(name: &str, sol: &OdeSolution) {
    let s = sol.stats;
    eprintln!(
        "  {name:<24} accepted {:>6}  rejected {:>5}  rhs {:>7}  jac {:>4}  lu {:>4}",
        s.n_accepted, s.n_rejected, s.n_rhs, s.n_jac, s.n_lu
    );
}

fn group_timing<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

fn bench_primal(c: &mut Criterion) {
    // Lorenz-63 (§1a): rtol = atol = 1e-8, t ≤ 100; correctness on y(10).
    let o = opts(1e-8, 1e-8);
    let l10 = reference("lorenz63_y10");
    eprintln!(
        "ode_primal/lorenz63 (rtol = atol = 1e-8; diffrax Tsit5: 9205 + 934 steps, 60836 RHS)"
    );
    let methods = [
        (Method::Tsit5, "tsit5"),
        (Method::Dopri5, "dopri5"),
        (Method::Vern7, "vern7"),
    ];
    for (m, name) in methods {
        describe(name, &solve(&lorenz(100.0), m, &o).unwrap());
        let y10 = solve(&lorenz(10.0), m, &o).unwrap();
        eprintln!(
            "  {name:<24} |y(10) - ref| = {:.2e}",
            max_err(y10.y_final(), &l10)
        );
    }
    let mut g = group_timing(c, "ode_primal/lorenz63");
    for (m, name) in methods {
        let p = lorenz(100.0);
        g.bench_function(name, |b| {
            b.iter(|| black_box(solve(black_box(&p), m, &o).unwrap().ys[0][0]))
        });
    }
    #[cfg(feature = "peers")]
    peers::lorenz63(&mut g);
    g.finish();

    // Robertson (§1b): rtol = 1e-6, atol = 1e-10 to t = 1e5.
    let o = opts(1e-6, 1e-10);
    let o_pi = o.clone().controller(PiController::pi(0.3, 0.3));
    let r = reference("robertson_y1e5");
    eprintln!("ode_primal/robertson (rtol 1e-6, atol 1e-10)");
    let methods = [
        (Method::Rodas5P, "rodas5p", &o),
        (Method::Kvaerno5, "kvaerno5", &o),
        (Method::Kvaerno5, "kvaerno5_pi", &o_pi),
        (Method::Bdf, "bdf", &o),
    ];
    for (m, name, oo) in methods {
        let sol = solve(&robertson(), m, oo).unwrap();
        describe(name, &sol);
        let rel: Vec<String> = sol
            .y_final()
            .iter()
            .zip(&r)
            .map(|(a, b)| format!("{:.1e}", (a - b) / b))
            .collect();
        eprintln!("  {name:<24} relative error of y(1e5) = {rel:?}");
    }
    let mut g = group_timing(c, "ode_primal/robertson");
    for (m, name, oo) in methods {
        let p = robertson();
        g.bench_function(name, |b| {
            b.iter(|| black_box(solve(black_box(&p), m, oo).unwrap().ys[0][0]))
        });
    }
    #[cfg(feature = "peers")]
    peers::robertson(&mut g);
    g.finish();

    // Lorenz-96 (§1c): N = 40, rtol = atol = 1e-6 to t = 10; correctness on y(1).
    let o = opts(1e-6, 1e-6);
    let r1 = reference("lorenz96_y1");
    eprintln!("ode_primal/lorenz96_n40 (rtol = atol = 1e-6)");
    let methods = [
        (Method::Tsit5, "tsit5"),
        (Method::Dopri5, "dopri5"),
        (Method::Vern7, "vern7"),
    ];
    for (m, name) in methods {
        describe(name, &solve(&lorenz96(10.0), m, &o).unwrap());
        let y1 = solve(&lorenz96(1.0), m, &o).unwrap();
        eprintln!(
            "  {name:<24} |y(1) - ref| = {:.2e}",
            max_err(y1.y_final(), &r1)
        );
    }
    let mut g = group_timing(c, "ode_primal/lorenz96_n40");
    for (m, name) in methods {
        let p = lorenz96(10.0);
        g.bench_function(name, |b| {
            b.iter(|| black_box(solve(black_box(&p), m, &o).unwrap().ys[0][0]))
        });
    }
    #[cfg(feature = "peers")]
    peers::lorenz96(&mut g);
    g.finish();
}

/// L = Σ y(T)² and its cotangent.
fn sum_sq(sol: &OdeSolution) -> (f64, Vec<Vec<f64>>) {
    let y = sol.y_final();
    (
        y.iter().map(|v| v * v).sum(),
        vec![y.iter().map(|v| 2.0 * v).collect()],
    )
}

const SENS: [(Sensitivity, &str); 5] = [
    (Sensitivity::Forward, "forward"),
    (
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::Auto,
        },
        "discrete_adjoint",
    ),
    (
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::All,
        },
        "discrete_adjoint_all",
    ),
    (
        Sensitivity::ContinuousAdjoint {
            checkpointing: Checkpointing::Auto,
        },
        "continuous_adjoint",
    ),
    (Sensitivity::Backsolve, "backsolve"),
];

fn grad_workload<F: OdeRhs + Clone>(
    c: &mut Criterion,
    id: &str,
    key: &str,
    make: impl Fn(f64) -> OdeProblem<F>,
) {
    let o = opts(1e-6, 1e-6);
    let p10 = make(10.0);
    let (l_ref, gy_ref, gp_ref) = (
        reference(&format!("{key}_loss"))[0],
        reference(&format!("{key}_dloss_dy0")),
        reference(&format!("{key}_dloss_dp")),
    );
    eprintln!("{id} (Tsit5, rtol = atol = 1e-6, T = 10; memory at T = 100)");
    let mut usable = Vec::new();
    for (s, name) in SENS {
        match gradient(&p10, Method::Tsit5, &o, s, sum_sq) {
            Ok((l, g)) => {
                let rel = |a: &[f64], b: &[f64]| {
                    max_err(a, b) / b.iter().fold(1.0f64, |m, v| m.max(v.abs()))
                };
                // Memory at T = 100 (backsolve stores nothing: skipped, it may not finish).
                let mem = if s == Sensitivity::Backsolve {
                    Err(mechml_engine::Error::Unsupported {
                        op: "memory",
                        reason: "stores nothing".into(),
                    })
                } else {
                    SensitivitySolve::new(&make(100.0), Method::Tsit5, &o, s).and_then(|sv| {
                        let w = sum_sq(sv.solution()).1;
                        Ok((sv.vjp(&w)?, sv.solution().stats.n_accepted))
                    })
                };
                let mem = match mem {
                    Ok((g, n)) => format!(
                        "T=100: {n} steps, {} checkpoints, peak {} f64 + grid {} f64",
                        g.info.n_checkpoints, g.info.peak_stored_f64, g.info.grid_f64
                    ),
                    Err(e) => format!("T=100: {e}"),
                };
                eprintln!(
                    "  {name:<22} L err {:.1e}  dL/dy0 rel err {:.1e}  dL/dp rel err {:.1e}  {mem}",
                    (l - l_ref).abs() / l_ref.abs(),
                    rel(&g.y0, &gy_ref),
                    rel(&g.p, &gp_ref)
                );
                usable.push((s, name));
            }
            Err(e) => eprintln!("  {name:<22} fails: {e}"),
        }
    }
    let mut g = group_timing(c, id);
    g.bench_function("primal", |b| {
        b.iter(|| black_box(sum_sq(&solve(black_box(&p10), Method::Tsit5, &o).unwrap()).0))
    });
    for (s, name) in usable {
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    gradient(black_box(&p10), Method::Tsit5, &o, s, sum_sq)
                        .unwrap()
                        .1
                        .p[0],
                )
            })
        });
    }
    g.finish();
}

fn bench_grad(c: &mut Criterion) {
    grad_workload(c, "ode_grad/lorenz63", "lorenz63", lorenz);
    grad_workload(
        c,
        "ode_grad/lotka_volterra",
        "lotka_volterra",
        lotka_volterra,
    );
}

#[cfg(feature = "peers")]
mod peers {
    //! diffsol (crates.io), in process, on the same problems and tolerances: its Tsit5(4)
    //! for the explicit workloads, BDF and TR-BDF2 with an analytic Jacobian action for
    //! Robertson (dense nalgebra LU), stepping to the final time without saving
    //! intermediate states.

    use super::*;
    use criterion::BenchmarkGroup;
    use criterion::measurement::WallTime;
    use diffsol::{
        NalgebraLU, NalgebraMat, OdeBuilder, OdeSolverMethod, OdeSolverStopReason, Vector,
    };

    type M = NalgebraMat<f64>;

    /// Steps to `t1`; returns the final state and the step count.
    fn run<
        'a,
        S: OdeSolverMethod<'a, E>,
        E: diffsol::OdeEquations<V = diffsol::NalgebraVec<f64>, T = f64> + 'a,
    >(
        mut s: S,
        t1: f64,
    ) -> (Vec<f64>, usize) {
        s.set_stop_time(t1).unwrap();
        loop {
            match s.step().unwrap() {
                OdeSolverStopReason::TstopReached => break,
                _ => continue,
            }
        }
        let st = s.get_statistics().number_of_steps;
        (s.state().y.clone_as_vec(), st)
    }

    pub fn lorenz63(g: &mut BenchmarkGroup<'_, WallTime>) {
        let build = || {
            OdeBuilder::<M>::new()
                .rtol(1e-8)
                .atol([1e-8])
                .p([10.0, 28.0, 8.0 / 3.0])
                .rhs_implicit(
                    |y: &[f64], p: &[f64], _t: f64, dy: &mut [f64]| {
                        dy[0] = p[0] * (y[1] - y[0]);
                        dy[1] = y[0] * (p[1] - y[2]) - y[1];
                        dy[2] = y[0] * y[1] - p[2] * y[2];
                    },
                    |y: &[f64], p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]| {
                        jv[0] = p[0] * (v[1] - v[0]);
                        jv[1] = v[0] * (p[1] - y[2]) - y[0] * v[2] - v[1];
                        jv[2] = v[0] * y[1] + y[0] * v[1] - p[2] * v[2];
                    },
                )
                .init(
                    |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&[1.0, 0.0, 0.0]),
                    3,
                )
                .build()
                .unwrap()
        };
        let prob = build();
        let (y, steps) = run(prob.tsit45().unwrap(), 10.0);
        eprintln!(
            "  diffsol_tsit45: |y(10) - ref| = {:.2e}",
            max_err(&y, &reference("lorenz63_y10"))
        );
        let (_, steps100) = run(prob.tsit45().unwrap(), 100.0);
        eprintln!("  diffsol_tsit45: {steps100} steps to t = 100 ({steps} to t = 10)");
        g.bench_function("diffsol_tsit45", |b| {
            b.iter(|| black_box(run(prob.tsit45().unwrap(), 100.0).0[0]))
        });
    }

    pub fn robertson(g: &mut BenchmarkGroup<'_, WallTime>) {
        let prob = OdeBuilder::<M>::new()
            .rtol(1e-6)
            .atol([1e-10])
            .p([0.04, 3e7, 1e4])
            .rhs_implicit(
                |y: &[f64], p: &[f64], _t: f64, dy: &mut [f64]| {
                    dy[0] = -p[0] * y[0] + p[2] * y[1] * y[2];
                    dy[1] = p[0] * y[0] - p[2] * y[1] * y[2] - p[1] * y[1] * y[1];
                    dy[2] = p[1] * y[1] * y[1];
                },
                |y: &[f64], p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]| {
                    jv[0] = -p[0] * v[0] + p[2] * (v[1] * y[2] + y[1] * v[2]);
                    jv[1] =
                        p[0] * v[0] - p[2] * (v[1] * y[2] + y[1] * v[2]) - 2.0 * p[1] * y[1] * v[1];
                    jv[2] = 2.0 * p[1] * y[1] * v[1];
                },
            )
            .init(
                |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&[1.0, 0.0, 0.0]),
                3,
            )
            .build()
            .unwrap();
        let r = reference("robertson_y1e5");
        let (y, steps) = run(prob.bdf::<NalgebraLU<f64>>().unwrap(), 1e5);
        eprintln!(
            "  diffsol_bdf: {steps} steps, relative error {:.2e}",
            max_err(&y, &r) / r[2]
        );
        let (y, steps) = run(prob.tr_bdf2::<NalgebraLU<f64>>().unwrap(), 1e5);
        eprintln!(
            "  diffsol_tr_bdf2: {steps} steps, relative error {:.2e}",
            max_err(&y, &r) / r[2]
        );
        let (y, steps) = run(prob.esdirk34::<NalgebraLU<f64>>().unwrap(), 1e5);
        eprintln!(
            "  diffsol_esdirk34: {steps} steps, relative error {:.2e}",
            max_err(&y, &r) / r[2]
        );
        g.bench_function("diffsol_bdf", |b| {
            b.iter(|| black_box(run(prob.bdf::<NalgebraLU<f64>>().unwrap(), 1e5).0[0]))
        });
        g.bench_function("diffsol_tr_bdf2", |b| {
            b.iter(|| black_box(run(prob.tr_bdf2::<NalgebraLU<f64>>().unwrap(), 1e5).0[0]))
        });
        g.bench_function("diffsol_esdirk34", |b| {
            b.iter(|| black_box(run(prob.esdirk34::<NalgebraLU<f64>>().unwrap(), 1e5).0[0]))
        });
    }

    pub fn lorenz96(g: &mut BenchmarkGroup<'_, WallTime>) {
        const N: usize = 40;
        let prob = OdeBuilder::<M>::new()
            .rtol(1e-6)
            .atol([1e-6])
            .p([8.0])
            .rhs_implicit(
                |x: &[f64], p: &[f64], _t: f64, dy: &mut [f64]| {
                    for i in 0..N {
                        let (ip1, im1, im2) = ((i + 1) % N, (i + N - 1) % N, (i + N - 2) % N);
                        dy[i] = (x[ip1] - x[im2]) * x[im1] - x[i] + p[0];
                    }
                },
                |x: &[f64], _p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]| {
                    for i in 0..N {
                        let (ip1, im1, im2) = ((i + 1) % N, (i + N - 1) % N, (i + N - 2) % N);
                        jv[i] = (v[ip1] - v[im2]) * x[im1] + (x[ip1] - x[im2]) * v[im1] - v[i];
                    }
                },
            )
            .init(
                |_p: &[f64], _t: f64, y: &mut [f64]| {
                    y.fill(8.0);
                    y[0] = 8.01;
                },
                N,
            )
            .build()
            .unwrap();
        let (y, _) = run(prob.tsit45().unwrap(), 1.0);
        eprintln!(
            "  diffsol_tsit45: |y(1) - ref| = {:.2e}",
            max_err(&y, &reference("lorenz96_y1"))
        );
        let (_, steps) = run(prob.tsit45().unwrap(), 10.0);
        eprintln!("  diffsol_tsit45: {steps} steps to t = 10");
        g.bench_function("diffsol_tsit45", |b| {
            b.iter(|| black_box(run(prob.tsit45().unwrap(), 10.0).0[0]))
        });
    }
}

criterion_group!(benches, bench_primal, bench_grad);
criterion_main!(benches);

//! Temporary: prints solver outputs bit for bit, to compare before/after a refactor.
use mechml_engine::ad::Tape;
use mechml_engine::ode::problems::*;
use mechml_engine::ode::*;

fn p<F: OdeRhs>(name: &str, r: mechml_engine::Result<OdeSolution>) {
    match r {
        Ok(s) => println!(
            "{name}: ts={:?} ys={:?} stats={:?} dense={:?}",
            s.ts,
            s.ys,
            s.stats,
            s.dense.as_ref().map(|d| (
                d.n_segments(),
                d.eval(d.span().unwrap().0 * 0.5 + d.span().unwrap().1 * 0.5)
                    .unwrap()
            ))
        ),
        Err(e) => println!("{name}: ERR {e:?}"),
    }
    let _ = std::marker::PhantomData::<F>;
}

fn sum_sq(sol: &OdeSolution) -> (f64, Vec<Vec<f64>>) {
    let w: Vec<Vec<f64>> = sol
        .ys
        .iter()
        .map(|y| y.iter().map(|v| 2.0 * v).collect())
        .collect();
    (sol.ys.iter().flatten().map(|v| v * v).sum(), w)
}

fn main() {
    let all = [
        Method::Tsit5,
        Method::Dopri5,
        Method::Bosh3,
        Method::Vern7,
        Method::Rodas5P,
        Method::Kvaerno5,
        Method::Bdf,
    ];
    let stiff = [Method::Rodas5P, Method::Kvaerno5, Method::Bdf];
    let lor = |t1| {
        OdeProblem::new(
            Lorenz63,
            0.0,
            t1,
            vec![1.0, 0.0, 0.0],
            vec![10.0, 28.0, 8.0 / 3.0],
        )
        .unwrap()
    };
    let rob = |t1| {
        OdeProblem::new(
            Robertson,
            0.0,
            t1,
            vec![1.0, 0.0, 0.0],
            vec![0.04, 3e7, 1e4],
        )
        .unwrap()
    };
    let lv = |t1| {
        OdeProblem::new(
            LotkaVolterra,
            0.0,
            t1,
            vec![1.0, 1.0],
            vec![1.5, 1.0, 3.0, 1.0],
        )
        .unwrap()
    };
    let vdp = OdeProblem::new(VanDerPol, 0.0, 2000.0, vec![2.0, 0.0], vec![1000.0]).unwrap();
    let vdp1 = OdeProblem::new(VanDerPol, 0.5, 3.0, vec![2.0, 0.0], vec![1.0]).unwrap();
    let hires = OdeProblem::new(
        Hires,
        0.0,
        321.8122,
        vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057],
        vec![],
    )
    .unwrap();
    let orego = OdeProblem::new(Orego, 0.0, 360.0, vec![1.0, 2.0, 3.0], vec![]).unwrap();
    for m in all {
        let o = OdeOptions::with_tol(1e-8, 1e-8);
        p::<Lorenz63>(
            &format!("lor10 {m:?}"),
            solve(
                &lor(10.0),
                m,
                &OdeOptions {
                    max_steps: 1_000_000,
                    ..o.clone()
                },
            ),
        );
        let mut o2 = OdeOptions::with_tol(1e-7, 1e-9)
            .saving(SaveAt::Times(vec![0.0, 0.3, 1.7, 2.0, 3.9, 5.0]));
        o2.dense = true;
        p::<Lorenz63>(&format!("lv5 {m:?}"), solve(&lv(5.0), m, &o2));
        p::<Lorenz63>(
            &format!("lvsteps {m:?}"),
            solve(
                &lv(3.0),
                m,
                &OdeOptions::with_tol(1e-6, 1e-6).saving(SaveAt::steps()),
            ),
        );
        let o3 = OdeOptions {
            h0: Some(1e-5),
            h_max: 0.05,
            ..OdeOptions::with_tol(1e-8, 1e-8)
        };
        p::<Lorenz63>(&format!("vdp1 h0 hmax {m:?}"), solve(&vdp1, m, &o3));
        p::<Lorenz63>(
            &format!("vdp1 {m:?}"),
            solve(&vdp1, m, &OdeOptions::with_tol(1e-6, 1e-8)),
        );
    }
    for m in stiff {
        p::<Lorenz63>(
            &format!("rob1e5 {m:?}"),
            solve(&rob(1e5), m, &OdeOptions::with_tol(1e-6, 1e-10)),
        );
        let mut o = OdeOptions::with_tol(1e-8, 1e-8);
        o.tol.atol = ComponentTol::PerComponent(vec![1e-8, 1e-14, 1e-8]);
        p::<Lorenz63>(&format!("rob1e11 {m:?}"), solve(&rob(1e11), m, &o));
        p::<Lorenz63>(
            &format!("vdp {m:?}"),
            solve(&vdp, m, &OdeOptions::with_tol(1e-8, 1e-8)),
        );
        p::<Lorenz63>(
            &format!("hires {m:?}"),
            solve(&hires, m, &OdeOptions::with_tol(1e-8, 1e-10)),
        );
        p::<Lorenz63>(
            &format!("orego {m:?}"),
            solve(&orego, m, &OdeOptions::with_tol(1e-8, 1e-8)),
        );
        p::<Lorenz63>(
            &format!("rob h0 {m:?}"),
            solve(
                &rob(1e5),
                m,
                &OdeOptions {
                    h0: Some(1e4),
                    ..OdeOptions::with_tol(1e-6, 1e-10)
                },
            ),
        );
        let mut o =
            OdeOptions::with_tol(1e-7, 1e-10).saving(SaveAt::Times(vec![0.5, 3.0, 40.0, 700.0]));
        o.dense = true;
        p::<Lorenz63>(&format!("rob dense {m:?}"), solve(&rob(1000.0), m, &o));
    }
    let kep = Kepler { e: 0.3 };
    let t1 = 2.0 * std::f64::consts::PI;
    let kp = OdeProblem::new(kep, 0.0, t1, kep.exact(0.0).to_vec(), vec![]).unwrap();
    for m in [
        Method::Rodas5P,
        Method::Kvaerno5,
        Method::Rk4 { dt: t1 / 100.0 },
        Method::Euler { dt: t1 / 1000.0 },
    ] {
        p::<Lorenz63>(
            &format!("kep fixed {m:?}"),
            solve(
                &kp,
                m,
                &OdeOptions {
                    fixed_step: Some(t1 / 100.0),
                    ..OdeOptions::with_tol(1e-9, 1e-9)
                },
            ),
        );
    }
    for k in 1..=5usize {
        let dt = t1 / 256.0;
        let history: Vec<Vec<f64>> = (0..=k)
            .map(|j| kep.exact(-(j as f64) * dt).to_vec())
            .collect();
        println!(
            "bdf fixed {k}: {:?}",
            bdf::solve_fixed_order(&kp, k, dt, &history)
        );
    }
    // Gradients.
    let sens = [
        Sensitivity::Forward,
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::Auto,
        },
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::All,
        },
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::Budget(3),
        },
        Sensitivity::ContinuousAdjoint {
            checkpointing: Checkpointing::Auto,
        },
        Sensitivity::ContinuousAdjoint {
            checkpointing: Checkpointing::Budget(3),
        },
        Sensitivity::Backsolve,
    ];
    for m in all {
        for s in sens {
            let o = OdeOptions::with_tol(1e-8, 1e-8)
                .saving(SaveAt::Times(vec![0.0, 0.3, 1.1, 2.0, 3.7, 5.0]));
            match gradient(&lv(5.0), m, &o, s, sum_sq) {
                Ok((l, g)) => println!("grad lv {m:?} {s:?}: {l:?} {g:?}"),
                Err(e) => println!("grad lv {m:?} {s:?}: ERR {e}"),
            }
        }
    }
    for m in stiff {
        for s in sens {
            match gradient(&rob(40.0), m, &OdeOptions::with_tol(1e-9, 1e-12), s, sum_sq) {
                Ok((l, g)) => println!("grad rob {m:?} {s:?}: {l:?} {g:?}"),
                Err(e) => println!("grad rob {m:?} {s:?}: ERR {e}"),
            }
        }
    }
    let y0: Vec<f64> = (0..10).map(|i| 8.0 + 0.1 * (i as f64).sin()).collect();
    let l96 = OdeProblem::new(Lorenz96 { n: 10 }, 0.0, 1.0, y0, vec![8.0]).unwrap();
    for m in [Method::Tsit5, Method::Vern7, Method::Kvaerno5, Method::Bdf] {
        for s in sens {
            let o = OdeOptions::with_tol(1e-8, 1e-8).saving(SaveAt::Times(vec![0.25, 0.6, 1.0]));
            match gradient(&l96, m, &o, s, sum_sq) {
                Ok((l, g)) => println!("grad l96 {m:?} {s:?}: {l:?} {g:?}"),
                Err(e) => println!("grad l96 {m:?} {s:?}: ERR {e}"),
            }
        }
    }
    match forward_sensitivities(
        &lv(2.0),
        Method::Tsit5,
        &OdeOptions::default().saving(SaveAt::Times(vec![1.0, 2.0])),
    ) {
        Ok((_, s)) => println!(
            "fwd sens: {:?}",
            (0..s.n_times())
                .map(|k| (0..s.n_states())
                    .flat_map(|r| (0..s.n_states() + s.n_params()).map(move |c| (r, c)))
                    .map(|(r, c)| if c < s.n_states() {
                        s.wrt_y0(k, c)[r]
                    } else {
                        s.wrt_param(k, c - s.n_states())[r]
                    })
                    .collect::<Vec<_>>())
                .collect::<Vec<_>>()
        ),
        Err(e) => println!("fwd sens ERR {e}"),
    }
    for s in sens {
        let tape = Tape::new();
        let y0 = tape.var_vec(&[1.0, 1.0]);
        let pv = tape.var_vec(&[1.5, 1.0, 3.0, 1.0]);
        let t1v = tape.var(3.0);
        let o = OdeOptions::with_tol(1e-9, 1e-9).saving(SaveAt::Times(vec![1.0, 2.5, 3.0]));
        let out = solve_on_tape(
            &tape,
            TapeProblem::new(LotkaVolterra, 0.0, t1v, &y0, &pv),
            Method::Tsit5,
            &o,
            s,
        )
        .unwrap();
        let l = tape.sum_sq(&out.states.clone().flatten()).unwrap();
        let g = tape.gradient(&l).unwrap();
        println!(
            "tape {s:?}: {:?} {:?} {:?} {:?}",
            l.val(),
            g.wrt_vec(&y0),
            g.wrt_vec(&pv),
            g.wrt(&t1v)
        );
    }
}

//! Temporary: one workload per argument, for instruction counts under callgrind.
use mechml_engine::ode::problems::*;
use mechml_engine::ode::*;

fn sum_sq(sol: &OdeSolution) -> (f64, Vec<Vec<f64>>) {
    let y = sol.y_final();
    (
        y.iter().map(|v| v * v).sum(),
        vec![y.iter().map(|v| 2.0 * v).collect()],
    )
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let reps: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let o8 = OdeOptions {
        max_steps: 1_000_000,
        ..OdeOptions::with_tol(1e-8, 1e-8)
    };
    let o6 = OdeOptions {
        max_steps: 1_000_000,
        ..OdeOptions::with_tol(1e-6, 1e-6)
    };
    let orob = OdeOptions {
        max_steps: 1_000_000,
        ..OdeOptions::with_tol(1e-6, 1e-10)
    };
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
    let rob = OdeProblem::new(
        Robertson,
        0.0,
        1e5,
        vec![1.0, 0.0, 0.0],
        vec![0.04, 3e7, 1e4],
    )
    .unwrap();
    let lv = OdeProblem::new(
        LotkaVolterra,
        0.0,
        10.0,
        vec![1.0, 1.0],
        vec![1.5, 1.0, 3.0, 1.0],
    )
    .unwrap();
    let mut y0 = vec![8.0; 40];
    y0[0] = 8.01;
    let l96 = OdeProblem::new(Lorenz96 { n: 40 }, 0.0, 10.0, y0, vec![8.0]).unwrap();
    let mut acc = 0.0;
    for _ in 0..reps {
        acc += match which.as_str() {
            "lorenz_tsit5" => solve(&lor(100.0), Method::Tsit5, &o8).unwrap().ys[0][0],
            "lorenz_vern7" => solve(&lor(100.0), Method::Vern7, &o8).unwrap().ys[0][0],
            "l96_tsit5" => solve(&l96, Method::Tsit5, &o6).unwrap().ys[0][0],
            "rob_rodas" => solve(&rob, Method::Rodas5P, &orob).unwrap().ys[0][0],
            "rob_kv" => solve(&rob, Method::Kvaerno5, &orob).unwrap().ys[0][0],
            "rob_bdf" => solve(&rob, Method::Bdf, &orob).unwrap().ys[0][0],
            "lv_fwd" => {
                gradient(&lv, Method::Tsit5, &o6, Sensitivity::Forward, sum_sq)
                    .unwrap()
                    .1
                    .p[0]
            }
            "lv_disc" => {
                gradient(&lv, Method::Tsit5, &o6, Sensitivity::default(), sum_sq)
                    .unwrap()
                    .1
                    .p[0]
            }
            "lv_cont" => {
                gradient(
                    &lv,
                    Method::Tsit5,
                    &o6,
                    Sensitivity::ContinuousAdjoint {
                        checkpointing: Checkpointing::Auto,
                    },
                    sum_sq,
                )
                .unwrap()
                .1
                .p[0]
            }
            "lor_disc" => {
                gradient(
                    &lor(10.0),
                    Method::Tsit5,
                    &o6,
                    Sensitivity::default(),
                    sum_sq,
                )
                .unwrap()
                .1
                .p[0]
            }
            _ => panic!("unknown workload {which}"),
        };
    }
    println!("{acc:?}");
}

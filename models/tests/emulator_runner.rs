//! The runner: a failing (or panicking) run is recorded and the rest of the design
//! completes; a process killed in the middle of a design resumes from its run log without
//! repeating finished runs; a torn last line is cut off; a log of another design is
//! refused.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mechml_engine::{Error, Result};
use mechml_models::emulator::simulator::{
    LocalRunner, RunControl, RunOutcome, RunStatus, Runner, Simulator,
};

/// y = (x₀ + 2x₁, x₀x₁); fails for x₀ > 0.8, panics for x₁ > 0.9; counts its calls; with
/// `abort_after`, the process aborts (as if killed) when that many runs have finished.
struct Toy {
    calls: AtomicUsize,
    abort_after: Option<usize>,
}

impl Toy {
    fn new(abort_after: Option<usize>) -> Self {
        Self {
            calls: AtomicUsize::new(0),
            abort_after,
        }
    }
}

fn truth(x: &[f64]) -> Vec<f64> {
    vec![x[0] + 2.0 * x[1], x[0] * x[1]]
}

impl Simulator for Toy {
    fn n_inputs(&self) -> usize {
        2
    }
    fn n_outputs(&self) -> usize {
        2
    }
    fn name(&self) -> String {
        "toy".into()
    }
    fn run(&self, x: &[f64]) -> Result<Vec<f64>> {
        let k = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.abort_after == Some(k) {
            std::process::abort();
        }
        if x[1] > 0.9 {
            panic!("x1 = {} is out of the model's range", x[1]);
        }
        if x[0] > 0.8 {
            return Err(Error::invalid_option("Toy", "x0", x[0], "≤ 0.8"));
        }
        Ok(truth(x))
    }
}

/// 20 points: x₀ = i/20, x₁ = (7i mod 20)/20 + 0.01: three with x₀ > 0.8 fail, one or more
/// with x₁ > 0.9 panic.
fn design() -> Vec<Vec<f64>> {
    (0..20)
        .map(|i| vec![i as f64 / 20.0, ((7 * i) % 20) as f64 / 20.0 + 0.01])
        .collect()
}

fn expected_failures(d: &[Vec<f64>]) -> Vec<usize> {
    (0..d.len())
        .filter(|&i| d[i][0] > 0.8 || d[i][1] > 0.9)
        .collect()
}

fn tmp_log(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "mechml-emulator-runner-{}-{name}.jsonl",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn failing_runs_are_recorded_and_the_rest_completes() {
    let d = design();
    let fails = expected_failures(&d);
    assert!(fails.len() >= 3);
    let log = tmp_log("fail");
    for runner in [LocalRunner::sequential(), LocalRunner { threads: 2 }] {
        let _ = std::fs::remove_file(&log);
        let sim = Toy::new(None);
        let ctl = RunControl {
            log: Some(log.clone()),
            ..Default::default()
        };
        let runs = runner.run(&sim, &d, &ctl).unwrap();
        assert_eq!(runs.status, RunStatus::Complete);
        assert_eq!(runs.n_ok(), d.len() - fails.len());
        let failed: Vec<usize> = runs.failures().iter().map(|f| f.0).collect();
        let mut sorted = failed.clone();
        sorted.sort();
        assert_eq!(sorted, fails);
        for (i, msg) in runs.failures() {
            if d[i][1] > 0.9 {
                assert!(msg.contains("panicked") && msg.contains("out of the model's range"));
            } else {
                assert!(msg.contains("x0"), "{msg}");
            }
        }
        for r in runs.records.iter().flatten() {
            if let RunOutcome::Ok { outputs, .. } = &r.outcome {
                assert_eq!(outputs, &truth(&d[r.index]));
            }
        }
        // Header + one line per run, failures included.
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), 1 + d.len());
        // Retrying failed runs repeats only those.
        let sim2 = Toy::new(None);
        let again = runner
            .run(
                &sim2,
                &d,
                &RunControl {
                    log: Some(log.clone()),
                    retry_failed: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(sim2.calls.load(Ordering::SeqCst), fails.len());
        assert_eq!(again.resumed, d.len() - fails.len());
    }
    let _ = std::fs::remove_file(&log);
}

const CHILD_ENV: &str = "MECHML_EMULATOR_RUNNER_CHILD_LOG";

#[test]
fn a_killed_run_resumes_from_its_log() {
    let d = design();
    // In the child: run sequentially and abort the whole process after 8 runs.
    if let Ok(path) = std::env::var(CHILD_ENV) {
        let sim = Toy::new(Some(8));
        let ctl = RunControl {
            log: Some(PathBuf::from(path)),
            ..Default::default()
        };
        let _ = LocalRunner::sequential().run(&sim, &d, &ctl);
        unreachable!("the simulator aborts the process");
    }
    let log = tmp_log("killed");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_run_resumes_from_its_log",
            "--nocapture",
        ])
        .env(CHILD_ENV, &log)
        .status()
        .unwrap();
    assert!(!status.success(), "the child was meant to be killed");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.lines().count(),
        1 + 8,
        "header and the 8 finished runs"
    );
    // A torn write at the kill: half a record without its line end.
    {
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(b"{\"index\":9,\"input\":[0.45,").unwrap();
    }
    let sim = Toy::new(None);
    let ctl = RunControl {
        log: Some(log.clone()),
        ..Default::default()
    };
    let runs = LocalRunner { threads: 2 }.run(&sim, &d, &ctl).unwrap();
    assert_eq!(runs.status, RunStatus::Complete);
    assert_eq!(runs.resumed, 8);
    assert_eq!(sim.calls.load(Ordering::SeqCst), d.len() - 8);
    let fails = expected_failures(&d);
    assert_eq!(runs.n_ok(), d.len() - fails.len());
    for r in runs.records.iter().flatten() {
        assert_eq!(r.input, d[r.index]);
        if let RunOutcome::Ok { outputs, .. } = &r.outcome {
            assert_eq!(outputs, &truth(&d[r.index]));
        }
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1 + d.len());
    assert!(text.ends_with('\n'));
    // A third call runs nothing.
    let sim = Toy::new(None);
    let runs = LocalRunner::sequential().run(&sim, &d, &ctl).unwrap();
    assert_eq!(
        (runs.resumed, sim.calls.load(Ordering::SeqCst)),
        (d.len(), 0)
    );
    let _ = std::fs::remove_file(&log);
}

#[test]
fn a_cancelled_design_resumes_and_a_foreign_log_is_refused() {
    let d = design();
    let log = tmp_log("cancel");
    let stop = AtomicBool::new(false);
    let progress = |p: &mechml_models::emulator::simulator::Progress| {
        if p.done >= 5 {
            stop.store(true, Ordering::SeqCst);
        }
    };
    let sim = Toy::new(None);
    let ctl = RunControl {
        log: Some(log.clone()),
        progress: Some(&progress),
        cancel: Some(&stop),
        ..Default::default()
    };
    let runs = LocalRunner::sequential().run(&sim, &d, &ctl).unwrap();
    assert_eq!(runs.status, RunStatus::Interrupted);
    assert_eq!(runs.missing().len(), d.len() - 5);
    let sim = Toy::new(None);
    let runs = LocalRunner::sequential()
        .run(
            &sim,
            &d,
            &RunControl {
                log: Some(log.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(runs.status, RunStatus::Complete);
    assert_eq!(sim.calls.load(Ordering::SeqCst), d.len() - 5);
    // Another design with the same log: refused, naming the file.
    let mut other = d.clone();
    other[3][0] += 0.001;
    let e = LocalRunner::sequential()
        .run(
            &Toy::new(None),
            &other,
            &RunControl {
                log: Some(log.clone()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("another design"), "{e}");
    let _ = std::fs::remove_file(&log);
}

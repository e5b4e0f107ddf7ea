//! [`LocalRunner`]: runs a design on a rayon pool of this process.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Instant;

use mechml_engine::{Error, Result};
use rayon::prelude::*;

use super::log::{LogHeader, RunLog};
use super::record::{Progress, RunOutcome, RunRecord, RunSet, RunStatus};
use super::{RunControl, Runner, Simulator};

/// Largest number of values (inputs, outputs and Jacobian entries of all runs) a runner
/// keeps in memory (≈ 8 GB); a larger design is refused before any run starts.
pub const MAX_RUN_VALUES: usize = 1_000_000_000;

/// Runs a design in this process, `threads` runs at a time (0: rayon's current pool).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalRunner {
    /// Concurrent runs; 0 uses the current rayon pool, 1 runs sequentially.
    pub threads: usize,
}

impl LocalRunner {
    /// Runs one at a time, in design order.
    pub fn sequential() -> Self {
        Self { threads: 1 }
    }
}

/// One run, with panics and bad outputs turned into failures.
fn run_one(sim: &dyn Simulator, index: usize, x: &[f64], gradients: bool) -> RunRecord {
    let t0 = Instant::now();
    let (m, d) = (sim.n_outputs(), x.len());
    let result = catch_unwind(AssertUnwindSafe(|| {
        if gradients {
            sim.run_with_gradient(x).map(|(y, j)| (y, Some(j)))
        } else {
            sim.run(x).map(|y| (y, None))
        }
    }));
    let outcome = match result {
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            RunOutcome::Failed {
                message: format!("the simulator panicked: {msg}"),
            }
        }
        Ok(Err(e)) => RunOutcome::Failed {
            message: e.to_string(),
        },
        Ok(Ok((y, j))) => {
            if y.len() != m {
                RunOutcome::Failed {
                    message: format!("{} outputs returned, {m} expected", y.len()),
                }
            } else if let Some(k) = y.iter().position(|v| !v.is_finite()) {
                RunOutcome::Failed {
                    message: format!("output {k} is {}", y[k]),
                }
            } else if j.as_ref().is_some_and(|j| j.len() != m * d) {
                RunOutcome::Failed {
                    message: format!("Jacobian of wrong length (expected {m} × {d})"),
                }
            } else {
                RunOutcome::Ok {
                    outputs: y,
                    jacobian: j,
                }
            }
        }
    };
    RunRecord {
        index,
        input: x.to_vec(),
        outcome,
        seconds: t0.elapsed().as_secs_f64(),
    }
}

impl Runner for LocalRunner {
    fn run(
        &self,
        sim: &dyn Simulator,
        inputs: &[Vec<f64>],
        ctl: &RunControl<'_>,
    ) -> Result<RunSet> {
        let op = "LocalRunner";
        let (d, m) = (sim.n_inputs(), sim.n_outputs());
        if let Some((i, x)) = inputs.iter().enumerate().find(|(_, x)| x.len() != d) {
            return Err(Error::ShapeMismatch {
                op,
                arg: "inputs",
                expected: format!("{d} values per point"),
                found: format!("{} at point {i}", x.len()),
            });
        }
        if ctl.gradients && !sim.has_gradient() {
            return Err(Error::invalid_option(
                op,
                "gradients",
                true,
                "a simulator with has_gradient()",
            ));
        }
        let per_run = d + m + if ctl.gradients { m * d } else { 0 };
        if inputs.len().saturating_mul(per_run) > MAX_RUN_VALUES {
            return Err(Error::invalid_option(
                op,
                "design size",
                format!("{} runs × {per_run} values", inputs.len()),
                format!("at most {MAX_RUN_VALUES} values in memory; split the design"),
            ));
        }
        let n = inputs.len();
        let mut records: Vec<Option<RunRecord>> = vec![None; n];
        let mut log = None;
        let mut resumed = 0;
        if let Some(path) = &ctl.log {
            let header = LogHeader::new(sim.name(), inputs, m);
            let (l, old) = RunLog::open(path, &header)?;
            for r in old {
                if ctl.retry_failed && !r.is_ok() {
                    continue;
                }
                let i = r.index;
                if records[i].is_none() {
                    resumed += 1;
                }
                records[i] = Some(r);
            }
            log = Some(l);
        }
        let pending: Vec<usize> = (0..n).filter(|&i| records[i].is_none()).collect();
        let t0 = Instant::now();
        let state = Mutex::new(State {
            records,
            log,
            done: n - pending.len(),
            failed: 0,
            error: None,
        });
        {
            let mut s = state.lock().expect("runner state lock");
            s.failed = s.records.iter().flatten().filter(|r| !r.is_ok()).count();
        }
        let cancelled = || ctl.cancel.is_some_and(|c| c.load(Ordering::SeqCst));
        let work = |i: usize| {
            if cancelled() || state.lock().map(|s| s.error.is_some()).unwrap_or(true) {
                return;
            }
            let rec = run_one(sim, i, &inputs[i], ctl.gradients);
            let mut s = state.lock().expect("runner state lock");
            if let Some(l) = s.log.as_mut()
                && let Err(e) = l.append(&rec)
            {
                s.error.get_or_insert(e);
                return;
            }
            s.done += 1;
            if !rec.is_ok() {
                s.failed += 1;
            }
            s.records[i] = Some(rec);
            if let Some(p) = ctl.progress {
                p(&Progress {
                    done: s.done,
                    failed: s.failed,
                    total: n,
                    elapsed: t0.elapsed().as_secs_f64(),
                });
            }
        };
        match self.threads {
            1 => pending.iter().for_each(|&i| work(i)),
            0 => pending.par_iter().for_each(|&i| work(i)),
            t => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .map_err(|e| Error::InvalidArgument {
                        op,
                        message: format!("cannot start {t} threads: {e}"),
                    })?;
                pool.install(|| pending.par_iter().for_each(|&i| work(i)));
            }
        }
        let s = state.into_inner().expect("runner state lock");
        if let Some(e) = s.error {
            return Err(e);
        }
        let status = if s.records.iter().all(|r| r.is_some()) {
            RunStatus::Complete
        } else {
            RunStatus::Interrupted
        };
        Ok(RunSet {
            records: s.records,
            status,
            resumed,
        })
    }
}

struct State {
    records: Vec<Option<RunRecord>>,
    log: Option<RunLog>,
    done: usize,
    failed: usize,
    error: Option<Error>,
}

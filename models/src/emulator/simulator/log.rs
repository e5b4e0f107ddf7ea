//! The append-only run log: one JSON object per line. The first line is a [`LogHeader`]
//! naming the simulator and a hash of the design; each further line is a
//! [`RunRecord`](super::RunRecord), appended and flushed as the run finishes. A process
//! killed mid-write leaves at most one partial last line, which is cut off when the log
//! is opened again; a damaged line anywhere else is an error naming its line number.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::record::RunRecord;

/// Version of the log format.
pub const LOG_VERSION: u32 = 1;

/// The first line of a run log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHeader {
    /// Format version ([`LOG_VERSION`]).
    pub mechml_run_log: u32,
    /// [`Simulator::name`](super::Simulator::name).
    pub simulator: String,
    /// Number of design points.
    pub n_runs: usize,
    /// Inputs per point.
    pub n_inputs: usize,
    /// Outputs per run.
    pub n_outputs: usize,
    /// FNV-1a hash of the design's input values (bit patterns), as hex.
    pub design_hash: String,
}

impl LogHeader {
    /// The header of a design.
    pub fn new(simulator: String, inputs: &[Vec<f64>], n_outputs: usize) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for x in inputs.iter().flatten() {
            for b in x.to_bits().to_le_bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        Self {
            mechml_run_log: LOG_VERSION,
            simulator,
            n_runs: inputs.len(),
            n_inputs: inputs.first().map_or(0, |x| x.len()),
            n_outputs,
            design_hash: format!("{h:016x}"),
        }
    }
}

/// An open run log, positioned for appending.
#[derive(Debug)]
pub struct RunLog {
    path: PathBuf,
    file: File,
}

#[cfg(feature = "run-log")]
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> std::result::Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

#[cfg(feature = "run-log")]
fn to_json<T: Serialize>(v: &T) -> std::result::Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

#[cfg(not(feature = "run-log"))]
fn from_json<T>(_: &str) -> std::result::Result<T, String> {
    Err("built without the `run-log` feature".into())
}

#[cfg(not(feature = "run-log"))]
fn to_json<T>(_: &T) -> std::result::Result<String, String> {
    Err("built without the `run-log` feature".into())
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::InvalidArgument {
        op: "RunLog",
        message: format!("{}: {what}: {e}", path.display()),
    }
}

impl RunLog {
    /// Opens (or creates) the log at `path` for a design with `header`: returns the log
    /// and the records already in it.
    ///
    /// # Errors
    /// A header that does not match (another design or simulator), a damaged line before
    /// the last, or an I/O failure — each naming the file (and line).
    pub fn open(path: &Path, header: &LogHeader) -> Result<(Self, Vec<RunRecord>)> {
        if !cfg!(feature = "run-log") {
            return Err(Error::Unsupported {
                op: "RunLog",
                reason: "mechml-models was built without the `run-log` feature (serde_json)".into(),
            });
        }
        let mut records = Vec::new();
        let exists = path.exists()
            && std::fs::metadata(path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
        if exists {
            let f = File::open(path).map_err(|e| io_err(path, "cannot open", e))?;
            let mut reader = BufReader::new(f);
            let mut good_bytes: u64 = 0;
            let mut line = String::new();
            let mut lineno = 0usize;
            let mut pending_bad: Option<(usize, String)> = None;
            loop {
                line.clear();
                let nread = reader
                    .read_line(&mut line)
                    .map_err(|e| io_err(path, "cannot read", e))?;
                if nread == 0 {
                    break;
                }
                lineno += 1;
                if let Some((l, msg)) = pending_bad.take() {
                    // A damaged line followed by more lines: not a torn last write.
                    return Err(Error::InvalidArgument {
                        op: "RunLog",
                        message: format!(
                            "{}:{l}: damaged record ({msg}); fix or remove the line",
                            path.display()
                        ),
                    });
                }
                let complete = line.ends_with('\n');
                let text = line.trim_end();
                if lineno == 1 {
                    let h: LogHeader = match from_json::<LogHeader>(text) {
                        Ok(h) if complete => h,
                        _ if !complete => {
                            // Torn header: start afresh.
                            break;
                        }
                        Ok(_) => unreachable!(),
                        Err(e) => {
                            return Err(Error::InvalidArgument {
                                op: "RunLog",
                                message: format!(
                                    "{}:1: not a mechml run log header ({e})",
                                    path.display()
                                ),
                            });
                        }
                    };
                    if &h != header {
                        return Err(Error::InvalidArgument {
                            op: "RunLog",
                            message: format!(
                                "{}: the log belongs to another design or simulator (log: {} runs of `{}`, \
                                 design hash {}; now: {} runs of `{}`, hash {}); use another log path",
                                path.display(),
                                h.n_runs,
                                h.simulator,
                                h.design_hash,
                                header.n_runs,
                                header.simulator,
                                header.design_hash
                            ),
                        });
                    }
                    good_bytes += nread as u64;
                    continue;
                }
                match from_json::<RunRecord>(text) {
                    Ok(r) if complete => {
                        if r.index >= header.n_runs || r.input.len() != header.n_inputs {
                            return Err(Error::InvalidArgument {
                                op: "RunLog",
                                message: format!(
                                    "{}:{lineno}: record for design point {} does not fit the design",
                                    path.display(),
                                    r.index
                                ),
                            });
                        }
                        records.push(r);
                        good_bytes += nread as u64;
                    }
                    Ok(_) => pending_bad = Some((lineno, "no line end".into())),
                    Err(e) => pending_bad = Some((lineno, e.to_string())),
                }
            }
            // Cut a torn last line (and an empty or torn header) before appending.
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| io_err(path, "cannot open", e))?;
            f.set_len(good_bytes)
                .map_err(|e| io_err(path, "cannot truncate", e))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io_err(path, "cannot open for appending", e))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            let mut s = to_json(header).map_err(|e| {
                io_err(
                    path,
                    "cannot serialise the header",
                    std::io::Error::other(e),
                )
            })?;
            s.push('\n');
            file.write_all(s.as_bytes())
                .map_err(|e| io_err(path, "cannot write", e))?;
            file.flush().map_err(|e| io_err(path, "cannot flush", e))?;
        }
        Ok((
            Self {
                path: path.to_path_buf(),
                file,
            },
            records,
        ))
    }

    /// Appends one record (one line, flushed).
    pub fn append(&mut self, r: &RunRecord) -> Result<()> {
        let mut s = to_json(r).map_err(|e| Error::InvalidArgument {
            op: "RunLog",
            message: format!("cannot serialise run {}: {e}", r.index),
        })?;
        s.push('\n');
        self.file
            .write_all(s.as_bytes())
            .map_err(|e| io_err(&self.path, "cannot write", e))?;
        self.file
            .flush()
            .map_err(|e| io_err(&self.path, "cannot flush", e))
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

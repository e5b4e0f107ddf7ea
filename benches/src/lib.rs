//! Shared helpers for mechml's criterion benchmarks: workload data loaders.
//!
//! Workload files are the copies of `../shared/workloads/` shipped in `engine/tests/data`
//! (provenance in `engine/tests/data/PROVENANCE.md`), so the benchmarks run from a clean
//! clone; set `MECHML_WORKLOADS` to another folder to read them from there.

use std::path::PathBuf;

/// The folder holding the workload CSV files.
pub fn workloads_dir() -> PathBuf {
    match std::env::var_os("MECHML_WORKLOADS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/data"),
    }
}

/// Reads a numeric CSV with one header row; returns the header and the rows.
///
/// # Panics
/// With a message naming the file when it is missing or malformed (benchmarks only).
pub fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let path = workloads_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read workload file {}: {e} (set MECHML_WORKLOADS to the folder holding it)",
            path.display()
        )
    });
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let rows = lines
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            l.split(',')
                .map(|f| {
                    f.trim()
                        .parse::<f64>()
                        .unwrap_or_else(|e| panic!("{}: line {}: {e}", path.display(), i + 2))
                })
                .collect()
        })
        .collect();
    (header, rows)
}

/// The squared-exponential ARD Gram matrix `s2 exp(-½ Σ_d (x_d − x'_d)² / l_d²)` of the
/// rows of `x`, column-major.
pub fn se_gram(x: &[Vec<f64>], l: &[f64], s2: f64) -> Vec<f64> {
    let n = x.len();
    let mut k = vec![0.0; n * n];
    for j in 0..n {
        for i in 0..n {
            let r2: f64 = (0..l.len())
                .map(|d| ((x[i][d] - x[j][d]) / l[d]).powi(2))
                .sum();
            k[i + j * n] = s2 * (-0.5 * r2).exp();
        }
    }
    k
}

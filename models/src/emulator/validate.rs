//! Emulator validation (Bastos & O'Hagan 2009, Technometrics 51(4), 425–438).
//!
//! * **Leave-one-out** in closed form (Dubrule 1983, Math. Geol. 15; R&W 2006, §5.4.2,
//!   extended to a GLS mean): with `Q = K_y⁻¹ − K_y⁻¹H A⁻¹HᵀK_y⁻¹` and `Qy = α`, the
//!   prediction of run `i` from the others (β re-estimated) has residual
//!   `y_i − m_{−i} = α_i / Q_ii` and variance `1/Q_ii`. Standardised errors
//!   `(y_i − m_{−i}) √Q_ii` are standard normal if the emulator is right.
//! * **Held-out runs**: individual standardised errors, the Mahalanobis distance
//!   `D² = eᵀ V⁻¹ e` of the errors `e` under the predictive covariance `V` (expected value
//!   `m`, variance `2m(m + n − q − 2)/(n − q − 4)` for `m` test and `n` training runs
//!   with `q` mean coefficients: Bastos & O'Hagan 2009, §3.1.2), pivoted-Cholesky errors
//!   (§3.1.3; large ones late in the pivot order point at a wrong lengthscale), and the
//!   coverage of the 95 % intervals.

use faer::Mat;
use mechml_engine::gp::Inputs;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::gp::GpEmulator;

/// Leave-one-out diagnostics of an emulator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LooDiagnostics {
    /// The runs' outputs.
    pub y: Vec<f64>,
    /// Each run's prediction from the others.
    pub mean: Vec<f64>,
    /// Its predictive variance (of the observed output: nugget included).
    pub var: Vec<f64>,
    /// `(y_i − m_{−i}) / √var_i`.
    pub standardised: Vec<f64>,
    /// Fraction of runs inside their central 95 % interval.
    pub coverage95: f64,
    /// Root mean square of the LOO errors.
    pub rmse: f64,
    /// `1 − Σ(y − m)² / Σ(y − ȳ)²`.
    pub q2: f64,
}

/// Closed-form leave-one-out (module docs).
///
/// ```
/// use mechml_engine::gp::Inputs;
/// use mechml_models::emulator::design::{lhs};
/// use mechml_models::emulator::gp::{EmulatorOptions, GpEmulator};
/// use mechml_models::emulator::validate::loo;
/// let d = lhs(30, 2, 3)?;
/// let y: Vec<f64> = (0..30).map(|i| (4.0 * d.point(i)[0]).sin() + d.point(i)[1]).collect();
/// let emu = GpEmulator::fit(d.to_inputs()?, &y, &EmulatorOptions::default())?;
/// let l = loo(&emu)?;
/// assert!(l.q2 > 0.99);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn loo(emu: &GpEmulator) -> Result<LooDiagnostics> {
    let q = emu.q_matrix();
    let y = emu.outputs().to_vec();
    let alpha = emu.alpha();
    let n = y.len();
    let mut mean = vec![0.0; n];
    let mut var = vec![0.0; n];
    let mut z = vec![0.0; n];
    for i in 0..n {
        let qii = q[(i, i)];
        if !(qii > 0.0 && qii.is_finite()) {
            return Err(Error::NonFinite {
                op: "loo",
                index: i,
                value: qii,
                context: "diagonal of Q (is the mean basis as large as the design?)".into(),
            });
        }
        let e = alpha[i] / qii;
        mean[i] = y[i] - e;
        var[i] = 1.0 / qii;
        z[i] = e * qii.sqrt();
    }
    let ybar = y.iter().sum::<f64>() / n as f64;
    let sse: f64 = y.iter().zip(&mean).map(|(a, b)| (a - b).powi(2)).sum();
    let sst: f64 = y.iter().map(|a| (a - ybar).powi(2)).sum();
    Ok(LooDiagnostics {
        coverage95: z
            .iter()
            .filter(|v| v.abs() <= 1.959_963_984_540_054)
            .count() as f64
            / n as f64,
        rmse: (sse / n as f64).sqrt(),
        q2: 1.0 - sse / sst.max(f64::MIN_POSITIVE),
        y,
        mean,
        var,
        standardised: z,
    })
}

/// Diagnostics on held-out runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldOutDiagnostics {
    /// Predictive means.
    pub mean: Vec<f64>,
    /// Predictive variances (nugget included).
    pub var: Vec<f64>,
    /// Individual standardised errors.
    pub standardised: Vec<f64>,
    /// Mahalanobis distance `D²`.
    pub mahalanobis: f64,
    /// Its expected value under the emulator.
    pub mahalanobis_expected: f64,
    /// Its standard deviation under the emulator (`NaN` when `n − q ≤ 4`).
    pub mahalanobis_sd: f64,
    /// Pivoted-Cholesky errors, in pivot order.
    pub pivoted_errors: Vec<f64>,
    /// The pivot order (indices of the test runs).
    pub pivots: Vec<usize>,
    /// Fraction inside their 95 % intervals.
    pub coverage95: f64,
}

/// Diagnostics on held-out runs `(xs, ys)` (unit-cube inputs).
pub fn held_out(emu: &GpEmulator, xs: &Inputs, ys: &[f64]) -> Result<HeldOutDiagnostics> {
    let m = xs.n();
    if ys.len() != m {
        return Err(Error::ShapeMismatch {
            op: "held_out",
            arg: "ys",
            expected: format!("len {m}"),
            found: format!("len {}", ys.len()),
        });
    }
    let (mean, mut v) = emu.predict_cov(xs)?;
    let nug = emu.nugget_variances();
    let base = nug.iter().cloned().fold(f64::INFINITY, f64::min).max(0.0);
    for i in 0..m {
        v[(i, i)] += base;
    }
    let e: Vec<f64> = ys.iter().zip(&mean).map(|(a, b)| a - b).collect();
    let var: Vec<f64> = (0..m).map(|i| v[(i, i)]).collect();
    let standardised: Vec<f64> = e.iter().zip(&var).map(|(a, b)| a / b.sqrt()).collect();
    let (g, pivots) = pivoted_cholesky(&v)?;
    // D^PC = G⁻¹ e with G = P L (errors in pivot order).
    let mut pe: Vec<f64> = pivots.iter().map(|&p| e[p]).collect();
    for i in 0..m {
        let s: f64 = (0..i).map(|k| g[(i, k)] * pe[k]).sum();
        pe[i] = (pe[i] - s) / g[(i, i)];
    }
    let d2: f64 = pe.iter().map(|x| x * x).sum();
    let (n, q) = (emu.inputs().n() as f64, emu.n_basis() as f64);
    let mf = m as f64;
    let sd = if n - q > 4.0 {
        (2.0 * mf * (mf + n - q - 2.0) / (n - q - 4.0)).sqrt()
    } else {
        f64::NAN
    };
    Ok(HeldOutDiagnostics {
        coverage95: standardised
            .iter()
            .filter(|z| z.abs() <= 1.959_963_984_540_054)
            .count() as f64
            / mf,
        mean,
        var,
        standardised,
        mahalanobis: d2,
        mahalanobis_expected: mf,
        mahalanobis_sd: sd,
        pivoted_errors: pe,
        pivots,
    })
}

/// Cholesky with symmetric pivoting (largest remaining diagonal first): `P V Pᵀ = L Lᵀ`;
/// returns `L` (in pivot order) and the pivots.
fn pivoted_cholesky(v: &Mat<f64>) -> Result<(Mat<f64>, Vec<usize>)> {
    let m = v.nrows();
    let a = v;
    let mut piv: Vec<usize> = (0..m).collect();
    let mut l = Mat::<f64>::zeros(m, m);
    let floor = 1e-10
        * (0..m)
            .map(|i| v[(i, i)])
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
    for k in 0..m {
        let (j, _) = (k..m)
            .map(|j| {
                (
                    j,
                    a[(piv[j], piv[j])] - (0..k).map(|t| l[(j, t)].powi(2)).sum::<f64>(),
                )
            })
            .fold((k, f64::NEG_INFINITY), |b, c| if c.1 > b.1 { c } else { b });
        piv.swap(k, j);
        for t in 0..k {
            let tmp = l[(k, t)];
            l[(k, t)] = l[(j, t)];
            l[(j, t)] = tmp;
        }
        let d = a[(piv[k], piv[k])] - (0..k).map(|t| l[(k, t)].powi(2)).sum::<f64>();
        // Directions the emulator is (numerically) certain about: a floor of 10⁻¹⁰ of the
        // largest variance, so that a confident emulator is not an error.
        if !d.is_finite() {
            return Err(Error::NotPositiveDefinite {
                op: "held_out: predictive covariance",
                pivot: k,
                value: d,
            });
        }
        l[(k, k)] = d.max(floor).sqrt();
        for i in k + 1..m {
            let s = a[(piv[i], piv[k])] - (0..k).map(|t| l[(i, t)] * l[(k, t)]).sum::<f64>();
            l[(i, k)] = s / l[(k, k)];
        }
    }
    Ok((l, piv))
}

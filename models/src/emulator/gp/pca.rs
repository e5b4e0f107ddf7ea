//! A field output (a time series, a map: `T` values per run) emulated through its
//! principal components (Higdon, Gattiker, Williams & Rightley 2008, JASA 103(482),
//! §2.2): with the run mean `μ` and the thin SVD of the centred runs
//! `Y − 1μᵀ = U S Vᵀ`, the field is `y(x) ≈ μ + Σ_{j<k} w_j(x) φ_j` with orthonormal
//! components `φ_j = V_{:,j}` and scores `w_j(x_i) = U_ij S_jj`, each score emulated by an
//! independent GP. Scores are uncorrelated over the design, so independent emulators are
//! the usual choice. The field's predictive distribution is
//!
//! $$ E[y(x)] = μ + Φ m_w(x), \qquad Cov[y(x)] = Φ\\,diag(v_w(x))\\,Φᵀ + diag(τ²), $$
//!
//! with `τ²_t` the mean squared truncation error of the training runs at location `t`
//! (the part of the field the `k` components leave out).

use faer::Mat;
use mechml_engine::gp::Inputs;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::emulator::PointGradient;
use super::multi::{MultiOutputEmulator, check_rows};
use super::options::EmulatorOptions;

/// How many principal components to keep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Components {
    /// Exactly this many.
    Count(usize),
    /// The fewest explaining at least this fraction of the variance (e.g. 0.999).
    Variance(f64),
}

/// A PCA-basis emulator of a field output.
#[derive(Clone, Debug)]
pub struct PcaEmulator {
    mean: Vec<f64>,
    /// `T × k`, orthonormal columns.
    basis: Mat<f64>,
    /// Variance explained by each kept component (fraction).
    explained: Vec<f64>,
    truncation_var: Vec<f64>,
    scores: MultiOutputEmulator,
}

impl PcaEmulator {
    /// Fits the basis and one emulator per kept score.
    ///
    /// ```
    /// use mechml_models::emulator::design::lhs;
    /// use mechml_models::emulator::gp::{Components, EmulatorOptions, PcaEmulator};
    /// let d = lhs(25, 2, 2)?;
    /// // A field on 50 locations: two smooth modes with input-dependent amplitudes.
    /// let field = |p: &[f64]| -> Vec<f64> { (0..50).map(|t| { let s = t as f64 / 49.0; p[0] * s + (p[1] * 3.0).sin() * (6.0 * s).cos() }).collect() };
    /// let ys: Vec<Vec<f64>> = (0..25).map(|i| field(d.point(i))).collect();
    /// let emu = PcaEmulator::fit(&d.to_inputs()?, &ys, Components::Variance(0.9999), &EmulatorOptions::default())?;
    /// assert_eq!(emu.n_components(), 2);
    /// let (m, _) = emu.predict_field(&[0.3, 0.6])?;
    /// let truth = field(&[0.3, 0.6]);
    /// assert!(m.iter().zip(&truth).all(|(a, b)| (a - b).abs() < 0.02));
    /// # Ok::<(), mechml_engine::Error>(())
    /// ```
    pub fn fit(
        x: &Inputs,
        ys: &[Vec<f64>],
        components: Components,
        opts: &EmulatorOptions,
    ) -> Result<Self> {
        let t = check_rows(x, ys)?;
        let n = ys.len();
        let mean: Vec<f64> = (0..t)
            .map(|j| ys.iter().map(|r| r[j]).sum::<f64>() / n as f64)
            .collect();
        let yc = Mat::from_fn(n, t, |i, j| ys[i][j] - mean[j]);
        let svd = yc.thin_svd().map_err(|e| Error::NoConvergence {
            op: "PcaEmulator",
            iterations: 0,
            detail: format!("SVD of the centred runs failed: {e:?}"),
        })?;
        let s: Vec<f64> = (0..svd.S().dim())
            .map(|i| svd.S().column_vector()[i])
            .collect();
        let total: f64 = s.iter().map(|v| v * v).sum::<f64>().max(f64::MIN_POSITIVE);
        let k = match components {
            Components::Count(k) => {
                if k == 0 || k > s.len() {
                    return Err(Error::invalid_option(
                        "PcaEmulator",
                        "components",
                        k,
                        format!("between 1 and {} (runs or field size)", s.len()),
                    ));
                }
                k
            }
            Components::Variance(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(Error::invalid_option(
                        "PcaEmulator",
                        "components",
                        f,
                        "a fraction in (0, 1]",
                    ));
                }
                let mut acc = 0.0;
                let mut k = s.len();
                for (i, v) in s.iter().enumerate() {
                    acc += v * v / total;
                    if acc >= f {
                        k = i + 1;
                        break;
                    }
                }
                k.max(1)
            }
        };
        let basis = Mat::from_fn(t, k, |i, j| svd.V()[(i, j)]);
        let scores: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..k).map(|j| svd.U()[(i, j)] * s[j]).collect())
            .collect();
        // Truncation error of each run's reconstruction, per location.
        let mut truncation_var = vec![0.0; t];
        for i in 0..n {
            for l in 0..t {
                let rec: f64 = (0..k).map(|j| scores[i][j] * basis[(l, j)]).sum();
                truncation_var[l] += (yc[(i, l)] - rec).powi(2) / n as f64;
            }
        }
        let emus = MultiOutputEmulator::fit(x, &scores, opts)?;
        Ok(Self {
            mean,
            basis,
            explained: s[..k].iter().map(|v| v * v / total).collect(),
            truncation_var,
            scores: emus,
        })
    }

    /// Number of kept components.
    pub fn n_components(&self) -> usize {
        self.basis.ncols()
    }

    /// Field size `T`.
    pub fn field_len(&self) -> usize {
        self.mean.len()
    }

    /// Fraction of the runs' variance explained by each kept component.
    pub fn explained(&self) -> &[f64] {
        &self.explained
    }

    /// The mean field `μ`.
    pub fn mean_field(&self) -> &[f64] {
        &self.mean
    }

    /// The components `Φ` (`T × k`).
    pub fn basis(&self) -> &Mat<f64> {
        &self.basis
    }

    /// Per-location truncation variance `τ²`.
    pub fn truncation_var(&self) -> &[f64] {
        &self.truncation_var
    }

    /// The score emulators.
    pub fn score_emulators(&self) -> &MultiOutputEmulator {
        &self.scores
    }

    /// Predicted field mean and pointwise variance (emulator and truncation) at `x`.
    pub fn predict_field(&self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        let g = self.scores.predict_with_gradient(x)?;
        Ok(self.field_from_scores(&g))
    }

    /// Field mean and pointwise variance from score predictions.
    pub(crate) fn field_from_scores(&self, g: &[PointGradient]) -> (Vec<f64>, Vec<f64>) {
        let t = self.field_len();
        let mut m = self.mean.clone();
        let mut v = self.truncation_var.clone();
        for l in 0..t {
            for (j, gj) in g.iter().enumerate() {
                let phi = self.basis[(l, j)];
                m[l] += phi * gj.mean;
                v[l] += phi * phi * gj.var;
            }
        }
        (m, v)
    }

    /// Mean and variance of linear functionals `a_r ᵀ y(x)` of the field (rows of `a`,
    /// each of length `T`, e.g. period means) at many points: the scores are predicted in
    /// chunks, and `Var = Σ_j (a_r ᵀ φ_j)² v_j + Σ_t a_rt² τ²_t`. Returns `m × r` means and
    /// variances, point-major.
    pub fn predict_functionals(&self, xs: &Inputs, a: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<f64>)> {
        let t = self.field_len();
        if let Some(r) = a.iter().position(|row| row.len() != t) {
            return Err(Error::ShapeMismatch {
                op: "PcaEmulator::predict_functionals",
                arg: "a",
                expected: format!("rows of length {t}"),
                found: format!("row {r} of length {}", a[r].len()),
            });
        }
        let k = self.n_components();
        let proj: Vec<Vec<f64>> = a
            .iter()
            .map(|row| {
                (0..k)
                    .map(|j| (0..t).map(|l| row[l] * self.basis[(l, j)]).sum())
                    .collect()
            })
            .collect();
        let base: Vec<f64> = a
            .iter()
            .map(|row| row.iter().zip(&self.mean).map(|(x, y)| x * y).sum())
            .collect();
        let trunc: Vec<f64> = a
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&self.truncation_var)
                    .map(|(x, y)| x * x * y)
                    .sum()
            })
            .collect();
        let preds = self.scores.predict(xs)?;
        let (m, r) = (xs.n(), a.len());
        let mut mean = vec![0.0; m * r];
        let mut var = vec![0.0; m * r];
        for i in 0..m {
            for q in 0..r {
                let mut mu = base[q];
                let mut v = trunc[q];
                for j in 0..k {
                    mu += proj[q][j] * preds[j].mean[i];
                    v += proj[q][j] * proj[q][j] * preds[j].var[i];
                }
                mean[i * r + q] = mu;
                var[i * r + q] = v;
            }
        }
        Ok((mean, var))
    }
}

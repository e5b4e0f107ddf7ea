//! Sparse identification of nonlinear dynamics on a learned term: sequentially
//! thresholded least squares (STLSQ; Brunton, Proctor & Kutz 2016, PNAS 113(15), 3932,
//! the algorithm of their supplementary code) over a library of monomials.
//!
//! Given samples `x_i` and targets `g_i` (a learned term evaluated at the samples), find a
//! sparse `Ξ` with `g ≈ Θ(x) Ξ`: solve least squares, zero every coefficient below the
//! threshold `λ`, refit on the rest, repeat until the support stops changing.

use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

/// All monomials of `n_vars` variables up to total degree `degree`, constant first,
/// in graded lexicographic order (`1, x0, x1, x0², x0 x1, x1², …`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolynomialLibrary {
    n_vars: usize,
    exponents: Vec<Vec<u32>>,
}

impl PolynomialLibrary {
    /// The library, checked (at least one variable, degree at most 8).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for zero variables or a degree above 8.
    pub fn new(n_vars: usize, degree: u32) -> Result<Self> {
        if n_vars == 0 || degree > 8 {
            return Err(Error::invalid_option(
                "de::PolynomialLibrary",
                "(n_vars, degree)",
                format!("({n_vars}, {degree})"),
                "at least one variable, degree at most 8",
            ));
        }
        let mut exponents = Vec::new();
        for d in 0..=degree {
            let mut e = vec![0u32; n_vars];
            push_degree(&mut exponents, &mut e, 0, d);
        }
        Ok(Self { n_vars, exponents })
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.exponents.len()
    }

    /// Always false (the constant is a term).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The exponents of each term.
    pub fn exponents(&self) -> &[Vec<u32>] {
        &self.exponents
    }

    /// Term names with the given variable names (`"x*y"`, `"x^2"`, `"1"`).
    pub fn names(&self, vars: &[&str]) -> Vec<String> {
        self.exponents
            .iter()
            .map(|e| {
                let parts: Vec<String> = e
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| **p > 0)
                    .map(|(i, &p)| {
                        let v = vars
                            .get(i)
                            .map_or_else(|| format!("x{i}"), |s| s.to_string());
                        if p == 1 { v } else { format!("{v}^{p}") }
                    })
                    .collect();
                if parts.is_empty() {
                    "1".to_string()
                } else {
                    parts.join("*")
                }
            })
            .collect()
    }

    /// The terms at `x` (length `n_vars`).
    pub fn evaluate(&self, x: &[f64]) -> Vec<f64> {
        self.exponents
            .iter()
            .map(|e| e.iter().zip(x).map(|(&p, &v)| v.powi(p as i32)).product())
            .collect()
    }

    /// Number of variables.
    pub fn n_vars(&self) -> usize {
        self.n_vars
    }
}

/// Exponent vectors of total degree `d` with the first free index `i`, in the order
/// `x0^d` first.
fn push_degree(out: &mut Vec<Vec<u32>>, e: &mut Vec<u32>, i: usize, d: u32) {
    if i == e.len() - 1 {
        e[i] = d;
        out.push(e.clone());
        e[i] = 0;
        return;
    }
    for p in (0..=d).rev() {
        e[i] = p;
        push_degree(out, e, i + 1, d - p);
    }
    e[i] = 0;
}

/// A sparse model `g ≈ Θ(x) Ξ`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparseModel {
    /// The library.
    pub library: PolynomialLibrary,
    /// `Ξ`, one column per target: `coefficients[target][term]`.
    pub coefficients: Vec<Vec<f64>>,
    /// Thresholding iterations run.
    pub iterations: usize,
}

impl SparseModel {
    /// The model as text, one line per target (`g0 = 1.5 x*y - 0.2 x`).
    pub fn describe(&self, vars: &[&str]) -> Vec<String> {
        let names = self.library.names(vars);
        self.coefficients
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let terms: Vec<String> = c
                    .iter()
                    .zip(&names)
                    .filter(|(v, _)| **v != 0.0)
                    .map(|(v, n)| format!("{v:+.4} {n}"))
                    .collect();
                format!(
                    "g{k} = {}",
                    if terms.is_empty() {
                        "0".into()
                    } else {
                        terms.join(" ")
                    }
                )
            })
            .collect()
    }
}

/// STLSQ: `xs[i]` samples, `gs[i]` targets at them, threshold `lambda`, at most `max_iter`
/// thresholding rounds (the support is found in a few; the bound turns a cycle into a
/// stop, reported by `iterations`).
///
/// # Errors
/// Shape mismatches, fewer samples than terms, a negative or non-finite threshold, or a
/// singular least-squares system.
pub fn stlsq(
    library: &PolynomialLibrary,
    xs: &[Vec<f64>],
    gs: &[Vec<f64>],
    lambda: f64,
    max_iter: usize,
) -> Result<SparseModel> {
    let p = library.len();
    if xs.len() != gs.len() || xs.len() < p || gs.is_empty() {
        return Err(Error::invalid_option(
            "de::stlsq",
            "(xs, gs)",
            format!("({} samples, {} targets)", xs.len(), gs.len()),
            format!("as many targets as samples, at least {p} (the library size)"),
        ));
    }
    if !(lambda.is_finite() && lambda >= 0.0) {
        return Err(Error::invalid_option(
            "de::stlsq",
            "lambda",
            lambda.to_string(),
            "non-negative, finite",
        ));
    }
    let q = gs[0].len();
    let theta: Vec<Vec<f64>> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            if x.len() == library.n_vars() {
                Ok(library.evaluate(x))
            } else {
                Err(Error::invalid_option(
                    "de::stlsq",
                    format!("xs[{i}]"),
                    format!("length {}", x.len()),
                    format!("length {}", library.n_vars()),
                ))
            }
        })
        .collect::<Result<_>>()?;
    let mut coefficients = Vec::with_capacity(q);
    let mut iterations = 0;
    for k in 0..q {
        let target: Vec<f64> = gs
            .iter()
            .enumerate()
            .map(|(i, g)| {
                g.get(k).copied().ok_or_else(|| {
                    Error::invalid_option(
                        "de::stlsq",
                        format!("gs[{i}]"),
                        format!("length {}", g.len()),
                        format!("length {q}"),
                    )
                })
            })
            .collect::<Result<_>>()?;
        let mut active: Vec<usize> = (0..p).collect();
        let mut xi = lstsq(&theta, &target, &active)?;
        for it in 0..max_iter {
            iterations = iterations.max(it + 1);
            let keep: Vec<usize> = active
                .iter()
                .copied()
                .filter(|&j| xi[j].abs() >= lambda)
                .collect();
            if keep.len() == active.len() {
                break;
            }
            active = keep;
            xi = if active.is_empty() {
                vec![0.0; p]
            } else {
                lstsq(&theta, &target, &active)?
            };
        }
        coefficients.push(xi);
    }
    Ok(SparseModel {
        library: library.clone(),
        coefficients,
        iterations,
    })
}

/// Least squares on the columns `active` of `theta` by the normal equations with
/// column equilibration and a Cholesky factor; zeros elsewhere.
fn lstsq(theta: &[Vec<f64>], y: &[f64], active: &[usize]) -> Result<Vec<f64>> {
    let m = active.len();
    let p = theta[0].len();
    let scale: Vec<f64> = active
        .iter()
        .map(|&j| {
            theta
                .iter()
                .map(|r| r[j] * r[j])
                .sum::<f64>()
                .sqrt()
                .max(f64::MIN_POSITIVE)
        })
        .collect();
    let mut a = vec![0.0; m * m];
    let mut b = vec![0.0; m];
    for (row, &yi) in theta.iter().zip(y) {
        for (u, &ju) in active.iter().enumerate() {
            let vu = row[ju] / scale[u];
            b[u] += vu * yi;
            for (v, &jv) in active.iter().enumerate().take(u + 1) {
                a[u * m + v] += vu * row[jv] / scale[v];
            }
        }
    }
    // Cholesky of the (unit-diagonal) Gram matrix, lower triangle.
    for j in 0..m {
        let mut d = a[j * m + j];
        for k in 0..j {
            d -= a[j * m + k] * a[j * m + k];
        }
        if d.is_nan() || d <= 1e-13 {
            return Err(Error::invalid_option(
                "de::stlsq",
                "library",
                format!("term {} is (nearly) a combination of the others", active[j]),
                "samples that make the library's columns independent",
            ));
        }
        let d = d.sqrt();
        a[j * m + j] = d;
        for i in j + 1..m {
            let mut s = a[i * m + j];
            for k in 0..j {
                s -= a[i * m + k] * a[j * m + k];
            }
            a[i * m + j] = s / d;
        }
    }
    for i in 0..m {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * m + k] * b[k];
        }
        b[i] = s / a[i * m + i];
    }
    for i in (0..m).rev() {
        let mut s = b[i];
        for k in i + 1..m {
            s -= a[k * m + i] * b[k];
        }
        b[i] = s / a[i * m + i];
    }
    let mut xi = vec![0.0; p];
    for (u, &j) in active.iter().enumerate() {
        xi[j] = b[u] / scale[u];
    }
    Ok(xi)
}

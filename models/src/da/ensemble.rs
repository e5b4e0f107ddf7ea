//! An ensemble of model states stored members × state, and the operations every ensemble
//! method shares: mean, anomalies, spread, multiplicative and additive inflation, and random
//! mean-preserving rotations.
//!
//! Storage: an `N × n` matrix (N members, n state variables) in column-major order, so the
//! N values of one state variable are contiguous: `data[i * N + m]` is variable `i` of
//! member `m`. Loops over the members of one variable (the right-hand side of a model, the
//! observed ensemble of a point observation) then run over contiguous memory and vectorise.
//!
//! With `E` this matrix, `x̄ = Eᵀ1/N` the mean and `A = E − 1x̄ᵀ` the anomalies, the
//! ensemble covariance is `P = AᵀA/(N − 1)`.

use faer::{Mat, MatMut, MatRef};
use mechml_engine::{Error, Result};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// An ensemble of `n_members` states of dimension `n_state` (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct Ensemble {
    n_members: usize,
    n_state: usize,
    data: Vec<f64>,
}

impl Ensemble {
    /// An ensemble from its column-major `N × n` data (`data[i * N + m]`).
    pub fn from_data(n_members: usize, n_state: usize, data: Vec<f64>) -> Result<Self> {
        if n_members == 0 || n_state == 0 {
            return Err(Error::invalid_option(
                "Ensemble",
                "n_members x n_state",
                format!("{n_members}x{n_state}"),
                "at least one member and one state variable",
            ));
        }
        check_len(
            "Ensemble::from_data",
            "data",
            data.len(),
            n_members * n_state,
        )?;
        Ok(Self {
            n_members,
            n_state,
            data,
        })
    }

    /// An ensemble whose members are given one per row of `members` (each of length n).
    pub fn from_members(members: &[Vec<f64>]) -> Result<Self> {
        let n_members = members.len();
        let n_state = members.first().map_or(0, Vec::len);
        let mut data = vec![0.0; n_members * n_state];
        for (m, x) in members.iter().enumerate() {
            check_len("Ensemble::from_members", "member", x.len(), n_state)?;
            for (i, &v) in x.iter().enumerate() {
                data[i * n_members + m] = v;
            }
        }
        Self::from_data(n_members, n_state, data)
    }

    /// `N` members drawn from `N(mean, std² I)`, in the order member by member.
    pub fn gaussian<G: Rng + ?Sized>(
        n_members: usize,
        mean: &[f64],
        std: f64,
        rng: &mut G,
    ) -> Result<Self> {
        if !(std.is_finite() && std >= 0.0) {
            return Err(Error::invalid_option(
                "Ensemble::gaussian",
                "std",
                std,
                "finite and >= 0",
            ));
        }
        let n = mean.len();
        let mut data = vec![0.0; n_members * n];
        for m in 0..n_members {
            for i in 0..n {
                let z: f64 = StandardNormal.sample(rng);
                data[i * n_members + m] = mean[i] + std * z;
            }
        }
        Self::from_data(n_members, n, data)
    }

    /// Number of members N.
    pub fn n_members(&self) -> usize {
        self.n_members
    }
    /// State dimension n.
    pub fn n_state(&self) -> usize {
        self.n_state
    }
    /// The column-major `N × n` data.
    pub fn data(&self) -> &[f64] {
        &self.data
    }
    /// The column-major `N × n` data, mutable.
    pub fn data_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }
    /// The N values of state variable `i` (one per member).
    pub fn var(&self, i: usize) -> &[f64] {
        &self.data[i * self.n_members..(i + 1) * self.n_members]
    }
    /// The N values of state variable `i`, mutable.
    pub fn var_mut(&mut self, i: usize) -> &mut [f64] {
        let n = self.n_members;
        &mut self.data[i * n..(i + 1) * n]
    }
    /// Member `m` as a new vector.
    pub fn member(&self, m: usize) -> Vec<f64> {
        (0..self.n_state)
            .map(|i| self.data[i * self.n_members + m])
            .collect()
    }
    /// Overwrites member `m`.
    pub fn set_member(&mut self, m: usize, x: &[f64]) -> Result<()> {
        check_len("Ensemble::set_member", "x", x.len(), self.n_state)?;
        for (i, &v) in x.iter().enumerate() {
            self.data[i * self.n_members + m] = v;
        }
        Ok(())
    }
    /// A faer view `N × n`.
    pub fn as_mat(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.data, self.n_members, self.n_state)
    }
    /// A mutable faer view `N × n`.
    pub fn as_mat_mut(&mut self) -> MatMut<'_, f64> {
        MatMut::from_column_major_slice_mut(&mut self.data, self.n_members, self.n_state)
    }

    /// The ensemble mean x̄ (length n).
    pub fn mean(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.n_state];
        self.mean_into(&mut out);
        out
    }

    /// Writes the ensemble mean into `out` (length n).
    pub fn mean_into(&self, out: &mut [f64]) {
        let inv = 1.0 / self.n_members as f64;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.var(i).iter().sum::<f64>() * inv;
        }
    }

    /// The anomalies `A = E − 1x̄ᵀ` as an `N × n` matrix.
    pub fn anomalies(&self) -> Mat<f64> {
        let mean = self.mean();
        Mat::from_fn(self.n_members, self.n_state, |m, i| {
            self.data[i * self.n_members + m] - mean[i]
        })
    }

    /// The spread `sqrt(mean_i var_i)`, with the unbiased sample variance of each variable
    /// (0 for a single member).
    pub fn spread(&self) -> f64 {
        if self.n_members < 2 {
            return 0.0;
        }
        let n = self.n_members as f64;
        let mut total = 0.0;
        for i in 0..self.n_state {
            let v = self.var(i);
            let mu = v.iter().sum::<f64>() / n;
            total += v.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / (n - 1.0);
        }
        (total / self.n_state as f64).sqrt()
    }

    /// The sample covariance `AᵀA/(N − 1)` (`n × n`).
    pub fn covariance(&self) -> Result<Mat<f64>> {
        if self.n_members < 2 {
            return Err(Error::invalid_option(
                "Ensemble::covariance",
                "n_members",
                self.n_members,
                "at least 2",
            ));
        }
        let a = self.anomalies();
        let mut p = a.transpose() * &a;
        let s = 1.0 / (self.n_members as f64 - 1.0);
        for j in 0..self.n_state {
            for i in 0..self.n_state {
                p[(i, j)] *= s;
            }
        }
        Ok(p)
    }

    /// Multiplicative inflation: `A ← factor · A` (the covariance is multiplied by
    /// `factor²`), the mean unchanged (Anderson & Anderson 1999).
    pub fn inflate(&mut self, factor: f64) {
        if factor == 1.0 {
            return;
        }
        let n = self.n_members as f64;
        for i in 0..self.n_state {
            let v = self.var_mut(i);
            let mu = v.iter().sum::<f64>() / n;
            for x in v.iter_mut() {
                *x = mu + factor * (*x - mu);
            }
        }
    }

    /// Additive inflation: adds independent `N(0, std²)` draws to every entry, member by
    /// member (the order of the draws is fixed, so a seed gives the same ensemble).
    pub fn add_noise<G: Rng + ?Sized>(&mut self, std: f64, rng: &mut G) {
        if std == 0.0 {
            return;
        }
        let nm = self.n_members;
        for m in 0..nm {
            for i in 0..self.n_state {
                let z: f64 = StandardNormal.sample(rng);
                self.data[i * nm + m] += std * z;
            }
        }
    }

    /// Left-multiplies the ensemble by an `N × N` transform: `E ← G E`.
    pub fn transform(&mut self, g: MatRef<'_, f64>) -> Result<()> {
        let n = self.n_members;
        if g.nrows() != n || g.ncols() != n {
            return Err(Error::ShapeMismatch {
                op: "Ensemble::transform",
                arg: "g",
                expected: format!("{n}x{n}"),
                found: format!("{}x{}", g.nrows(), g.ncols()),
            });
        }
        let old = Mat::from_fn(n, self.n_state, |m, i| self.data[i * n + m]);
        faer::linalg::matmul::matmul(
            self.as_mat_mut(),
            faer::Accum::Replace,
            g,
            old.as_ref(),
            1.0,
            faer::Par::Seq,
        );
        Ok(())
    }

    /// Rotates the anomalies by a random mean-preserving orthogonal matrix:
    /// `A ← Ω A` with `Ω 1 = 1`, `ΩᵀΩ = I` ([`random_mean_preserving_rotation`]), which keeps
    /// the mean and the covariance and mixes the members (Sakov & Oke 2008b; Evensen 2004).
    pub fn rotate<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<()> {
        let omega = random_mean_preserving_rotation(self.n_members, rng);
        self.transform(omega.as_ref())
    }
}

/// A random orthogonal `N × N` matrix `Ω` with `Ω 1 = 1`: `Ω = 11ᵀ/N + B Q Bᵀ`, where the
/// columns of `B` are an orthonormal basis of `1^⊥` and `Q` is Haar-distributed on
/// `O(N − 1)` (the QR factor of a Gaussian matrix with the signs of `diag(R)` absorbed;
/// Mezzadri 2007, Notices AMS 54(5), "How to generate random matrices from the classical
/// compact groups"). Since `Ω1 = 1`, `ΩA` has zero column means when `A` does.
pub fn random_mean_preserving_rotation<G: Rng + ?Sized>(n: usize, rng: &mut G) -> Mat<f64> {
    if n <= 1 {
        return Mat::identity(n, n);
    }
    let k = n - 1;
    let z = Mat::<f64>::from_fn(k, k, |_, _| StandardNormal.sample(rng));
    let qr = z.qr();
    let mut q = qr.compute_Q();
    let r = qr.R();
    for j in 0..k {
        if r[(j, j)] < 0.0 {
            for i in 0..k {
                q[(i, j)] = -q[(i, j)];
            }
        }
    }
    let b = orthonormal_complement_of_ones(n);
    let bq = &b * &q;
    let mut omega = &bq * b.transpose();
    let inv = 1.0 / n as f64;
    for j in 0..n {
        for i in 0..n {
            omega[(i, j)] += inv;
        }
    }
    omega
}

/// An orthonormal basis of the complement of `1` in ℝⁿ (`n × (n − 1)`): the Helmert
/// contrasts, column j ∝ (1, …, 1, −j, 0, …, 0) with j ones.
pub fn orthonormal_complement_of_ones(n: usize) -> Mat<f64> {
    Mat::from_fn(n, n.saturating_sub(1), |i, j| {
        let jj = (j + 1) as f64;
        let norm = (jj * (jj + 1.0)).sqrt();
        if i <= j {
            1.0 / norm
        } else if i == j + 1 {
            -jj / norm
        } else {
            0.0
        }
    })
}

/// A shape check naming the operation and the argument (the engine's).
pub(crate) use mechml_engine::error::check_len;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn rotation_is_orthogonal_and_preserves_ones() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for n in [1, 2, 5, 12] {
            let o = random_mean_preserving_rotation(n, &mut rng);
            let oto = o.transpose() * &o;
            for i in 0..n {
                let row: f64 = (0..n).map(|j| o[(i, j)]).sum();
                assert!((row - 1.0).abs() < 1e-12);
                for j in 0..n {
                    let e = if i == j { 1.0 } else { 0.0 };
                    assert!((oto[(i, j)] - e).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn rotation_is_haar_on_the_complement_of_ones() {
        // Ω = 11ᵀ/N + B Q Bᵀ with Q Haar on O(N − 1): E[Q] = 0 and E[Q_ab Q_cd] =
        // δ_ac δ_bd/(N − 1), so E[Ω] = 11ᵀ/N and E[(Ω − 11ᵀ/N)_ij²] = (BBᵀ)_ii (BBᵀ)_jj /
        // (N − 1) = (N − 1)/N². Both columns and rows of Ω sum to 1 (Ωᵀ1 = 1 too, so the
        // rotated anomalies keep zero column means).
        let n = 5;
        let draws = 4000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let mut m1 = Mat::<f64>::zeros(n, n);
        let mut m2 = Mat::<f64>::zeros(n, n);
        for _ in 0..draws {
            let o = random_mean_preserving_rotation(n, &mut rng);
            for j in 0..n {
                let col: f64 = (0..n).map(|i| o[(i, j)]).sum();
                assert!((col - 1.0).abs() < 1e-12);
                for i in 0..n {
                    let c = o[(i, j)] - 1.0 / n as f64;
                    m1[(i, j)] += c / draws as f64;
                    m2[(i, j)] += c * c / draws as f64;
                }
            }
        }
        let var = (n as f64 - 1.0) / (n * n) as f64;
        // Monte-Carlo standard error of a mean of `draws` values of variance ≤ var: 5 s.e.
        let se = (var / draws as f64).sqrt();
        for i in 0..n {
            for j in 0..n {
                assert!(
                    m1[(i, j)].abs() < 5.0 * se,
                    "E[Ω]({i},{j}) = {}",
                    m1[(i, j)]
                );
                assert!(
                    (m2[(i, j)] / var - 1.0).abs() < 0.1,
                    "E[Ω²]({i},{j}) = {} vs {var}",
                    m2[(i, j)]
                );
            }
        }
    }

    #[test]
    fn rotation_keeps_mean_and_covariance() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        let mut e = Ensemble::gaussian(9, &[1.0, -2.0, 0.5], 1.3, &mut rng).unwrap();
        let (m0, p0) = (e.mean(), e.covariance().unwrap());
        e.rotate(&mut rng).unwrap();
        let (m1, p1) = (e.mean(), e.covariance().unwrap());
        for i in 0..3 {
            assert!((m0[i] - m1[i]).abs() < 1e-12);
            for j in 0..3 {
                assert!((p0[(i, j)] - p1[(i, j)]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn inflation_scales_spread() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut e = Ensemble::gaussian(7, &[0.0; 4], 1.0, &mut rng).unwrap();
        let (m0, s0) = (e.mean(), e.spread());
        e.inflate(1.5);
        assert!((e.spread() - 1.5 * s0).abs() < 1e-12);
        for (a, b) in m0.iter().zip(e.mean()) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn members_round_trip_and_shapes_are_checked() {
        let e = Ensemble::from_members(&[vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]).unwrap();
        assert_eq!(e.var(1), &[2.0, 4.0, 6.0]);
        assert_eq!(e.member(2), vec![5.0, 6.0]);
        assert!(Ensemble::from_members(&[vec![1.0], vec![1.0, 2.0]]).is_err());
        assert!(Ensemble::from_data(0, 3, vec![]).is_err());
    }
}

//! Order conditions of Runge–Kutta methods by rooted trees (Butcher 2008, *Numerical
//! Methods for Ordinary Differential Equations*, 2nd ed., §31): a method with matrix `A`
//! and weights `w` has order `p` when `wᵀ Φ(τ) = 1/γ(τ)` for every rooted tree `τ` with
//! at most `p` vertices, where `Φ(τ)` is the vector of elementary weights (`Φ(•) = 𝟙`,
//! `Φ([τ₁ … τₘ]) = ∏ⱼ A Φ(τⱼ)` componentwise) and `γ` the tree's density. For dense
//! output the conditions are `Σᵢ bᵢ(θ) Φᵢ(τ) = θ^{|τ|}/γ(τ)`.
//!
//! Public under the `testing` feature (also as `mechml_engine::testing::ode`), so that a
//! downstream crate can check the tableaus it writes:
//!
//! ```
//! use mechml_engine::ode::tableau::order_conditions::{check_tableau, measured_orders};
//! use mechml_engine::ode::tableau::{ButcherTableau, RK4, TSIT5};
//!
//! check_tableau(&TSIT5, 1e-13)?; // order 5, embedded 4, dense 4, as stated
//! assert_eq!(measured_orders(&RK4, 1e-13).order, 4);
//!
//! // Heun's method claiming order 3 is caught.
//! const WRONG: ButcherTableau = ButcherTableau {
//!     name: "heun_claims_3", a: &[&[], &[1.0]], b: &[0.5, 0.5], b_err: None,
//!     c: &[0.0, 1.0], order: 3, embedded_order: 0, dense: None,
//! };
//! assert!(check_tableau(&WRONG, 1e-13).is_err());
//! assert_eq!(measured_orders(&WRONG, 1e-13).order, 2);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use super::butcher::ButcherTableau;
use crate::error::{Error, Result};

/// The highest order [`measured_orders`] looks for (trees with up to 9 vertices).
pub const MAX_ORDER: usize = 9;

/// A rooted tree as the sorted indices of its subtrees in [`Trees`]' list.
#[derive(Clone, Debug, PartialEq)]
struct Tree {
    children: Vec<usize>,
    order: usize,
    gamma: f64,
}

/// All rooted trees up to an order, each with its density `γ`.
#[derive(Clone, Debug)]
pub struct Trees {
    list: Vec<Tree>,
}

impl Trees {
    /// Every rooted tree with at most `p` vertices (1, 1, 2, 4, 9, 20, 48, 115, 286
    /// of each order; OEIS A000081).
    pub fn up_to(p: usize) -> Self {
        let mut list = vec![Tree {
            children: vec![],
            order: 1,
            gamma: 1.0,
        }];
        for order in 2..=p {
            // Non-increasing multisets of existing trees whose orders sum to order - 1.
            let existing = list.len();
            let mut stack: Vec<(Vec<usize>, usize)> = vec![(vec![], 0)];
            while let Some((kids, sum)) = stack.pop() {
                if sum == order - 1 {
                    let gamma = order as f64 * kids.iter().map(|&k| list[k].gamma).product::<f64>();
                    list.push(Tree {
                        children: kids,
                        order,
                        gamma,
                    });
                    continue;
                }
                let max = kids.last().copied().unwrap_or(existing - 1);
                for k in 0..=max {
                    if list[k].order + sum < order {
                        let mut next = kids.clone();
                        next.push(k);
                        stack.push((next, sum + list[k].order));
                    }
                }
            }
        }
        Self { list }
    }

    /// Number of trees of each order `1..=p`.
    pub fn counts(&self) -> Vec<usize> {
        let p = self.list.iter().map(|t| t.order).max().unwrap_or(0);
        (1..=p)
            .map(|o| self.list.iter().filter(|t| t.order == o).count())
            .collect()
    }

    /// The largest `|Σ wᵢ Φᵢ(τ) − θ^{|τ|}/γ(τ)|` over the trees of order `order`, for the
    /// full (lower-triangular or diagonally implicit) `s × s` matrix `a` (rows) and the
    /// weights `w` (length `s`; `θ = 1` for the step's weights `b`).
    pub fn defect(&self, a: &[Vec<f64>], w: &[f64], order: usize, theta: f64) -> f64 {
        let s = w.len();
        let mut phi: Vec<Vec<f64>> = Vec::with_capacity(self.list.len());
        let mut worst: f64 = 0.0;
        for t in &self.list {
            let mut g = vec![1.0; s];
            for &k in &t.children {
                for (i, gi) in g.iter_mut().enumerate() {
                    *gi *= (0..s).map(|j| a[i][j] * phi[k][j]).sum::<f64>();
                }
            }
            if t.order == order {
                let lhs: f64 = w.iter().zip(&g).map(|(x, y)| x * y).sum();
                let rhs = theta.powi(t.order as i32) / t.gamma;
                worst = worst.max((lhs - rhs).abs());
            }
            phi.push(g);
        }
        worst
    }
}

/// The full `total × total` matrix `A` of a tableau with its extra dense-output stages
/// (`total` = [`ButcherTableau::stages`] or [`ButcherTableau::total_stages`]), zero on and
/// above the diagonal.
pub fn full_a(t: &ButcherTableau, total: usize) -> Vec<Vec<f64>> {
    (0..total)
        .map(|i| {
            (0..total)
                .map(|j| if j < i { t.a_ext(i, j) } else { 0.0 })
                .collect()
        })
        .collect()
}

/// The orders a tableau's coefficients achieve: the largest `p ≤ MAX_ORDER` with every
/// condition up to `p` met within a tolerance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeasuredOrders {
    /// Order of the weights `b`.
    pub order: usize,
    /// Order of the embedded weights `b̂ = b − b_err` (`None` without error weights).
    pub embedded_order: Option<usize>,
    /// Order of the dense weights `b(θ)`, the smallest over `θ ∈ {0.2, 0.5, 0.77, 1}`,
    /// within ten times the tolerance (the weights are polynomials in `θ` evaluated in
    /// floating point) (`None` without dense output).
    pub dense_order: Option<usize>,
}

/// The θ at which dense output is checked.
const THETAS: [f64; 4] = [0.2, 0.5, 0.77, 1.0];

fn order_of(trees: &Trees, a: &[Vec<f64>], w: &[f64], theta: f64, tol: f64) -> usize {
    (1..=MAX_ORDER)
        .take_while(|&q| trees.defect(a, w, q, theta) <= tol)
        .last()
        .unwrap_or(0)
}

/// The orders of `t`'s weights, embedded weights and dense weights, each condition met
/// within `tol` (`1e-13` for coefficients given to full double precision; `10 tol` for
/// the dense weights).
pub fn measured_orders(t: &ButcherTableau, tol: f64) -> MeasuredOrders {
    let trees = Trees::up_to(MAX_ORDER);
    let s = t.stages();
    let a = full_a(t, s);
    let embedded_order = t.b_err.map(|e| {
        let bh: Vec<f64> = t.b.iter().zip(e).map(|(b, e)| b - e).collect();
        order_of(&trees, &a, &bh, 1.0, tol)
    });
    let dense_order = t.dense.as_ref().map(|_| {
        let total = t.total_stages();
        let a = full_a(t, total);
        let mut w = vec![0.0; total];
        THETAS
            .iter()
            .map(|&theta| {
                t.dense_weights(theta, &mut w);
                order_of(&trees, &a, &w, theta, 10.0 * tol)
            })
            .min()
            .unwrap_or(0)
    });
    MeasuredOrders {
        order: order_of(&trees, &a, t.b, 1.0, tol),
        embedded_order,
        dense_order,
    }
}

/// Checks a tableau: its shape and simplifying conditions
/// ([`ButcherTableau::validate`]), then that its weights have exactly the stated `order`,
/// its embedded weights at least `embedded_order` and its dense output at least the
/// stated dense order, every condition within `tol`.
///
/// # Errors
/// [`Error::InvalidOption`] naming the tableau and the order that fails, with the
/// measured one.
pub fn check_tableau(t: &ButcherTableau, tol: f64) -> Result<()> {
    t.validate()?;
    let m = measured_orders(t, tol);
    let op = "check_tableau";
    if m.order != t.order as usize {
        return Err(Error::invalid_option(
            op,
            format!("{}.order", t.name),
            t.order,
            format!("the order its weights meet within {tol:e}: {}", m.order),
        ));
    }
    if let Some(e) = m.embedded_order
        && e < t.embedded_order as usize
    {
        return Err(Error::invalid_option(
            op,
            format!("{}.embedded_order", t.name),
            t.embedded_order,
            format!("at most the order its embedded weights meet within {tol:e}: {e}"),
        ));
    }
    if let (Some(d), Some(dense)) = (m.dense_order, &t.dense)
        && d < dense.order as usize
    {
        return Err(Error::invalid_option(
            op,
            format!("{}.dense.order", t.name),
            dense.order,
            format!(
                "at most the order its dense weights meet within {:e}: {d}",
                10.0 * tol
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ode::tableau::{BOSH3, DOPRI5, EULER, RK4, TSIT5, VERN7};

    #[test]
    fn builtin_tableaus_check_and_a_perturbed_one_fails() {
        for t in [&EULER, &RK4, &BOSH3, &DOPRI5, &TSIT5, &VERN7] {
            check_tableau(t, 1e-13).unwrap();
        }
        // RK4 with b₂, b₃ moved by ±1e-3: Σ b = 1, and since c₂ = c₃ = 1/2 also
        // Σ bᵢcᵢ = 1/2 and Σ bᵢcᵢ² = 1/3 still hold, but Σ bᵢ(Ac)ᵢ = 1/6 − 2.5e-4: order 2.
        const BAD: ButcherTableau = ButcherTableau {
            name: "rk4_perturbed",
            b: &[1.0 / 6.0, 1.0 / 3.0 + 1e-3, 1.0 / 3.0 - 1e-3, 1.0 / 6.0],
            ..RK4
        };
        assert_eq!(measured_orders(&BAD, 1e-13).order, 2);
        assert!(matches!(
            check_tableau(&BAD, 1e-13),
            Err(Error::InvalidOption { .. })
        ));
    }
}

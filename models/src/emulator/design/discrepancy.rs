//! The L2-star discrepancy of a point set in `[0, 1]^d` (Warnock 1972):
//! the root mean square, over anchored boxes `[0, t)`, of the difference between the
//! fraction of points in the box and its volume,
//!
//! $$ D_2^{*2} = 3^{−d} − \frac{2^{1−d}}{n} \sum_i \prod_k (1 − u_{ik}^2)
//!    + \frac{1}{n^2} \sum_{i,j} \prod_k (1 − \max(u_{ik}, u_{jk})). $$
//!
//! Random points have `E D_2^{*2} = (2^{−d} − 3^{−d})/n`; low-discrepancy sequences reach
//! `O((\log n)^{d}/n)` for `D_2^*` (e.g. Niederreiter 1992, ch. 2 and 4).

use super::Design;

/// `D_2^*` of a design (`O(n² d)`).
pub fn l2_star_discrepancy(design: &Design) -> f64 {
    let (n, d) = (design.n(), design.d());
    if n == 0 {
        return f64::NAN;
    }
    let nf = n as f64;
    let mut a = 0.0;
    for i in 0..n {
        a += design.point(i).iter().map(|u| 1.0 - u * u).product::<f64>();
    }
    let mut b = 0.0;
    for i in 0..n {
        let pi = design.point(i);
        b += pi.iter().map(|u| 1.0 - u).product::<f64>();
        for j in 0..i {
            let pj = design.point(j);
            b += 2.0
                * pi.iter()
                    .zip(pj)
                    .map(|(u, v)| 1.0 - u.max(*v))
                    .product::<f64>();
        }
    }
    let d2 = 3f64.powi(-(d as i32)) - 2f64.powi(1 - d as i32) / nf * a + b / (nf * nf);
    d2.max(0.0).sqrt()
}

//! Statistical and reproducibility checks of the virtual Brownian tree.
//!
//! Tolerances come from the sample size: for `n` independent standard normals the sample
//! mean has standard deviation `1/√n`, the sample variance `√(2/(n−1))`, and a sample
//! correlation about `1/√n`. We allow 4.5 standard deviations (a false alarm once in
//! ~150,000 runs; the seeds are fixed, so a run is reproducible either way).

use mechml_engine::sde::{BrownianPath, BrownianTreeOptions, VirtualBrownianTree};

const Z: f64 = 4.5;

fn tree(seed: u64, depth: u32, area: bool) -> VirtualBrownianTree {
    VirtualBrownianTree::new(
        0.0,
        1.0,
        2,
        seed,
        BrownianTreeOptions {
            depth,
            levy_area: area,
        },
    )
    .unwrap()
}

struct Moments {
    n: f64,
    sx: f64,
    sxx: f64,
}
impl Moments {
    fn new() -> Self {
        Self {
            n: 0.0,
            sx: 0.0,
            sxx: 0.0,
        }
    }
    fn push(&mut self, x: f64) {
        self.n += 1.0;
        self.sx += x;
        self.sxx += x * x;
    }
    fn mean(&self) -> f64 {
        self.sx / self.n
    }
    fn var(&self) -> f64 {
        (self.sxx - self.sx * self.sx / self.n) / (self.n - 1.0)
    }
}

/// Checks that `xs` look like standard normals: mean 0, variance 1.
fn check_standard(name: &str, m: &Moments) {
    let n = m.n;
    assert!(
        m.mean().abs() < Z / n.sqrt(),
        "{name}: mean {} (tolerance {})",
        m.mean(),
        Z / n.sqrt()
    );
    assert!(
        (m.var() - 1.0).abs() < Z * (2.0 / (n - 1.0)).sqrt(),
        "{name}: variance {} (tolerance {})",
        m.var(),
        Z * (2.0 / (n - 1.0)).sqrt()
    );
}

#[test]
fn increments_over_disjoint_intervals_are_independent_normals() {
    // Grid-aligned intervals at depth 10 (exact samples), of different lengths and levels.
    let intervals = [
        (0.0, 0.25),
        (0.25, 0.625),
        (0.625, 0.6259765625),
        (0.75, 1.0),
    ];
    let n = 20_000;
    let mut mom: Vec<Moments> = (0..intervals.len() * 2).map(|_| Moments::new()).collect();
    let mut cross = vec![0.0; intervals.len()]; // Σ z_k z_{k+1} (component 0)
    let mut comp = 0.0; // Σ z_0 z_1 across components
    let mut dw = [0.0; 2];
    for seed in 0..n {
        let mut w = tree(seed, 10, false);
        let mut zs = vec![0.0; intervals.len() * 2];
        for (k, &(s, t)) in intervals.iter().enumerate() {
            w.increment(s, t, &mut dw).unwrap();
            for c in 0..2 {
                zs[2 * k + c] = dw[c] / (t - s).sqrt();
                mom[2 * k + c].push(zs[2 * k + c]);
            }
        }
        for k in 0..intervals.len() - 1 {
            cross[k] += zs[2 * k] * zs[2 * k + 2];
        }
        comp += zs[0] * zs[1];
    }
    for (k, m) in mom.iter().enumerate() {
        check_standard(&format!("interval {} component {}", k / 2, k % 2), m);
    }
    let tol = Z / (n as f64).sqrt();
    for (k, c) in cross.iter().enumerate() {
        assert!(
            (c / n as f64).abs() < tol,
            "correlation of intervals {k} and {}: {}",
            k + 1,
            c / n as f64
        );
    }
    assert!((comp / n as f64).abs() < tol, "cross-component correlation");
}

#[test]
fn point_values_have_brownian_covariance() {
    // Cov(W(s), W(t)) = min(s, t); s = 0.3 and t = 0.8 are off the depth-12 grid only by
    // the in-leaf interpolation, whose variance deficit (≤ leaf width / 4) is negligible.
    let n = 20_000;
    let (s, t) = (0.25, 0.8125);
    let (mut ss, mut tt, mut st) = (0.0, 0.0, 0.0);
    let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
    for seed in 0..n {
        let mut w = tree(1_000_000 + seed, 12, false);
        w.value(s, &mut a).unwrap();
        w.value(t, &mut b).unwrap();
        ss += a[0] * a[0];
        tt += b[0] * b[0];
        st += a[0] * b[0];
    }
    let n = n as f64;
    let corr = (st / n) / ((ss / n) * (tt / n)).sqrt();
    let expected = s / (s * t).sqrt();
    // sd of a sample correlation ≈ (1 − ρ²)/√n
    let tol = Z * (1.0 - expected * expected) / n.sqrt();
    assert!(
        (corr - expected).abs() < tol,
        "corr {corr} vs {expected} ± {tol}"
    );
    let v = ss / n;
    assert!((v / s - 1.0).abs() < Z * (2.0 / n).sqrt(), "Var W(s) = {v}");
}

#[test]
fn levy_area_statistics() {
    // H_{s,t} ~ N(0, h/12), independent of W_{s,t}; checked at the root, at a mid level
    // and at the finest level (which exercises every split formula on the way down).
    let intervals = [(0.0, 1.0), (0.5, 0.75), (0.3125, 0.31640625)];
    let n = 20_000;
    let mut mw: Vec<Moments> = (0..3).map(|_| Moments::new()).collect();
    let mut mh: Vec<Moments> = (0..3).map(|_| Moments::new()).collect();
    let mut wh = [0.0; 3];
    let (mut dw, mut ha) = ([0.0; 2], [0.0; 2]);
    for seed in 0..n {
        let mut w = tree(2_000_000 + seed, 8, true);
        for (k, &(s, t)) in intervals.iter().enumerate() {
            let h: f64 = t - s;
            w.increment_with_area(s, t, &mut dw, &mut ha).unwrap();
            let zw = dw[1] / h.sqrt();
            let zh = ha[1] / (h / 12.0).sqrt();
            mw[k].push(zw);
            mh[k].push(zh);
            wh[k] += zw * zh;
        }
    }
    for k in 0..3 {
        check_standard(&format!("W on interval {k}"), &mw[k]);
        check_standard(&format!("H on interval {k}"), &mh[k]);
        assert!(
            (wh[k] / n as f64).abs() < Z / (n as f64).sqrt(),
            "corr(W, H) on interval {k}"
        );
    }
}

#[test]
fn levy_area_is_the_area_of_the_path() {
    // Independent of the split formulas: H_{0,1} must equal ∫₀¹ W(u) du − W(1)/2, which we
    // approximate by the trapezoidal rule on the tree's own grid values (depth 10). The
    // rule's error has standard deviation δ/√12 for cells of width δ = 2⁻¹⁰.
    let cells = 1024;
    let delta = 1.0 / cells as f64;
    let tol = 6.0 * delta / 12f64.sqrt();
    let mut v = [0.0; 2];
    for seed in 0..20 {
        let mut w = tree(3_000_000 + seed, 10, true);
        let mut integral = [0.0; 2];
        let mut prev = [0.0; 2];
        for j in 1..=cells {
            w.value(j as f64 * delta, &mut v).unwrap();
            for c in 0..2 {
                integral[c] += 0.5 * delta * (prev[c] + v[c]);
            }
            prev = v;
        }
        let (mut dw, mut h) = ([0.0; 2], [0.0; 2]);
        w.increment_with_area(0.0, 1.0, &mut dw, &mut h).unwrap();
        for c in 0..2 {
            let from_path = integral[c] - 0.5 * dw[c];
            assert!(
                (from_path - h[c]).abs() < tol,
                "seed {seed}: H = {}, from the path {from_path}",
                h[c]
            );
        }
    }
}

fn queries() -> Vec<(f64, f64)> {
    let mut q = Vec::new();
    for k in 0..40 {
        let a = (k as f64 * 0.6180339887).fract();
        let b = (k as f64 * 0.4142135623 + 0.1).fract();
        q.push((a.min(b), a.max(b)));
    }
    // Grid-aligned ones too.
    q.extend([(0.0, 1.0), (0.25, 0.5), (0.5, 0.5009765625), (0.125, 0.875)]);
    q
}

fn answers(w: &mut VirtualBrownianTree, order: &[usize], qs: &[(f64, f64)]) -> Vec<[u64; 4]> {
    let mut out = vec![[0u64; 4]; qs.len()];
    let (mut dw, mut h) = ([0.0; 2], [0.0; 2]);
    for &k in order {
        let (s, t) = qs[k];
        w.increment_with_area(s, t, &mut dw, &mut h).unwrap();
        out[k] = [
            dw[0].to_bits(),
            dw[1].to_bits(),
            h[0].to_bits(),
            h[1].to_bits(),
        ];
    }
    out
}

#[test]
fn query_order_does_not_change_any_bit() {
    let qs = queries();
    let n = qs.len();
    let forward: Vec<usize> = (0..n).collect();
    let backward: Vec<usize> = (0..n).rev().collect();
    let shuffled: Vec<usize> = (0..n).map(|k| (k * 17 + 5) % n).collect();
    let mut w = tree(99, 12, true);
    let a = answers(&mut w, &forward, &qs);
    // Same tree with a warm cache, a fresh copy, and a newly built tree.
    let b = answers(&mut w, &backward, &qs);
    let c = answers(&mut w.fresh(), &shuffled, &qs);
    let d = answers(&mut tree(99, 12, true), &shuffled, &qs);
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a, d);
    // And a different seed gives a different path.
    let e = answers(&mut tree(100, 12, true), &forward, &qs);
    assert_ne!(a, e);
}

#[test]
fn fixed_step_grid_is_exact_in_time() {
    // for_fixed_steps puts t0 + k h on the finest grid even when n_steps is not a power of 2.
    let (t0, t1, n) = (0.0, 200.0, 20_000);
    let w = VirtualBrownianTree::builder(t0, t1)
        .fixed_steps(n)
        .build()
        .unwrap();
    let h = (t1 - t0) / n as f64;
    assert_eq!(w.depth(), 15);
    assert!((w.leaf_width() - h).abs() < 1e-15);
    for k in [0, 1, 7, 9999, 19_999, 20_000] {
        let t = t0 + k as f64 * h;
        assert_eq!(w.grid_index(t, w.depth()), Some(k as u64), "k = {k}");
    }
}

//! Test functions with known sensitivity indices, shared by tests and benchmarks.

use crate::emulator::design::{ParamRange, ParameterSpace};

/// Ishigami & Homma (1990): `sin x₁ + a sin² x₂ + b x₃⁴ sin x₁` on `[−π, π]³`.
pub fn ishigami(x: &[f64], a: f64, b: f64) -> f64 {
    x[0].sin() + a * x[1].sin().powi(2) + b * x[2].powi(4) * x[0].sin()
}

/// First-order and total indices of the Ishigami function in closed form (e.g. Sobol'
/// & Levitan 1999; Saltelli et al. 2008, §4.x): with `V₁ = ½(1 + bπ⁴/5)²`, `V₂ = a²/8`,
/// `V₁₃ = b²π⁸ (1/18 − 1/50)`, `V = V₁ + V₂ + V₁₃`.
pub fn ishigami_indices(a: f64, b: f64) -> ([f64; 3], [f64; 3]) {
    let pi4 = std::f64::consts::PI.powi(4);
    let v1 = 0.5 * (1.0 + b * pi4 / 5.0).powi(2);
    let v2 = a * a / 8.0;
    let v13 = b * b * pi4 * pi4 * (1.0 / 18.0 - 1.0 / 50.0);
    let v = v1 + v2 + v13;
    ([v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v])
}

/// Sobol' g-function `Π_k (|4x_k − 2| + a_k)/(1 + a_k)` on `[0, 1]^d`.
pub fn g_function(x: &[f64], a: &[f64]) -> f64 {
    x.iter()
        .zip(a)
        .map(|(x, a)| ((4.0 * x - 2.0).abs() + a) / (1.0 + a))
        .product()
}

/// Indices of the g-function (Saltelli & Sobol' 1995): `V_k = 1/(3(1 + a_k)²)`,
/// `V = Π(1 + V_k) − 1`, `S_k = V_k / V`, `S_{T,k} = V_k Π_{j≠k}(1 + V_j) / V`.
pub fn g_function_indices(a: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let vk: Vec<f64> = a.iter().map(|a| 1.0 / (3.0 * (1.0 + a).powi(2))).collect();
    let prod: f64 = vk.iter().map(|v| 1.0 + v).product();
    let v = prod - 1.0;
    let s = vk.iter().map(|x| x / v).collect();
    let t = vk.iter().map(|x| x * prod / (1.0 + x) / v).collect();
    (s, t)
}

/// The borehole function (Morris, Mitchell & Ylvisaker 1993): water flow through a
/// borehole, inputs `(r_w, r, T_u, H_u, T_l, H_l, L, K_w)`.
pub fn borehole(x: &[f64]) -> f64 {
    let (rw, r, tu, hu, tl, hl, l, kw) = (x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]);
    let lr = (r / rw).ln();
    2.0 * std::f64::consts::PI * tu * (hu - hl)
        / (lr * (1.0 + 2.0 * l * tu / (lr * rw * rw * kw) + tu / tl))
}

/// The borehole function's input box (WORKLOADS.md §8.3).
pub fn borehole_space() -> ParameterSpace {
    ParameterSpace::new(vec![
        ParamRange::linear("rw", 0.05, 0.15),
        ParamRange::linear("r", 100.0, 50_000.0),
        ParamRange::linear("Tu", 63_070.0, 115_600.0),
        ParamRange::linear("Hu", 990.0, 1110.0),
        ParamRange::linear("Tl", 63.1, 116.0),
        ParamRange::linear("Hl", 700.0, 820.0),
        ParamRange::linear("L", 1120.0, 1680.0),
        ParamRange::linear("Kw", 9855.0, 12_045.0),
    ])
    .expect("the borehole box is valid")
}

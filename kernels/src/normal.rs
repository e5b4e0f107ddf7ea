//! Standard normal streams: xoshiro256++ generators and a 256-layer ziggurat, many
//! generators ("lanes") side by side.
//!
//! * Generator: xoshiro256++ (Blackman & Vigna 2021, "Scrambled linear pseudorandom number
//!   generators", ACM TOMS 47(4), doi:10.1145/3460772), word for word the generator of
//!   `rand_xoshiro::Xoshiro256PlusPlus`.
//! * Normals: the ziggurat of Marsaglia & Tsang (2000, "The ziggurat method for generating
//!   random variables", J. Stat. Softw. 5(8)) in the form of Doornik (2005, "An improved
//!   ziggurat method to generate normal random samples"): one 64-bit draw gives the layer
//!   (low 8 bits) and a uniform in `[−1, 1)` (high 52 bits); about 98.8 % of draws are
//!   accepted on the fast path, the rest take the wedge or tail test with further draws
//!   from the same generator.
//!
//! [`fill_lanes_reference`] is the scalar reference. [`fill_lanes`] computes the same numbers,
//! bit for bit, with the fast path of four lanes per AVX2 register when the processor has
//! AVX2 (detected at run time), else it is the reference: a lane whose draw misses the fast
//! path finishes on its own generator exactly as [`Ziggurat::sample`] does, so every lane's
//! sequence is a function of its seed alone.
//!
//! The tables are computed with the `libm` crate, so the numbers are the same on every
//! platform.

/// The start of the tail, `r`, for 256 layers (Marsaglia & Tsang 2000, §3).
const ZIG_R: f64 = 3.654_152_885_361_009;
/// The area of each layer, `v = r f(r) + ∫ᵣ^∞ f`, `f(x) = e^{−x²/2}`.
const ZIG_V: f64 = 0.004_928_673_233_99;

/// Ziggurat tables: layer edges `x[i]` (decreasing, `x[256] = 0`), fast-acceptance ratios
/// `r[i] = x[i+1]/x[i]`, and the density at the edges.
#[derive(Clone, Debug)]
pub struct Ziggurat {
    x: [f64; 257],
    r: [f64; 256],
    /// `f[i] = exp(−x[i]²/2)`.
    f: [f64; 257],
    /// `(r[i], x[i])` side by side, for vectorised lookups.
    rx: [[f64; 2]; 256],
    /// `e[i] = −x[i]²/2`, the exponent at the edges.
    e: [f64; 257],
    /// The chord slope `(f[i+1] − f[i]) / (e[i+1] − e[i])` of `exp` over layer `i`.
    slope: [f64; 256],
}

impl Default for Ziggurat {
    fn default() -> Self {
        Self::new()
    }
}

impl Ziggurat {
    /// Builds the tables (Doornik 2005, `ZigNorInit`).
    pub fn new() -> Self {
        let mut x = [0.0; 257];
        let mut r = [0.0; 256];
        let mut f = libm::exp(-0.5 * ZIG_R * ZIG_R);
        x[0] = ZIG_V / f;
        x[1] = ZIG_R;
        for i in 2..256 {
            x[i] = libm::sqrt(-2.0 * libm::log(ZIG_V / x[i - 1] + f));
            f = libm::exp(-0.5 * x[i] * x[i]);
        }
        x[256] = 0.0;
        for i in 0..256 {
            r[i] = x[i + 1] / x[i];
        }
        let mut fx = [0.0; 257];
        for i in 0..257 {
            fx[i] = libm::exp(-0.5 * x[i] * x[i]);
        }
        let mut rx = [[0.0; 2]; 256];
        for i in 0..256 {
            rx[i] = [r[i], x[i]];
        }
        let mut e = [0.0; 257];
        for i in 0..257 {
            e[i] = -0.5 * x[i] * x[i];
        }
        let mut slope = [0.0; 256];
        for i in 0..256 {
            slope[i] = (fx[i + 1] - fx[i]) / (e[i + 1] - e[i]);
        }
        Self {
            x,
            r,
            f: fx,
            rx,
            e,
            slope,
        }
    }

    /// The layer edges `x[0..=256]`.
    pub fn edges(&self) -> &[f64; 257] {
        &self.x
    }

    /// One standard normal from the generator state `s`.
    #[inline(always)]
    pub fn sample(&self, s: &mut [u64; 4]) -> f64 {
        let w = next_u64(s);
        let i = (w & 0xff) as usize;
        let u = uniform_pm1(w);
        if u.abs() < self.r[i] {
            u * self.x[i]
        } else {
            self.sample_slow(s, i, u)
        }
    }

    /// The rest of [`Ziggurat::sample`] after a draw `w` (layer `i`, uniform `u`) missed
    /// the fast path.
    #[inline(never)]
    fn sample_slow(&self, s: &mut [u64; 4], mut i: usize, mut u: f64) -> f64 {
        // Bounded in probability, not in count: each round accepts with probability above
        // 0.98, so 2^-64 is reached after a few dozen rounds.
        loop {
            if u.abs() < self.r[i] {
                return u * self.x[i];
            }
            if i == 0 {
                // The tail beyond r (Marsaglia 1964).
                loop {
                    let a = libm::log(open01(next_u64(s))) / ZIG_R;
                    let b = libm::log(open01(next_u64(s)));
                    if -2.0 * b >= a * a {
                        return if u < 0.0 { a - ZIG_R } else { ZIG_R - a };
                    }
                }
            }
            // The wedge between layers i and i + 1: accept if a uniform height in
            // [f(x[i]), f(x[i+1])] falls under the density (Marsaglia & Tsang 2000).
            let x = u * self.x[i];
            let y = self.f[i] + open01(next_u64(s)) * (self.f[i + 1] - self.f[i]);
            if self.under_density(i, y, -0.5 * x * x) {
                return x;
            }
            let w = next_u64(s);
            i = (w & 0xff) as usize;
            u = uniform_pm1(w);
        }
    }
}

impl Ziggurat {
    /// `y < exp(e)` for `e = −x²/2` with `|x|` in layer `i`'s wedge `[x[i+1], x[i]]`,
    /// decided without the exponential where a squeeze settles it.
    ///
    /// `exp` is convex, so on `[e₀, e₁] = [−x[i]²/2, −x[i+1]²/2]` it lies above its tangents
    /// at both ends and below the chord through `(e₀, f[i])` and `(e₁, f[i+1])`. A height
    /// clearly (by a relative margin of 10⁻¹², far above the rounding of these bounds and of
    /// `libm::exp`) below the larger tangent is under the density, one clearly above the
    /// chord is not; only heights inside the thin band between them compute `libm::exp`.
    /// The decision is therefore exactly that of `y < libm::exp(e)`.
    #[inline]
    fn under_density(&self, i: usize, y: f64, e: f64) -> bool {
        let (f0, f1) = (self.f[i], self.f[i + 1]);
        let (e0, e1) = (self.e[i], self.e[i + 1]);
        let margin = 1e-12 * f1;
        let below = (f0 * (1.0 + (e - e0))).max(f1 * (1.0 + (e - e1)));
        if y < below - margin {
            return true;
        }
        let chord = f0 + (e - e0) * self.slope[i];
        if y > chord + margin {
            return false;
        }
        y < libm::exp(e)
    }
}

/// The 52 high bits of `w` as a double in `[2, 4)`, minus 3: uniform on `[−1, 1)`.
#[inline(always)]
fn uniform_pm1(w: u64) -> f64 {
    f64::from_bits((w >> 12) | 0x4000_0000_0000_0000) - 3.0
}

/// A uniform on `(0, 1)` from the top 53 bits.
#[inline]
fn open01(w: u64) -> f64 {
    ((w >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// One xoshiro256++ output (Blackman & Vigna 2021).
#[inline(always)]
pub fn next_u64(s: &mut [u64; 4]) -> u64 {
    let r = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    r
}

/// Draws the next `per_lane` normals of every lane, the `j`-th draw of the call scaled by
/// `scale[j % scale.len()]`, into `out[j * lanes + l]` (`lanes = states.len()`).
///
/// Bit for bit [`fill_lanes_reference`]; vectorised where the processor allows.
///
/// # Panics
/// If `scale` is empty or `out` is shorter than `per_lane * lanes` (callers size both).
pub fn fill_lanes(
    zig: &Ziggurat,
    states: &mut [[u64; 4]],
    per_lane: usize,
    scale: &[f64],
    out: &mut [f64],
) {
    assert!(!scale.is_empty() && out.len() >= per_lane * states.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        let lanes = states.len();
        let groups = lanes / 4;
        // SAFETY: AVX2 is available (checked above); `fill_groups_avx2` reads and writes
        // only inside `states[..4 * groups]` and `out[j * lanes + 4g .. + 4]` for
        // `j < per_lane`, `g < groups`, which the assertion above keeps in bounds.
        unsafe { avx2::fill_groups(zig, states, groups, per_lane, scale, out) };
        fill_range(zig, states, 4 * groups, per_lane, scale, out);
        return;
    }
    fill_lanes_reference(zig, states, per_lane, scale, out);
}

/// The scalar reference of [`fill_lanes`].
pub fn fill_lanes_reference(
    zig: &Ziggurat,
    states: &mut [[u64; 4]],
    per_lane: usize,
    scale: &[f64],
    out: &mut [f64],
) {
    fill_range(zig, states, 0, per_lane, scale, out);
}

/// Lanes `first..` one at a time.
fn fill_range(
    zig: &Ziggurat,
    states: &mut [[u64; 4]],
    first: usize,
    per_lane: usize,
    scale: &[f64],
    out: &mut [f64],
) {
    let lanes = states.len();
    let ns = scale.len();
    for l in first..lanes {
        let mut s = states[l];
        let mut c = 0;
        for j in 0..per_lane {
            out[j * lanes + l] = scale[c] * zig.sample(&mut s);
            c = if c + 1 == ns { 0 } else { c + 1 };
        }
        states[l] = s;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! Four lanes per 256-bit register: word `k` of the four generators in one register.
    use super::Ziggurat;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2")]
    #[inline]
    fn rotl<const L: i32, const R: i32>(a: __m256i) -> __m256i {
        // AVX2 has no 64-bit rotate: (a << L) | (a >> (64 − L)).
        _mm256_or_si256(_mm256_slli_epi64::<L>(a), _mm256_srli_epi64::<R>(a))
    }

    /// The lanes of one draw that missed the fast path (bit `l` of `ok_bits` clear), each
    /// finished on its own generator (`ss[k][l]` = word `k` of lane `l`) by the scalar
    /// slow path, scaled by `sc` into `vs`.
    #[cold]
    #[inline(never)]
    fn finish_missed(
        zig: &Ziggurat,
        ok_bits: i32,
        sc: f64,
        ws: &[u64; 4],
        vs: &mut [f64; 4],
        ss: &mut [[u64; 4]; 4],
    ) {
        for l in 0..4 {
            if ok_bits & (1 << l) == 0 {
                let mut s = [ss[0][l], ss[1][l], ss[2][l], ss[3][l]];
                let i = (ws[l] & 0xff) as usize;
                vs[l] = sc * zig.sample_slow(&mut s, i, super::uniform_pm1(ws[l]));
                for k in 0..4 {
                    ss[k][l] = s[k];
                }
            }
        }
    }

    /// Lanes `0..4 * groups` of [`super::fill_lanes`].
    ///
    /// # Safety
    /// The processor must support AVX2; `states.len() >= 4 * groups`, `scale` non-empty and
    /// `out.len() >= per_lane * states.len()`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn fill_groups(
        zig: &Ziggurat,
        states: &mut [[u64; 4]],
        groups: usize,
        per_lane: usize,
        scale: &[f64],
        out: &mut [f64],
    ) {
        let lanes = states.len();
        let ns = scale.len();
        let mask_ff = _mm256_set1_epi64x(0xff);
        let exp_bits = _mm256_set1_epi64x(0x4000_0000_0000_0000);
        let three = _mm256_set1_pd(3.0);
        let abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
        for g in 0..groups {
            let st = &mut states[4 * g..4 * g + 4];
            // Transpose the four states into word-major registers.
            let word = |k: usize| {
                _mm256_set_epi64x(
                    st[3][k] as i64,
                    st[2][k] as i64,
                    st[1][k] as i64,
                    st[0][k] as i64,
                )
            };
            let (mut s0, mut s1, mut s2, mut s3) = (word(0), word(1), word(2), word(3));
            let mut c = 0;
            for j in 0..per_lane {
                let sc = scale[c];
                c = if c + 1 == ns { 0 } else { c + 1 };
                // xoshiro256++ on four lanes.
                let w = _mm256_add_epi64(rotl::<23, 41>(_mm256_add_epi64(s0, s3)), s0);
                let t = _mm256_slli_epi64::<17>(s1);
                s2 = _mm256_xor_si256(s2, s0);
                s3 = _mm256_xor_si256(s3, s1);
                s1 = _mm256_xor_si256(s1, s2);
                s0 = _mm256_xor_si256(s0, s3);
                s2 = _mm256_xor_si256(s2, t);
                s3 = rotl::<45, 19>(s3);
                // The fast path: layer i, u uniform on [−1, 1), accept if |u| < r[i].
                let i = _mm256_and_si256(w, mask_ff);
                let u = _mm256_sub_pd(
                    _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64::<12>(w), exp_bits)),
                    three,
                );
                // Table lookups: (r[i], x[i]) is one 16-byte pair of `rx`; four 128-bit
                // loads and two shuffles instead of two gathers (slow on some processors).
                let lo = _mm256_castsi256_si128(i);
                let hi = _mm256_extracti128_si256::<1>(i);
                let (i0, i1) = (
                    _mm_cvtsi128_si64(lo) as usize,
                    _mm_extract_epi64::<1>(lo) as usize,
                );
                let (i2, i3) = (
                    _mm_cvtsi128_si64(hi) as usize,
                    _mm_extract_epi64::<1>(hi) as usize,
                );
                // SAFETY: every index is below 256 (masked with 0xff) and `rx` has 256
                // pairs.
                let (p0, p1, p2, p3) = unsafe {
                    let rx = zig.rx.as_ptr();
                    (
                        _mm_loadu_pd(rx.add(i0).cast()),
                        _mm_loadu_pd(rx.add(i1).cast()),
                        _mm_loadu_pd(rx.add(i2).cast()),
                        _mm_loadu_pd(rx.add(i3).cast()),
                    )
                };
                // [r0 x0 | r2 x2] and [r1 x1 | r3 x3] -> r = [r0 r1 r2 r3], x = [x0 x1 x2 x3].
                let a = _mm256_insertf128_pd::<1>(_mm256_castpd128_pd256(p0), p2);
                let b = _mm256_insertf128_pd::<1>(_mm256_castpd128_pd256(p1), p3);
                let (r, x) = (_mm256_unpacklo_pd(a, b), _mm256_unpackhi_pd(a, b));
                let ok = _mm256_cmp_pd::<_CMP_LT_OQ>(_mm256_and_pd(u, abs_mask), r);
                let mut v = _mm256_mul_pd(_mm256_set1_pd(sc), _mm256_mul_pd(u, x));
                let ok_bits = _mm256_movemask_pd(ok);
                if ok_bits != 0b1111 {
                    // Finish the missed lanes on their own generators, in scalar code.
                    let mut ws = [0u64; 4];
                    let mut vs = [0.0f64; 4];
                    let mut ss = [[0u64; 4]; 4];
                    // SAFETY: unaligned stores of 256-bit registers into 4-element arrays.
                    unsafe {
                        _mm256_storeu_si256(ws.as_mut_ptr().cast(), w);
                        _mm256_storeu_pd(vs.as_mut_ptr(), v);
                        for (k, sk) in [s0, s1, s2, s3].into_iter().enumerate() {
                            _mm256_storeu_si256(ss[k].as_mut_ptr().cast(), sk);
                        }
                    }
                    finish_missed(zig, ok_bits, sc, &ws, &mut vs, &mut ss);
                    // SAFETY: unaligned loads from 4-element arrays.
                    unsafe {
                        v = _mm256_loadu_pd(vs.as_ptr());
                        s0 = _mm256_loadu_si256(ss[0].as_ptr().cast());
                        s1 = _mm256_loadu_si256(ss[1].as_ptr().cast());
                        s2 = _mm256_loadu_si256(ss[2].as_ptr().cast());
                        s3 = _mm256_loadu_si256(ss[3].as_ptr().cast());
                    }
                }
                let o = &mut out[j * lanes + 4 * g..j * lanes + 4 * g + 4];
                // SAFETY: `o` has exactly four elements.
                unsafe { _mm256_storeu_pd(o.as_mut_ptr(), v) };
            }
            let mut ss = [[0u64; 4]; 4];
            // SAFETY: unaligned stores into 4-element arrays.
            unsafe {
                for (k, sk) in [s0, s1, s2, s3].into_iter().enumerate() {
                    _mm256_storeu_si256(ss[k].as_mut_ptr().cast(), sk);
                }
            }
            for (l, s) in st.iter_mut().enumerate() {
                *s = [ss[0][l], ss[1][l], ss[2][l], ss[3][l]];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 (Steele, Lea & Flood 2014), as `rand_core`'s `seed_from_u64` seeds
    /// xoshiro: four outputs form the state.
    fn seed(mut z: u64) -> [u64; 4] {
        let mut s = [0; 4];
        for w in &mut s {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            *w = x ^ (x >> 31);
        }
        s
    }

    #[test]
    fn tables_close_the_ziggurat() {
        let z = Ziggurat::new();
        // The last computed edge x[255] must leave the top layer with area v:
        // x[255] (1 − f(x[255])) = v, up to the rounding of the published constants.
        let x = z.x[255];
        let top = x * (1.0 - (-0.5 * x * x).exp());
        assert!((top / ZIG_V - 1.0).abs() < 1e-6, "top layer area {top}");
        assert!(z.x.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn squeeze_decides_as_the_exponential_does() {
        // Every layer, heights across the whole wedge and just around the density itself.
        let z = Ziggurat::new();
        let mut st = seed(7);
        for i in 1..256 {
            for _ in 0..400 {
                let a = open01(next_u64(&mut st));
                let x = z.x[i + 1] + a * (z.x[i] - z.x[i + 1]);
                let e = -0.5 * x * x;
                let fe = libm::exp(e);
                let b = open01(next_u64(&mut st));
                let wide = z.f[i] + b * (z.f[i + 1] - z.f[i]);
                let near = fe * (1.0 + (b - 0.5) * 1e-9);
                for y in [wide, near, fe, f64::from_bits(fe.to_bits() - 1)] {
                    assert_eq!(z.under_density(i, y, e), y < fe, "layer {i}, x {x}, y {y}");
                }
            }
        }
    }

    #[test]
    fn vectorised_fill_is_the_reference_bit_for_bit() {
        let z = Ziggurat::new();
        // 11 lanes: two vector groups and a scalar remainder; 3,000 draws per lane reach
        // the wedge (~1.2 % of draws) and the tail (~3e-4) many times; two scales.
        let (lanes, n) = (11, 3000);
        let states: Vec<[u64; 4]> = (0..lanes as u64).map(seed).collect();
        let (mut a, mut b) = (states.clone(), states.clone());
        let (mut oa, mut ob) = (vec![0.0; lanes * n], vec![0.0; lanes * n]);
        let scale = [1.0, 0.25];
        for half in 0..2 {
            let r = half * (lanes * n / 2)..(half + 1) * (lanes * n / 2);
            fill_lanes(&z, &mut a, n / 2, &scale, &mut oa[r.clone()]);
            fill_lanes_reference(&z, &mut b, n / 2, &scale, &mut ob[r]);
        }
        assert_eq!(a, b);
        let tails = oa.iter().filter(|v| v.abs() > ZIG_R).count();
        assert!(tails > 0, "the test must reach the tail");
        for (x, y) in oa.iter().zip(&ob) {
            assert_eq!(x.to_bits(), y.to_bits());
        }
    }
}

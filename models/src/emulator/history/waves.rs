//! Waves of history matching and sampling of the NROY region.

use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::implausibility::{HmOptions, OutputPredictor, Target, implausibility};
use crate::emulator::design::{SobolOptions, SobolSequence};

/// One wave: its emulators, the observed targets and the implausibility measure.
pub struct Wave {
    /// Emulators of this wave's outputs.
    pub predictor: Box<dyn OutputPredictor + Send>,
    /// One target per output.
    pub targets: Vec<Target>,
    /// Cutoff and order.
    pub options: HmOptions,
}

/// Whether each candidate (point-major, unit cube) survives every wave; each wave only
/// looks at the candidates the earlier ones kept.
pub fn nroy_mask(waves: &[Wave], xs: &[f64], dim: usize) -> Result<Vec<bool>> {
    let m = xs.len() / dim.max(1);
    let mut keep = vec![true; m];
    for w in waves {
        let idx: Vec<usize> = (0..m).filter(|&i| keep[i]).collect();
        if idx.is_empty() {
            break;
        }
        let sub: Vec<f64> = idx
            .iter()
            .flat_map(|&i| xs[i * dim..(i + 1) * dim].iter().copied())
            .collect();
        let imp = implausibility(w.predictor.as_ref(), &w.targets, &sub, &w.options)?;
        for (k, &i) in idx.iter().enumerate() {
            keep[i] = imp[k] <= w.options.cutoff;
        }
    }
    Ok(keep)
}

/// Options of [`sample_nroy`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleOptions {
    /// Points wanted.
    pub n: usize,
    /// Most candidates examined (a bound on the work; the sample may then be smaller).
    pub max_candidates: usize,
    /// Candidates per batch.
    pub batch: usize,
    /// Seed of the scrambled Sobol' candidates.
    pub seed: u64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        Self {
            n: 100,
            max_candidates: 10_000_000,
            batch: 200_000,
            seed: 0,
        }
    }
}

/// A sample of the NROY region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NroySample {
    /// NROY points (unit cube), point-major.
    pub points: Vec<f64>,
    /// Candidates examined.
    pub candidates: usize,
    /// NROY candidates found (≥ the points kept).
    pub accepted: usize,
    /// Estimated NROY fraction of the box (`accepted / candidates`).
    pub fraction: f64,
}

/// Draws NROY points by rejection from a scrambled Sobol' sequence over the unit cube,
/// batch by batch, until `opts.n` are found or `opts.max_candidates` were examined.
pub fn sample_nroy(waves: &[Wave], dim: usize, opts: &SampleOptions) -> Result<NroySample> {
    if opts.batch == 0 || opts.max_candidates == 0 {
        return Err(Error::invalid_option(
            "SampleOptions",
            "batch",
            opts.batch,
            "batch and max_candidates ≥ 1",
        ));
    }
    let seq = SobolSequence::new(dim, SobolOptions::scrambled(opts.seed))?;
    let mut points = Vec::with_capacity(opts.n * dim);
    let (mut seen, mut accepted) = (0usize, 0usize);
    let mut buf = Vec::new();
    while seen < opts.max_candidates && points.len() < opts.n * dim {
        let b = opts.batch.min(opts.max_candidates - seen);
        buf.resize(b * dim, 0.0);
        seq.fill(seen as u64, &mut buf);
        let keep = nroy_mask(waves, &buf, dim)?;
        for (i, k) in keep.iter().enumerate() {
            if *k {
                accepted += 1;
                if points.len() < opts.n * dim {
                    points.extend_from_slice(&buf[i * dim..(i + 1) * dim]);
                }
            }
        }
        seen += b;
    }
    Ok(NroySample {
        points,
        candidates: seen,
        accepted,
        fraction: accepted as f64 / seen.max(1) as f64,
    })
}

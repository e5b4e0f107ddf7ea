//! Parameter spaces: named inputs with physical ranges on a linear or a logarithmic scale,
//! and the map between the unit cube (where designs and emulators live) and physical
//! values.
//!
//! For a linear input `x = lo + u (hi − lo)`; for a log-scale input
//! `x = lo (hi / lo)^u` (so that a design spreads evenly over orders of magnitude).

use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

/// How an input's range is spread over the unit interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// Evenly in the value.
    #[default]
    Linear,
    /// Evenly in the logarithm of the value (`lo > 0`).
    Log,
}

/// One input: name, physical range `[lo, hi]` and scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamRange {
    /// Name (unique within a space).
    pub name: String,
    /// Lower end.
    pub lo: f64,
    /// Upper end (> `lo`).
    pub hi: f64,
    /// Scale of the range.
    #[serde(default)]
    pub scale: Scale,
}

impl ParamRange {
    /// A linear range.
    pub fn linear(name: impl Into<String>, lo: f64, hi: f64) -> Self {
        Self {
            name: name.into(),
            lo,
            hi,
            scale: Scale::Linear,
        }
    }

    /// A logarithmic range (`lo > 0`).
    pub fn log(name: impl Into<String>, lo: f64, hi: f64) -> Self {
        Self {
            name: name.into(),
            lo,
            hi,
            scale: Scale::Log,
        }
    }

    /// Physical value at `u ∈ [0, 1]`.
    #[inline]
    pub fn to_physical(&self, u: f64) -> f64 {
        match self.scale {
            Scale::Linear => self.lo + u * (self.hi - self.lo),
            Scale::Log => self.lo * (self.hi / self.lo).powf(u),
        }
    }

    /// `dx/du` at `u` (for gradients taken on the unit scale).
    #[inline]
    pub fn derivative(&self, u: f64) -> f64 {
        match self.scale {
            Scale::Linear => self.hi - self.lo,
            Scale::Log => self.to_physical(u) * (self.hi / self.lo).ln(),
        }
    }

    /// Unit-cube coordinate of the physical value `x` (not clamped).
    #[inline]
    pub fn to_unit(&self, x: f64) -> f64 {
        match self.scale {
            Scale::Linear => (x - self.lo) / (self.hi - self.lo),
            Scale::Log => (x / self.lo).ln() / (self.hi / self.lo).ln(),
        }
    }

    fn validate(&self) -> Result<()> {
        let op = "ParamRange";
        if !(self.lo.is_finite() && self.hi.is_finite() && self.lo < self.hi) {
            return Err(Error::invalid_option(
                op,
                format!("{}.[lo, hi]", self.name),
                format!("[{}, {}]", self.lo, self.hi),
                "finite with lo < hi",
            ));
        }
        if self.scale == Scale::Log && self.lo <= 0.0 {
            return Err(Error::invalid_option(
                op,
                format!("{}.lo", self.name),
                self.lo,
                "> 0 for a log-scale range",
            ));
        }
        Ok(())
    }
}

/// An ordered set of named inputs with their ranges.
///
/// ```
/// use mechml_models::emulator::design::{ParamRange, ParameterSpace};
/// let space = ParameterSpace::new(vec![
///     ParamRange::linear("kappa", 0.5, 2.0),
///     ParamRange::log("c_deep", 10.0, 1000.0),
/// ])?;
/// assert_eq!(space.to_physical(&[0.5, 0.5])?, vec![1.25, 100.0]);
/// let u = space.to_unit(&[1.25, 100.0])?;
/// assert!((u[1] - 0.5).abs() < 1e-15);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParameterSpace {
    params: Vec<ParamRange>,
}

impl ParameterSpace {
    /// Checks every range (finite, `lo < hi`, `lo > 0` on a log scale) and that names are
    /// unique.
    pub fn new(params: Vec<ParamRange>) -> Result<Self> {
        if params.is_empty() {
            return Err(Error::invalid_option(
                "ParameterSpace",
                "params",
                "[]",
                "at least one input",
            ));
        }
        for (i, p) in params.iter().enumerate() {
            p.validate()?;
            if params[..i].iter().any(|q| q.name == p.name) {
                return Err(Error::invalid_option(
                    "ParameterSpace",
                    "name",
                    &p.name,
                    "unique input names",
                ));
            }
        }
        Ok(Self { params })
    }

    /// The unit cube `[0, 1]^d` with names `x[0]`, … .
    pub fn unit(d: usize) -> Result<Self> {
        Self::new(
            (0..d)
                .map(|i| ParamRange::linear(format!("x[{i}]"), 0.0, 1.0))
                .collect(),
        )
    }

    /// Number of inputs.
    pub fn dim(&self) -> usize {
        self.params.len()
    }

    /// The inputs.
    pub fn params(&self) -> &[ParamRange] {
        &self.params
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<String> {
        self.params.iter().map(|p| p.name.clone()).collect()
    }

    /// Index of the input `name`.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.params
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| {
                Error::invalid_option(
                    "ParameterSpace",
                    "name",
                    name,
                    format!("one of {:?}", self.names()),
                )
            })
    }

    /// Physical values of the unit-cube point `u`.
    pub fn to_physical(&self, u: &[f64]) -> Result<Vec<f64>> {
        check_point("ParameterSpace::to_physical", u, self.dim())?;
        Ok(self
            .params
            .iter()
            .zip(u)
            .map(|(p, &v)| p.to_physical(v))
            .collect())
    }

    /// Unit-cube coordinates of the physical point `x`.
    pub fn to_unit(&self, x: &[f64]) -> Result<Vec<f64>> {
        check_point("ParameterSpace::to_unit", x, self.dim())?;
        Ok(self
            .params
            .iter()
            .zip(x)
            .map(|(p, &v)| p.to_unit(v))
            .collect())
    }

    /// Whether the physical point `x` lies in the box.
    pub fn contains(&self, x: &[f64]) -> bool {
        x.len() == self.dim()
            && self
                .params
                .iter()
                .zip(x)
                .all(|(p, &v)| v >= p.lo && v <= p.hi)
    }
}

/// Checks length and finiteness of a point.
pub(crate) fn check_point(op: &'static str, x: &[f64], d: usize) -> Result<()> {
    if x.len() != d {
        return Err(Error::ShapeMismatch {
            op,
            arg: "point",
            expected: format!("len {d}"),
            found: format!("len {}", x.len()),
        });
    }
    if let Some(k) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            op,
            index: k,
            value: x[k],
            context: format!("coordinate {k}"),
        });
    }
    Ok(())
}

/// Checks point-major coordinates of `d`-dimensional points: a whole number of points
/// (at least one), all finite.
pub(crate) fn check_points(op: &'static str, xs: &[f64], d: usize) -> Result<()> {
    if d == 0 || xs.is_empty() || !xs.len().is_multiple_of(d) {
        return Err(Error::ShapeMismatch {
            op,
            arg: "points",
            expected: format!("a positive multiple of {d} coordinates"),
            found: format!("{} coordinates", xs.len()),
        });
    }
    if let Some(k) = xs.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            op,
            index: k / d,
            value: xs[k],
            context: format!("coordinate {} of point {}", k % d, k / d),
        });
    }
    Ok(())
}

//! Named parameters and their order: [`Param`] and [`ParamLayout`].

use serde::{Deserialize, Serialize};

use super::transform::Transform;
use crate::ad::Real;
use crate::error::{Error, Result};

/// One scalar parameter: its name, its transform to the unconstrained scale, its value on
/// the natural scale (the start of a fit, or the value held when fixed), and whether it is
/// held fixed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Name, unique within a layout. Vector parameters use `base[i]` (`lengthscale[0]`);
    /// parameters of a component use `component.name` (`k1.variance`).
    pub name: String,
    /// Map to the unconstrained scale.
    pub transform: Transform,
    /// Value on the natural scale.
    pub value: f64,
    /// Whether it is held at `value`.
    pub fixed: bool,
}

impl Param {
    /// A free parameter with this transform.
    pub fn new(name: impl Into<String>, transform: Transform, value: f64) -> Self {
        Self {
            name: name.into(),
            transform,
            value,
            fixed: false,
        }
    }
    /// A free positive parameter (log scale).
    pub fn positive(name: impl Into<String>, value: f64) -> Self {
        Self::new(name, Transform::Log, value)
    }
    /// A free real parameter.
    pub fn real(name: impl Into<String>, value: f64) -> Self {
        Self::new(name, Transform::Identity, value)
    }
    /// A free parameter inside `(lo, hi)` (logit scale).
    pub fn bounded(name: impl Into<String>, lo: f64, hi: f64, value: f64) -> Self {
        Self::new(name, Transform::Interval { lo, hi }, value)
    }
    /// The same parameter, held fixed.
    pub fn held(mut self) -> Self {
        self.fixed = true;
        self
    }
    /// The name of entry `i` of the vector parameter `base`: `base[i]`.
    pub fn indexed_name(base: &str, i: usize) -> String {
        format!("{base}[{i}]")
    }
}

/// Whether `name` belongs to `pattern`: the same name, or a member of the group `pattern`
/// (`pattern[i]`, `pattern.sub`, `pattern[i].sub`).
fn matches_group(name: &str, pattern: &str) -> bool {
    name == pattern
        || name
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
}

/// An ordered list of uniquely named parameters.
///
/// The full vector θ holds every parameter on its natural scale, in layout order; the free
/// vector `z` holds the parameters that are not fixed, in the same order, on their
/// unconstrained scale.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ParamLayout {
    params: Vec<Param>,
}

const OP: &str = "ParamLayout";

impl ParamLayout {
    /// A layout of `params`: names must be non-empty and unique, transforms valid, and
    /// values finite and inside their transform's support.
    pub fn new(params: Vec<Param>) -> Result<Self> {
        let mut layout = Self {
            params: Vec::with_capacity(params.len()),
        };
        for p in params {
            layout.push(p)?;
        }
        Ok(layout)
    }

    /// Appends a parameter (checked as in [`ParamLayout::new`]); returns its index.
    pub fn push(&mut self, p: Param) -> Result<usize> {
        if p.name.is_empty() {
            return Err(Error::invalid_option(
                OP,
                "name",
                "\"\"",
                "a non-empty name",
            ));
        }
        if self.params.iter().any(|q| q.name == p.name) {
            return Err(Error::invalid_option(
                OP,
                p.name.clone(),
                "a second parameter of that name",
                "unique names",
            ));
        }
        p.transform.validate(OP, &p.name)?;
        p.transform.to_unconstrained(OP, &p.name, p.value)?;
        self.params.push(p);
        Ok(self.params.len() - 1)
    }

    /// Appends every parameter of `other` with `prefix.` before its name (the parameters
    /// of a component, e.g. the factors of a kernel product); returns the index of the
    /// first.
    pub fn extend_prefixed(&mut self, prefix: &str, other: &ParamLayout) -> Result<usize> {
        let start = self.params.len();
        for p in &other.params {
            let mut q = p.clone();
            q.name = if prefix.is_empty() {
                p.name.clone()
            } else {
                format!("{prefix}.{}", p.name)
            };
            self.push(q)?;
        }
        Ok(start)
    }

    /// Number of parameters (length of θ).
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The parameters in order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The names in order.
    pub fn names(&self) -> Vec<&str> {
        self.params.iter().map(|p| p.name.as_str()).collect()
    }

    /// The index of the parameter `name`; the error lists the names there are.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.params
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| self.unknown(name))
    }

    /// The parameter `name`.
    pub fn get(&self, name: &str) -> Result<&Param> {
        Ok(&self.params[self.index_of(name)?])
    }

    /// The value of the parameter `name` (natural scale).
    pub fn value(&self, name: &str) -> Result<f64> {
        Ok(self.get(name)?.value)
    }

    fn unknown(&self, name: &str) -> Error {
        Error::invalid_option(
            OP,
            "name",
            format!("\"{name}\""),
            format!("one of the parameters: {}", self.names().join(", ")),
        )
    }

    /// Indices of the parameters named `pattern` or in its group (`pattern[i]`,
    /// `pattern.sub`); an error if there is none.
    pub fn indices_of(&self, pattern: &str) -> Result<Vec<usize>> {
        let idx: Vec<usize> = self
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| matches_group(&p.name, pattern))
            .map(|(i, _)| i)
            .collect();
        if idx.is_empty() {
            Err(self.unknown(pattern))
        } else {
            Ok(idx)
        }
    }

    /// Holds the parameter `pattern` (or every member of its group) fixed at its value;
    /// returns how many it matched.
    pub fn fix(&mut self, pattern: &str) -> Result<usize> {
        self.set_fixed(pattern, true)
    }

    /// Frees the parameter `pattern` (or its group); returns how many it matched.
    pub fn free(&mut self, pattern: &str) -> Result<usize> {
        self.set_fixed(pattern, false)
    }

    fn set_fixed(&mut self, pattern: &str, fixed: bool) -> Result<usize> {
        let idx = self.indices_of(pattern)?;
        for &i in &idx {
            self.params[i].fixed = fixed;
        }
        Ok(idx.len())
    }

    /// Fixes every name or group in `patterns` (as [`ParamLayout::fix`]).
    pub fn fix_all<S: AsRef<str>>(&mut self, patterns: &[S]) -> Result<()> {
        for p in patterns {
            self.fix(p.as_ref())?;
        }
        Ok(())
    }

    /// Sets the value of the parameter `name` (checked against its support).
    pub fn set_value(&mut self, name: &str, value: f64) -> Result<()> {
        let i = self.index_of(name)?;
        let p = &mut self.params[i];
        p.transform.to_unconstrained(OP, &p.name, value)?;
        p.value = value;
        Ok(())
    }

    /// The full vector θ (natural scale).
    pub fn values(&self) -> Vec<f64> {
        self.params.iter().map(|p| p.value).collect()
    }

    /// Sets every value from the full vector θ (checked against the supports).
    pub fn set_values(&mut self, theta: &[f64]) -> Result<()> {
        crate::error::check_len(OP, "theta", theta.len(), self.len())?;
        for (p, &v) in self.params.iter().zip(theta) {
            p.transform.to_unconstrained(OP, &p.name, v)?;
        }
        for (p, &v) in self.params.iter_mut().zip(theta) {
            p.value = v;
        }
        Ok(())
    }

    /// Indices (into θ) of the free parameters.
    pub fn free_indices(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| !self.params[i].fixed).collect()
    }

    /// Number of free parameters (length of `z`).
    pub fn n_free(&self) -> usize {
        self.params.iter().filter(|p| !p.fixed).count()
    }

    /// Names of the free parameters, in order.
    pub fn free_names(&self) -> Vec<&str> {
        self.params
            .iter()
            .filter(|p| !p.fixed)
            .map(|p| p.name.as_str())
            .collect()
    }

    /// The free parameters' current values on the unconstrained scale: the start `z` of a
    /// fit.
    pub fn free_unconstrained(&self) -> Result<Vec<f64>> {
        self.params
            .iter()
            .filter(|p| !p.fixed)
            .map(|p| p.transform.to_unconstrained(OP, &p.name, p.value))
            .collect()
    }

    /// The full θ (natural scale) from the free unconstrained `z`, fixed parameters as
    /// constants; generic over the scalar type so gradients flow through the transforms.
    pub fn natural<R: Real>(&self, z: &[R]) -> Result<Vec<R>> {
        crate::error::check_len(OP, "z", z.len(), self.n_free())?;
        let mut zi = z.iter();
        Ok(self
            .params
            .iter()
            .map(|p| {
                if p.fixed {
                    R::from_f64(p.value)
                } else {
                    // `zi` has exactly one entry per free parameter (checked above).
                    p.transform
                        .to_natural(*zi.next().expect("one z per free parameter"))
                }
            })
            .collect())
    }

    /// `Σ ln |T'(zᵢ)|` over the free parameters: the log-Jacobian of θ(z).
    pub fn log_jacobian<R: Real>(&self, z: &[R]) -> Result<R> {
        crate::error::check_len(OP, "z", z.len(), self.n_free())?;
        let mut acc = R::zero();
        for (p, &zi) in self.params.iter().filter(|p| !p.fixed).zip(z) {
            acc += p.transform.log_jacobian(zi);
        }
        Ok(acc)
    }

    /// The gradient with respect to `z` of a function whose gradient with respect to the
    /// full θ is `grad_theta`: `∂f/∂zᵢ = ∂f/∂θ_j · T_j'(zᵢ)` for the free parameter `j`.
    pub fn chain_gradient(&self, z: &[f64], grad_theta: &[f64]) -> Result<Vec<f64>> {
        crate::error::check_len(OP, "z", z.len(), self.n_free())?;
        crate::error::check_len(OP, "grad_theta", grad_theta.len(), self.len())?;
        Ok(self
            .params
            .iter()
            .zip(grad_theta)
            .filter(|(p, _)| !p.fixed)
            .zip(z)
            .map(|((p, g), &zi)| g * p.transform.derivative(zi))
            .collect())
    }

    /// Writes the free `z` back as values (after a fit).
    pub fn set_free_unconstrained(&mut self, z: &[f64]) -> Result<()> {
        let theta = self.natural(z)?;
        self.set_values(&theta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> ParamLayout {
        ParamLayout::new(vec![
            Param::positive("variance", 2.0),
            Param::positive("lengthscale[0]", 0.5),
            Param::positive("lengthscale[1]", 1.5),
            Param::bounded("rho", -1.0, 1.0, 0.3),
            Param::real("k1.mean", -0.2),
        ])
        .unwrap()
    }

    #[test]
    fn names_groups_and_errors() {
        let mut l = layout();
        assert_eq!(l.indices_of("lengthscale").unwrap(), vec![1, 2]);
        assert_eq!(l.indices_of("k1").unwrap(), vec![4]);
        assert_eq!(l.indices_of("lengthscale[1]").unwrap(), vec![2]);
        // "length" is not a group of "lengthscale[0]".
        let e = l.fix("length").unwrap_err().to_string();
        assert!(e.contains("variance, lengthscale[0]"), "{e}");
        assert!(ParamLayout::new(vec![Param::real("a", 0.0), Param::real("a", 1.0)]).is_err());
        assert!(ParamLayout::new(vec![Param::positive("a", -1.0)]).is_err());
        assert!(l.set_value("rho", 1.0).is_err());
        assert_eq!(l.fix("lengthscale").unwrap(), 2);
        assert_eq!(l.free_names(), vec!["variance", "rho", "k1.mean"]);
        assert_eq!(l.free("lengthscale[0]").unwrap(), 1);
        assert_eq!(l.n_free(), 4);
    }

    #[test]
    fn packing_round_trip_and_chain_rule() {
        let mut l = layout();
        l.fix("variance").unwrap();
        let z = l.free_unconstrained().unwrap();
        let theta = l.natural(&z).unwrap();
        for (a, b) in theta.iter().zip(l.values()) {
            assert!((a - b).abs() < 1e-14);
        }
        // f(θ) = Σ cᵢ θᵢ²: ∂f/∂z by the chain rule against finite differences in z.
        let c = [0.3, -1.2, 0.7, 2.0, 0.5];
        let f = |z: &[f64]| -> f64 {
            let th = l.natural(z).unwrap();
            th.iter().zip(&c).map(|(t, c)| c * t * t).sum()
        };
        let gth: Vec<f64> = theta.iter().zip(&c).map(|(t, c)| 2.0 * c * t).collect();
        let gz = l.chain_gradient(&z, &gth).unwrap();
        for i in 0..z.len() {
            let h = 1e-6;
            let (mut zp, mut zm) = (z.clone(), z.clone());
            zp[i] += h;
            zm[i] -= h;
            let fd = (f(&zp) - f(&zm)) / (2.0 * h);
            assert!(
                (gz[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "{i}: {} vs {fd}",
                gz[i]
            );
        }
        // Log-Jacobian: the sum of the scalar ones.
        let lj = l.log_jacobian(&z).unwrap();
        let want: f64 = l
            .params()
            .iter()
            .filter(|p| !p.fixed)
            .zip(&z)
            .map(|(p, &zi)| p.transform.log_jacobian(zi))
            .sum();
        assert_eq!(lj, want);
        let mut m = l.clone();
        m.set_free_unconstrained(&[0.0, 0.0, 0.0, 1.0]).unwrap();
        assert_eq!(m.value("rho").unwrap(), 0.0);
        assert_eq!(m.value("variance").unwrap(), 2.0);
        assert!(l.natural(&[0.0]).is_err());
    }

    #[test]
    fn prefixed_components() {
        let mut k = ParamLayout::default();
        let inner = ParamLayout::new(vec![Param::positive("lengthscale", 1.0)]).unwrap();
        assert_eq!(k.extend_prefixed("k0", &inner).unwrap(), 0);
        assert_eq!(k.extend_prefixed("k1", &inner).unwrap(), 1);
        assert_eq!(k.names(), vec!["k0.lengthscale", "k1.lengthscale"]);
        assert!(k.extend_prefixed("k1", &inner).is_err());
    }
}

//! The shipped twin-experiment configuration parses, validates and holds the published
//! setting; bad configurations are refused with errors that name the setting.
//! (`toml` is a dev-dependency, so these run without the `cli` feature too.)

use mechml_models::da::twin::{MethodKind, ModelConfig, OperatorConfig, TwinConfig};

const SAKOV: &str = include_str!("../data/l96_sakov2008.toml");

#[test]
fn sakov2008_config_holds_the_standard_setting() {
    let cfg: TwinConfig = toml::from_str(SAKOV).unwrap();
    cfg.validate().unwrap();
    assert_eq!(
        cfg.model,
        ModelConfig::Lorenz96 {
            n: 40,
            forcing: 8.0,
            dt: 0.05,
            substeps: 1
        }
    );
    assert_eq!(cfg.observations.operator, OperatorConfig::Identity);
    assert_eq!(cfg.observations.noise_std, 1.0);
    assert_eq!(cfg.experiment.model_noise_std, 0.0);
    let find = |k: MethodKind| cfg.methods.iter().find(|m| m.method == k).unwrap();
    assert_eq!(find(MethodKind::Enkf).members, Some(40));
    assert_eq!(find(MethodKind::Etkf).members, Some(24));
    let letkf = find(MethodKind::Letkf);
    assert_eq!((letkf.members, letkf.radius), (Some(7), Some(4.0)));
    for k in [
        MethodKind::Var3d,
        MethodKind::OptimalInterpolation,
        MethodKind::Climatology,
    ] {
        find(k);
    }
    // Serialising and parsing again gives the same configuration.
    let again: TwinConfig = toml::from_str(&toml::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(again, cfg);
}

#[test]
fn bad_configs_are_refused_with_named_settings() {
    let unknown = SAKOV.replace("substeps = 1", "substeps = 1\nsubstep = 2");
    assert!(toml::from_str::<TwinConfig>(&unknown).is_err());
    let cases = [
        (
            "members = 40\ninflation = 1.06",
            "inflation = 1.06",
            "members",
        ),
        (
            "members = 7\nradius = 4.0",
            "members = 7\nradius = -4.0",
            "radius",
        ),
        (
            "method = \"climatology\"",
            "method = \"climatology\"\nmembers = 3",
            "members",
        ),
        ("cycles = 10000", "cycles = 500", "burn_in"),
        ("noise_std = 1.0", "noise_std = 0.0", "noise_std"),
        ("n = 40", "n = 3", "n"),
    ];
    for (from, to, name) in cases {
        let text = SAKOV.replacen(from, to, 1);
        assert_ne!(text, SAKOV, "{from}");
        let cfg: TwinConfig = toml::from_str(&text).unwrap();
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(name), "{name}: {err}");
    }
}

#[test]
fn method_names_are_the_configuration_spelling() {
    use MethodKind::*;
    for k in [
        Climatology,
        OptimalInterpolation,
        Var3d,
        Ekf,
        Enkf,
        Denkf,
        Etkf,
        SerialEnkf,
        EnkfN,
        Letkf,
        Enks,
        Var4d,
    ] {
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            format!("\"{}\"", k.name())
        );
    }
}

//! The `mechml` program; everything lives in [`mechml_models::cli`].
//!
//! * `mechml demo` — the flagship: energy-balance models fitted to HadCRUT5, compared,
//!   projected to 2100 (embedded data), with a report folder.
//! * `mechml run CONFIG.toml` — the same on your data.
//! * `mechml emulate CONFIG.toml` — the energy-balance model emulated, history-matched
//!   and calibrated (e.g. `models/data/emulate_ebm.toml`).
//! * `mechml logistic` — a small logistic-growth example.

fn main() -> std::process::ExitCode {
    mechml_models::cli::main()
}

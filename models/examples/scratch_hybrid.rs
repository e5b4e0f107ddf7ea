use mechml_models::da::hybrid::{HybridConfig, run_hybrid};
fn main() {
    for (deg, nb, iters, infl) in [(3usize, true, 4usize, 1.15), (3, true, 4, 1.25), (3, false, 4, 1.2), (2, true, 4, 1.2)] {
        let mut cfg = HybridConfig::default();
        cfg.degree = deg; cfg.neighbours = nb; cfg.iterations = iters; cfg.inflation = infl;
        match run_hybrid(&cfg) {
            Ok(r) => {
                println!("deg {deg} nb {nb} it {iters} infl {infl}: an {:?}", r.iterations.iter().map(|i| i.analysis_rmse).collect::<Vec<_>>());
                println!("  coef {:?}\n  truth {:?}", r.iterations.last().unwrap().coef, r.truth_coef);
                for k in [0, 4, 9, 19] { println!("  lead {:.2}: {:.3} {:.3} {:.3}", r.lead_times[k], r.rmse_coarse[k], r.rmse_hybrid[k], r.rmse_truth_trained[k]); }
            }
            Err(e) => println!("deg {deg} nb {nb} it {iters}: {e}"),
        }
    }
}

//! The report's Bayesian section (posterior summaries, prior sensitivity) and its
//! scientific context (AR6 ranges, the pattern effect), as HTML.

use std::fmt::Write as _;

use super::report::{esc, fmt_opt};
use super::results::Results;

/// The scientific context of the sensitivity figures.
pub(super) const SCIENCE_NOTE: &str = "<h3>Context</h3><p>IPCC AR6 (Forster et al. 2021, WG1 ch. 7, §7.5) assesses the equilibrium climate sensitivity as <i>likely</i> 2.5–4 K and <i>very likely</i> 2–5 K (best estimate 3 K), and the transient climate response as <i>likely</i> 1.4–2.2 K (very likely 1.2–2.4 K). The CMIP5 values above are the models' own.</p><p class=note>Why estimates from the historical record run low: energy-balance fits assume one constant feedback, but the pattern of sea-surface warming since 1850 (stronger in the western Pacific and Southern Ocean than it will be at equilibrium) has made the feedback temporarily stronger than the long-term one — the <i>pattern effect</i> (Armour et al. 2013, J. Climate 26; Andrews et al. 2018, GRL 45; Sherwood et al. 2020, Rev. Geophys. 58, §4). The effective sensitivity from 1850–2022 therefore understates ECS, and models with one feedback parameter (all k-box models here; the efficacy ε only partly absorbs it) cannot correct for it from temperature alone.</p>";

/// The Bayesian tables: posterior summaries per model and the prior sensitivity.
pub(super) fn bayes_html(h: &mut String, r: &Results) {
    if r.models.iter().all(|m| m.bayes.is_none()) {
        return;
    }
    h.push_str("<h2>Bayesian fit (NUTS)</h2>");
    for m in &r.models {
        let Some(b) = &m.bayes else { continue };
        let _ = write!(
            h,
            "<h3>{} posterior</h3><p class=note>{} chains × ({} warm-up + {} draws), {} priors; {} gradient evaluations in {:.1} s; {} divergences; max R-hat {}; min bulk ESS {}.</p><table><tr><th>quantity</th><th>prior</th><th>mean</th><th>sd</th><th>5%</th><th>50%</th><th>95%</th><th>MCSE</th><th>bulk ESS</th><th>tail ESS</th><th>R-hat</th></tr>",
            esc(&m.name),
            b.chains,
            b.warmup,
            b.draws,
            esc(&b.prior_set),
            b.gradient_evaluations,
            b.time_s,
            b.divergences,
            fmt_opt(b.max_rhat, 3),
            fmt_opt(b.min_ess_bulk, 0)
        );
        for row in &b.summary {
            let prior = b
                .priors
                .iter()
                .find(|(n, _)| *n == row.name)
                .map_or("derived".into(), |(_, p)| format!("{p:?}"));
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&row.name),
                esc(&prior),
                row.mean,
                row.sd,
                row.q5,
                row.q50,
                row.q95,
                fmt_opt(row.mcse_mean, 4),
                fmt_opt(row.ess_bulk, 0),
                fmt_opt(row.ess_tail, 0),
                fmt_opt(row.rhat, 3)
            );
        }
        h.push_str("</table>");
    }
    if !r.prior_sensitivity.is_empty() {
        h.push_str("<h3>Prior sensitivity</h3><table><tr><th>model</th><th>priors</th><th>ECS median [95%] (K)</th><th>TCR median [95%] (K)</th><th>max R-hat</th><th>divergences</th></tr>");
        for p in &r.prior_sensitivity {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{:.2} [{:.2}, {:.2}]</td><td>{:.2} [{:.2}, {:.2}]</td><td>{}</td><td>{}</td></tr>",
                esc(&p.model),
                esc(&p.prior_set),
                p.ecs[1],
                p.ecs[0],
                p.ecs[2],
                p.tcr[1],
                p.tcr[0],
                p.tcr[2],
                fmt_opt(p.max_rhat, 3),
                p.divergences
            );
        }
        h.push_str("</table><p class=note><i>cmip5</i>: the default priors (log-normal, centred on CMIP5 multi-model values of Geoffroy et al. 2013 and Cummins et al. 2020); <i>wide</i>: the same centres with every log-sd doubled. Where the two differ, the data alone do not determine the quantity.</p>");
    }
}

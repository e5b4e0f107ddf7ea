# Diagnostics of the draws in engine/tests/data/infer_diagnostics_reference.json by the
# R package posterior (Vehtari et al. 2021's reference implementation), written to
# engine/tests/data/infer_diagnostics_posterior.json.
# Run: Rscript benches/peers/posterior_diagnostics_reference.R
library(posterior)
library(jsonlite)
ref <- fromJSON("engine/tests/data/infer_diagnostics_reference.json", simplifyVector = FALSE)
out <- list(provenance = paste0("R ", R.version$major, ".", R.version$minor, ", posterior ",
                                as.character(packageVersion("posterior")),
                                "; script benches/peers/posterior_diagnostics_reference.R"),
            quantities = list())
for (q in ref$quantities) {
  x <- do.call(cbind, lapply(q$draws, function(c) unlist(c)))  # iterations x chains
  out$quantities[[length(out$quantities) + 1]] <- list(
    name = q$name,
    rhat = rhat(x), ess_bulk = ess_bulk(x), ess_tail = ess_tail(x), ess_mean = ess_mean(x),
    mcse_mean = mcse_mean(x), mcse_q05 = mcse_quantile(x, 0.05), mcse_q50 = mcse_quantile(x, 0.5))
}
cat(toJSON(out, auto_unbox = TRUE, digits = I(17), pretty = TRUE))

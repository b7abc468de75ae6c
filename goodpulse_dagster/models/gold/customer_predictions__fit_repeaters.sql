-- Fit input of the Gamma-Gamma spend model (transforms/clv_model.fit_gamma_gamma): frequency and
-- monetary value of every repeat customer.
-- Grain: one row per customer with a repeat purchase day, sorted (deterministic fit, as
--   customer_predictions__fit_triples).
-- Inputs: summary (step customer_predictions__summary).
-- Parameters: none.
SELECT frequency, monetary_value
FROM summary
WHERE frequency > 0
ORDER BY ALL

-- Fit input of the MBG/NBD purchase model (transforms/clv_model.fit_mbg): the distinct
-- (frequency, recency, age) triples of the summary and how many customers share each, so the fit
-- never holds a per-customer array.
-- Grain: one row per distinct triple, sorted: the optimiser's float sums then add in the same
--   order on every run, so the same data gives the same parameters bit for bit.
-- Inputs: summary (step customer_predictions__summary).
-- Parameters: none.
SELECT frequency, recency, age, count(*) AS n
FROM summary
GROUP BY ALL
ORDER BY ALL

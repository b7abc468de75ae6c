-- The fallback spend when the Gamma-Gamma model is not fitted or did not converge: revenue per
-- purchase day over every customer's every purchase day (0 without any).
-- Grain: one row, one column (mean_value).
-- Inputs: summary (step customer_predictions__summary).
-- Parameters: none.
SELECT coalesce(sum(revenue)::DOUBLE / nullif(sum(frequency + 1), 0), 0) AS mean_value
FROM summary

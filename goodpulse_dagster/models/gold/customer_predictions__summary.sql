-- Step 2 of gold.customer_predictions (and of the backtest and the churn monitor): the model
-- inputs at a cut date (Fader, Hardie and Lee 2005), in days: frequency (purchase days after the
-- first), recency (first to last purchase day), age (first purchase day to the cut),
-- monetary_value (mean revenue of the repeat purchase days; NULL without a repeat), revenue and
-- orders.
-- Grain: one row per customer with a completed purchase day up to $cut.
-- Inputs: days (step customer_predictions__days, made once for several cuts by the monitor).
-- Parameters: $cut.
SELECT
    customer_unique_id,
    count(*) - 1 AS frequency,
    date_diff('day', min(day), max(day)) AS recency,
    date_diff('day', min(day), $cut::DATE) AS age,
    -- Repeat days' revenue: all of it minus the first day's (days are distinct per customer).
    CASE WHEN count(*) > 1
         THEN (sum(value) - arg_min(value, day))::DOUBLE / (count(*) - 1) END AS monetary_value,
    sum(value)::DECIMAL(18,2) AS revenue,
    sum(orders) AS orders
FROM days
WHERE day <= $cut::DATE
GROUP BY customer_unique_id

-- kpi.prediction_backtest: the purchase model fitted on completed orders up to a calibration
-- end (as_of minus the holdout), against a naive baseline, scored on the holdout days after it.
-- Grain: one row per model of schema.PREDICTION_MODELS, in that order.
-- Inputs: lifecycle (silver.unified_user_lifecycle), summary (step
--   gold/customer_predictions__summary at the calibration end), scores (frequency, recency, age
--   -> expected_holdout, from the fitted model).
-- Parameters: $completed_statuses, $cut (calibration end), $holdout_end, $holdout_days,
--   $mbg_name, $naive_name (the model labels).
WITH holdout AS (
    SELECT
        customer_unique_id,
        count(DISTINCT order_purchase_timestamp::DATE) AS purchase_days,
        count(*) AS orders
    FROM lifecycle
    WHERE list_contains($completed_statuses, order_status)
      AND order_purchase_timestamp::DATE > $cut::DATE
      AND order_purchase_timestamp::DATE <= $holdout_end::DATE
    GROUP BY customer_unique_id
),
baseline AS (
    -- The population's historical repeat rate: repeat purchase days per customer-day observed.
    SELECT sum(frequency)::DOUBLE / nullif(sum(age), 0) AS rate FROM summary
),
per_customer AS (
    -- Calibration customers only: a customer new in the holdout is no prediction's miss.
    SELECT
        coalesce(h.purchase_days, 0) AS actual,
        coalesce(h.orders, 0) AS actual_orders,
        sc.expected_holdout AS model,
        b.rate * $holdout_days AS naive
    FROM summary s
    JOIN scores sc USING (frequency, recency, age)
    LEFT JOIN holdout h USING (customer_unique_id)
    CROSS JOIN baseline b
),
scored AS (
    SELECT $mbg_name AS model, 1 AS model_order, actual, actual_orders, model AS expected
    FROM per_customer
    UNION ALL
    SELECT $naive_name, 2, actual, actual_orders, naive FROM per_customer
),
sums AS (
    -- The DOUBLE sums are exact sums of values rounded to 1e-12 (HUGEINT): a DOUBLE sum depends
    -- on the order DuckDB's threads add in, and two runs of the same input differed in the last
    -- bit. (An ordered aggregate, sum(x ORDER BY id), holds every value in memory: at 10M
    -- orders it ran out of a 2GB budget; an integer sum spills.)
    SELECT
        model,
        model_order,
        count(*) AS customers,
        sum(actual_orders)::BIGINT AS actual_orders,
        sum(actual)::BIGINT AS actual_repeat_orders,
        sum(round(expected * 1e12)::HUGEINT)::DOUBLE / 1e12 AS expected_repeat_orders,
        sum(round(abs(expected - actual) * 1e12)::HUGEINT)::DOUBLE / 1e12 AS absolute_error,
        sum(round((expected - actual) * (expected - actual) * 1e12)::HUGEINT)::DOUBLE / 1e12
            AS squared_error
    FROM scored
    GROUP BY model, model_order
)
SELECT
    model,
    $cut::DATE AS calibration_end,
    $holdout_end::DATE AS holdout_end,
    $holdout_days::BIGINT AS holdout_days,
    customers,
    actual_orders,
    actual_repeat_orders,
    expected_repeat_orders,
    (expected_repeat_orders - actual_repeat_orders) / nullif(actual_repeat_orders, 0)
        AS aggregate_error,
    absolute_error / customers AS mae,
    sqrt(squared_error / customers) AS rmse
FROM sums
ORDER BY model_order

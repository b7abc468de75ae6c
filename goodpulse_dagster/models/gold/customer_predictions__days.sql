-- Step 1 of gold.customer_predictions (also read by kpi.prediction_backtest and
-- kpi.churn_risk_monitor): the purchase days the models count. The prediction builds fit
-- numpy/scipy models between SQL steps, so each step is a model file named
-- customer_predictions__<step>; the engine keeps a step as a temporary table named <step>.
-- Grain: one row per (customer, purchase day) up to $until: same-day orders count once.
-- Inputs: lifecycle (silver.unified_user_lifecycle).
-- Parameters: $completed_statuses, $until (the last cut date the build summarises).
SELECT
    customer_unique_id,
    order_purchase_timestamp::DATE AS day,
    coalesce(sum(order_revenue), 0) AS value,
    count(*) AS orders
FROM lifecycle
WHERE list_contains($completed_statuses, order_status)
  AND order_purchase_timestamp::DATE <= $until::DATE
GROUP BY ALL

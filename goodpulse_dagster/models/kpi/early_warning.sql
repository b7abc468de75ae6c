-- kpi.early_warning: customers still Active or Warm whose churn risk is High, largest predicted
-- CLV first.
-- Grain: one row per such customer, by rank (predicted CLV descending, then probability alive,
--   then customer id: unique).
-- Inputs: customer_predictions (gold), customer_360 (the columns of
--   predictions.EARLY_WARNING_CUSTOMER_360_COLUMNS).
-- Parameters: $high_risk, $active, $warm (labels).
SELECT
    row_number() OVER (
        ORDER BY p.predicted_clv_365d DESC, p.probability_alive, p.customer_unique_id
    ) AS rank,
    p.customer_unique_id,
    p.value_segment,
    p.lifecycle_stage,
    c.recency_days,
    c.total_orders,
    c.lifetime_revenue,
    p.probability_alive,
    p.expected_orders_365d,
    p.predicted_clv_365d
FROM customer_predictions p
JOIN customer_360 c USING (customer_unique_id)
WHERE p.churn_risk = $high_risk AND p.lifecycle_stage IN ($active, $warm)
ORDER BY rank

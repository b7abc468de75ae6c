-- gold.customer_predictions: per customer, the fitted MBG/NBD and Gamma-Gamma models' probability
-- of being alive, expected purchase days in 90 and 365 days, expected purchase value, predicted
-- 365-day CLV and churn-risk band (docs/predictions.md).
-- Grain: one row per customer of customer_360; rows in no particular order.
-- Steps: customer_predictions__days, __summary (SQL), the fit (Python: __fit_triples,
--   __fit_repeaters and __mean_value are its inputs), the scores of __score_keys (Python), then
--   this model.
-- Inputs: customer_360 (customer_unique_id, value_segment, lifecycle_stage), summary (step
--   __summary at as_of), scores (frequency, recency, age -> probability_alive,
--   expected_orders_90d, expected_orders_365d; from the fitted model).
-- Parameters: $gg_ok, $gg_p, $gg_q, $gg_v (the spend model), $mean_value (its fallback),
--   $high_below, $medium_below (churn thresholds), $high_risk, $medium_risk, $low_risk (bands),
--   $as_of.
WITH scored AS (
    SELECT
        c.customer_unique_id,
        c.value_segment,
        c.lifecycle_stage,
        -- A customer whose first completed order is after the model's as_of (only with an
        -- explicit GOODPULSE_AS_OF before the data's end) is scored as new at as_of.
        coalesce(s.frequency, 0) AS frequency,
        coalesce(s.recency, 0) AS recency,
        coalesce(s.age, 0) AS age_days,
        s.monetary_value,
        sc.probability_alive,
        sc.expected_orders_90d,
        sc.expected_orders_365d,
        -- Gamma-Gamma's conditional expected purchase value (the population mean at x = 0);
        -- the population's mean purchase-day value when the spend model did not converge.
        CASE WHEN $gg_ok
             THEN $gg_p * ($gg_v + coalesce(s.frequency, 0) * coalesce(s.monetary_value, 0))
                  / ($gg_p * coalesce(s.frequency, 0) + $gg_q - 1)
             ELSE $mean_value END AS expected_order_value
    FROM customer_360 c
    LEFT JOIN summary s USING (customer_unique_id)
    JOIN scores sc
      ON sc.frequency = coalesce(s.frequency, 0)
     AND sc.recency = coalesce(s.recency, 0)
     AND sc.age = coalesce(s.age, 0)
)
SELECT
    customer_unique_id,
    value_segment,
    lifecycle_stage,
    frequency,
    recency,
    age_days,
    monetary_value,
    probability_alive,
    expected_orders_90d,
    expected_orders_365d,
    expected_order_value,
    -- NULL, not a failed cast, if the model ever gave a non-finite value: the
    -- expectations_non_negative check then names it.
    CASE WHEN isfinite(expected_orders_365d * expected_order_value)
         THEN (expected_orders_365d * expected_order_value)::DECIMAL(18,2) END
        AS predicted_clv_365d,
    churn_risk_of(
        probability_alive, $high_below, $medium_below, $high_risk, $medium_risk, $low_risk
    ) AS churn_risk,
    $as_of::DATE AS model_as_of
FROM scored

-- kpi.churn_risk_monitor: at one monitor date, customers and revenue per value segment (as of
-- that date) and those in the High churn-risk band, the model refitted on the orders up to it.
-- The builder runs it once per monitor date (churn_risk_monitor__dates) and stacks the rows.
-- Grain: one row per value segment ($value_segments order) at the date $cut.
-- Inputs: summary (step gold/customer_predictions__summary at $cut), scores (frequency, recency,
--   age -> probability_alive, from the model fitted at $cut).
-- Parameters: $value_quantiles, $low_value, $medium_value, $high_value, $vip, $value_segments,
--   $high_below, $medium_below, $high_risk, $medium_risk, $low_risk, $cut, $is_latest,
--   $converged.
WITH cuts AS (
    -- Value segments as of the cut: the p20/p80/p95 of revenue up to that date.
    SELECT quantile_cont(revenue::DOUBLE, $value_quantiles) AS q FROM summary
),
banded AS (
    SELECT
        s.revenue,
        value_segment_of(s.revenue, c.q, $low_value, $medium_value, $high_value, $vip)
            AS value_segment,
        churn_risk_of(
            sc.probability_alive, $high_below, $medium_below, $high_risk, $medium_risk, $low_risk
        ) = $high_risk AS is_high_risk
    FROM summary s
    JOIN scores sc USING (frequency, recency, age)
    CROSS JOIN cuts c
),
segments AS (
    SELECT unnest($value_segments) AS value_segment, generate_subscripts($value_segments, 1) AS o
),
per_segment AS (
    SELECT
        value_segment,
        count(*) AS customers,
        sum(revenue) AS revenue,
        count(*) FILTER (WHERE is_high_risk) AS high_risk_customers,
        coalesce(sum(revenue) FILTER (WHERE is_high_risk), 0) AS high_risk_revenue
    FROM banded
    GROUP BY value_segment
)
SELECT
    $cut::DATE AS as_of,
    $is_latest AS is_latest,
    g.value_segment,
    coalesce(p.customers, 0) AS customers,
    coalesce(p.revenue, 0)::DECIMAL(18,2) AS revenue,
    coalesce(p.high_risk_customers, 0) AS high_risk_customers,
    coalesce(p.high_risk_revenue, 0)::DECIMAL(18,2) AS high_risk_revenue,
    p.high_risk_customers / nullif(p.customers, 0) AS high_risk_customer_share,
    p.high_risk_revenue::DOUBLE / nullif(p.revenue, 0)::DOUBLE AS high_risk_revenue_share,
    $converged AS fit_converged
FROM segments g
LEFT JOIN per_segment p USING (value_segment)
ORDER BY g.o

-- kpi.repeat_funnel (KPI 2): customers with 1+, 2+ and 5+ completed orders and the conversions.
-- Grain: one row.
-- Inputs: customer_360.
-- Parameters: $regular_min_orders, $power_user_min_orders ('2+' and '5+').
WITH funnel AS (
    -- '2+' and '5+' are the Regular and Power User thresholds of MetricParams.
    SELECT
        count(*) AS customers_1_plus,
        count(*) FILTER (WHERE total_orders >= $regular_min_orders) AS customers_2_plus,
        count(*) FILTER (WHERE total_orders >= $power_user_min_orders) AS customers_5_plus
    FROM customer_360
)
SELECT
    customers_1_plus,
    customers_2_plus,
    customers_5_plus,
    customers_2_plus / nullif(customers_1_plus, 0) AS conversion_1_to_2_plus,
    customers_5_plus / nullif(customers_2_plus, 0) AS conversion_2_plus_to_5_plus
FROM funnel

-- kpi.monthly_revenue: completed orders per purchase month, is_complete when the data covers the
-- whole month; mean_monthly_revenue averages the complete months.
-- Grain: one row per month with a completed order, in date order.
-- Inputs: lifecycle (silver.unified_user_lifecycle).
-- Parameters: $completed_statuses, $as_of (the explicit as_of or NULL: data_span).
WITH
-- include: completed
-- include: data_span
months AS (
    SELECT
        date_trunc('month', order_purchase_timestamp)::DATE AS month,
        count(*) AS orders,
        count(DISTINCT customer_unique_id) AS customers,
        coalesce(sum(order_revenue), 0)::DECIMAL(18,2) AS revenue
    FROM completed
    GROUP BY 1
),
flagged AS (
    SELECT
        m.*,
        period_is_complete(m.month, 1, data_span.first_day, data_span.last_day) AS is_complete
    FROM months m
    CROSS JOIN data_span
)
SELECT
    month,
    orders,
    customers,
    revenue,
    revenue::DOUBLE / orders AS aov,
    -- Mean over the complete months present (months with a completed order; gaps are not
    -- zero-filled): a partial first or last month would drag it down. The mean of the exact
    -- sums, as a DOUBLE: the same on every run.
    (sum(revenue) FILTER (WHERE is_complete) OVER ())::DOUBLE
        / nullif(count(*) FILTER (WHERE is_complete) OVER (), 0) AS mean_monthly_revenue,
    is_complete
FROM flagged
ORDER BY month

-- kpi.northstar: the one-row headline: customers, orders, revenue, repeat rate, power users and
-- order-level service figures.
-- Grain: one row.
-- Inputs: customer_360, lifecycle (silver.unified_user_lifecycle).
-- Parameters: $power_user (label), $completed_statuses, $canceled_status, $as_of.
WITH customers AS (
    SELECT
        count(*) AS total_customers,
        coalesce(sum(total_orders), 0)::BIGINT AS total_orders,
        coalesce(sum(lifetime_revenue), 0)::DECIMAL(18,2) AS total_revenue,
        count(*) FILTER (WHERE is_repeat) AS repeat_customers,
        count(*) FILTER (WHERE frequency_tier = $power_user) AS power_users
    FROM customer_360
),
orders AS (
    SELECT
        -- Order-level averages over completed orders; avg() skips orders without the value.
        avg(review_score) FILTER (WHERE is_completed) AS avg_review_score,
        -- From an exact sum (whole microseconds): the same on every run, as in customer_360.
        sum(round(delivery_days * 86400000000)::HUGEINT) FILTER (WHERE is_completed)::DOUBLE
            / nullif(count(delivery_days) FILTER (WHERE is_completed), 0) / 86400000000
            AS avg_delivery_days,
        -- is_on_time is NULL unless both the delivery and the estimated date are known.
        avg(is_on_time::INTEGER) FILTER (WHERE is_completed) AS on_time_rate,
        -- The one figure over ALL orders: canceled / every order of any status.
        count(*) FILTER (WHERE order_status = $canceled_status) / nullif(count(*), 0)
            AS cancellation_rate
    FROM (
        SELECT *, list_contains($completed_statuses, order_status) AS is_completed
        FROM lifecycle
    )
)
SELECT
    c.total_customers,
    c.total_orders,
    c.total_revenue,
    c.total_revenue::DOUBLE / nullif(c.total_orders, 0) AS aov,
    c.repeat_customers / nullif(c.total_customers, 0) AS repeat_rate,
    c.power_users,
    o.avg_review_score,
    o.avg_delivery_days,
    o.on_time_rate,
    o.cancellation_rate,
    $as_of::DATE AS as_of
FROM customers c
CROSS JOIN orders o

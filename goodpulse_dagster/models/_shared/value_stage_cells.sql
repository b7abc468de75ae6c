-- CTEs `grid`, `cells`, `filled`: customers and revenue per (value_segment, lifecycle_stage) of
-- customer_360, the full 4 x 4 grid (an empty cell is a 0, not a missing row).
-- Parameters: $value_segments, $lifecycle_stages.
-- Used by kpi/recency_value_pivot and kpi/health_by_value.
grid AS (
    SELECT v.value_segment, s.lifecycle_stage
    FROM (SELECT unnest($value_segments) AS value_segment) v
    CROSS JOIN (SELECT unnest($lifecycle_stages) AS lifecycle_stage) s
),
cells AS (
    SELECT value_segment, lifecycle_stage, count(*) AS customers,
           sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM customer_360
    GROUP BY ALL
),
filled AS (
    SELECT
        value_segment,
        lifecycle_stage,
        coalesce(c.customers, 0) AS customers,
        coalesce(c.revenue, 0)::DECIMAL(18,2) AS revenue
    FROM grid
    FULL JOIN cells c USING (value_segment, lifecycle_stage)
),

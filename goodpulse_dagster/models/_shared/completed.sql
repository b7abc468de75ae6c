-- CTE `completed`: the completed orders of `lifecycle` (silver.unified_user_lifecycle). Every
-- customer, revenue and retention figure counts these (METRICS.md).
-- Parameters: $completed_statuses (list of order statuses).
completed AS NOT MATERIALIZED (
    -- Not materialized: the queries read it more than once, and a materialized copy holds every
    -- column of every completed order (2.3 s of customer_360's 5.4 s at 1M orders); inlined,
    -- each use reads only the columns it needs.
    SELECT * FROM lifecycle WHERE list_contains($completed_statuses, order_status)
),

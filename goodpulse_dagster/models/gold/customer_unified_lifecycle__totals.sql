-- Step 3 of gold.customer_unified_lifecycle (and so of customer_360):
-- each customer's totals over their completed orders.
-- The customer tables are built in steps, each kept as a temporary table named <step> (the
-- part after '__'): as one statement, its windows, aggregate and four-way join over every
-- customer needed their working sets in memory at once (at 3M orders it failed under a 500MB
-- DuckDB budget and took 23.6 s under 2GB); as steps, each one spills what does not fit, and the
-- whole passes under 300MB (13.9 s under 2GB).
-- Grain: one row per customer_unique_id with at least one completed order.
-- Inputs: lifecycle (silver.unified_user_lifecycle).
-- Parameters: $completed_statuses.
WITH
-- include: completed
totals AS (
    SELECT
        customer_unique_id,
        min(order_purchase_timestamp) AS first_order_at,
        max(order_purchase_timestamp) AS last_order_at,
        count(*) AS total_orders,
        -- An order with no revenue at all (no payments, no items) adds 0 rather than NULL.
        -- Money is exact: the DECIMAL(38,2) sum cast back to DECIMAL(18,2).
        coalesce(sum(order_revenue), 0)::DECIMAL(18,2) AS lifetime_revenue,
        coalesce(sum(item_count), 0)::BIGINT AS total_items,
        -- avg() skips NULLs: orders without a review / without a delivery date do not count.
        avg(review_score) AS avg_review_score,
        -- Averaged from an exact sum (whole microseconds, HUGEINT): a DOUBLE sum depends on the
        -- order DuckDB's threads add in, and the same input must give the same table.
        sum(round(delivery_days * 86400000000)::HUGEINT)::DOUBLE
            / nullif(count(delivery_days), 0) / 86400000000 AS avg_delivery_days
    FROM completed
    GROUP BY customer_unique_id
),
repeat_months AS (
    -- The months with a completed order, of the customers with more than one: a customer with
    -- one order was active in one month. A count of distinct months keeps a set per group, and
    -- over every customer it spilled (23 s of this step's 39 s at 30M orders); over the repeat
    -- customers it is a few per cent of the groups.
    -- Month of the purchase time, derived here so it cannot disagree with the timestamp.
    SELECT customer_unique_id,
           count(DISTINCT date_trunc('month', order_purchase_timestamp)) AS active_months
    FROM completed
    WHERE customer_unique_id IN (SELECT customer_unique_id FROM totals WHERE total_orders > 1)
    GROUP BY customer_unique_id
)
SELECT
    t.customer_unique_id,
    t.first_order_at,
    t.last_order_at,
    t.total_orders,
    t.lifetime_revenue,
    t.total_items,
    coalesce(r.active_months, 1) AS active_months,
    t.avg_review_score,
    t.avg_delivery_days
FROM totals t
LEFT JOIN repeat_months r USING (customer_unique_id)

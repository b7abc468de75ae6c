-- Step 2 of gold.customer_unified_lifecycle (and so of customer_360):
-- each customer's latest completed order.
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
latest_orders AS (
    -- The latest completed order decides city/state: latest purchase time, ties: highest order_id.
    SELECT customer_unique_id, customer_city, customer_state FROM completed
    QUALIFY row_number() OVER (
        PARTITION BY customer_unique_id
        ORDER BY order_purchase_timestamp DESC, order_id DESC
    ) = 1
)
SELECT * FROM latest_orders

-- Step 1 of gold.customer_unified_lifecycle (and so of customer_360):
-- each customer's first completed order.
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
first_orders AS (
    -- A customer's first completed order: earliest purchase time, ties broken by the lowest
    -- order_id. Only the columns read of it: the window sorts what it carries (0.5 s at 1M orders
    -- for these, 1.2 s for every column; arg_min over a struct was slower still, 1.9 s).
    SELECT customer_unique_id, order_id, order_purchase_timestamp, first_item_seller_id,
           first_item_category, payment_type
    FROM completed
    QUALIFY row_number() OVER (
        PARTITION BY customer_unique_id ORDER BY order_purchase_timestamp, order_id
    ) = 1
)
SELECT * FROM first_orders

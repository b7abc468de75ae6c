-- Step 1 of silver.unified_user_lifecycle: the customers of these orders.
-- The lifecycle is built in steps, each kept as a temporary table named <step> (the part after
-- '__'), so that DuckDB can spill each one: as one statement, its joins and the sort of every
-- wide row of a quarter ran out of a 2GB budget at 10M orders (2M orders in a quarter, against
-- a customers dimension of 10M rows); as steps it passes under 500MB.
-- The steps: order_customers, item_totals, payment_totals, rows; then the model sorts rows.
-- The customers dimension holds every customer ever; a quarter's orders name a fifth of them at
-- 10M orders, and the joins of step 4 then build on this table instead of the whole dimension.
-- Grain: one row per customer_id of orders. Inputs: orders, customers (silver). Parameters: none.
SELECT * FROM customers
WHERE customer_id IN (SELECT customer_id FROM orders)

-- silver.unified_user_lifecycle: every order (all statuses) with its customer, money, review and
-- delivery facts, the order-grain table that gold builds customers from.
-- Grain: one row per order_id, ordered by purchase time (then order_id).
-- Inputs: rows (the step unified_user_lifecycle__rows.sql, which reads the step
-- unified_user_lifecycle__order_customers.sql; silver/cleaning.py runs them in order).
-- Parameters: none.
SELECT * FROM rows
ORDER BY order_purchase_timestamp, order_id

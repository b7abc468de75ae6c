-- Step 3 of silver.unified_user_lifecycle: each order's payment count, amount paid, and the
-- type and installments of its largest payment (kept as a table, as step 2 says why).
-- Grain: one row per order_id with payments. Inputs: payments (order_payments).
-- Parameters: none.
-- Money is exact (DECIMAL(18,2)) and a SUM of it is DECIMAL(38,2): sums are cast back, so every
-- run gives the same cent.
SELECT
    order_id,
    count(*) AS payment_count,
    sum(payment_value)::DECIMAL(18, 2) AS paid,
    -- The largest payment; ties go to the first in sequence.
    arg_max(payment_type, (payment_value, -payment_sequential)) AS payment_type,
    arg_max(payment_installments, (payment_value, -payment_sequential))
        AS payment_installments
FROM payments
GROUP BY order_id

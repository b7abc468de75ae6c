-- Step 4 of silver.unified_user_lifecycle: every order with its facts, in no order (the model
-- unified_user_lifecycle.sql sorts them: the sort spills on its own, but not under these joins'
-- hash tables).
-- Grain: one row per order_id.
-- Inputs: orders, order_customers, item_totals, payment_totals (steps 1-3), reviews
-- (order_reviews, one per order), products (silver; the order-grain ones for the same partitions
-- as orders). Parameters: none.
SELECT
    o.order_id,
    o.customer_id,
    c.customer_unique_id,
    c.customer_city,
    c.customer_state,
    c.customer_zip_code_prefix,
    o.order_status,
    o.order_purchase_timestamp,
    o.order_approved_at,
    o.order_delivered_customer_date,
    o.order_estimated_delivery_date,
    date_trunc('month', o.order_purchase_timestamp)::DATE AS purchase_month,
    date_trunc('quarter', o.order_purchase_timestamp)::DATE AS purchase_quarter,
    -- METRICS.md: payments when there are any, else price + freight; 0 for an order with neither
    -- (e.g. canceled before items were attached).
    coalesce(p.paid, i.merchandise_value + i.freight_value, 0)::DECIMAL(18, 2) AS order_revenue,
    coalesce(i.item_count, 0) AS item_count,
    coalesce(i.merchandise_value, 0)::DECIMAL(18, 2) AS merchandise_value,
    coalesce(i.freight_value, 0)::DECIMAL(18, 2) AS freight_value,
    coalesce(p.payment_count, 0) AS payment_count,
    p.payment_type,
    p.payment_installments,
    r.review_score,
    epoch(o.order_delivered_customer_date - o.order_purchase_timestamp) / 86400.0
        AS delivery_days,
    -- The estimate is a date (00:00:00): on time means delivered that day or before.
    o.order_delivered_customer_date::DATE <= o.order_estimated_delivery_date::DATE AS is_on_time,
    i.first_item_product_id,
    i.first_item_seller_id,
    coalesce(pr.product_category_name_english, pr.product_category_name) AS first_item_category,
    o._partition
FROM orders AS o
LEFT JOIN order_customers AS c USING (customer_id)
LEFT JOIN item_totals AS i USING (order_id)
LEFT JOIN payment_totals AS p USING (order_id)
LEFT JOIN reviews AS r USING (order_id)
LEFT JOIN products AS pr ON pr.product_id = i.first_item_product_id

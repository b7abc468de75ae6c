-- silver.unified_user_lifecycle: every order (all statuses) with its customer, money, review and
-- delivery facts, the order-grain table that gold builds customers from.
-- Grain: one row per order_id, ordered by purchase time (then order_id).
-- Inputs (silver tables; the order-grain ones for the same partitions as orders): orders,
-- customers, items (order_items), payments (order_payments), reviews (order_reviews, one per
-- order), products. Parameters: none.
-- Money is exact (DECIMAL(18,2)) and a SUM of it is DECIMAL(38,2): sums are cast back, so every
-- run gives the same cent.
WITH item_totals AS (
    SELECT
        order_id,
        count(*) AS item_count,
        sum(price)::DECIMAL(18, 2) AS merchandise_value,
        sum(freight_value)::DECIMAL(18, 2) AS freight_value,
        -- The first item line (lowest order_item_id) names the order's product and seller.
        arg_min(product_id, order_item_id) AS first_item_product_id,
        arg_min(seller_id, order_item_id) AS first_item_seller_id
    FROM items
    GROUP BY order_id
),

payment_totals AS (
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
)

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
LEFT JOIN customers AS c USING (customer_id)
LEFT JOIN item_totals AS i USING (order_id)
LEFT JOIN payment_totals AS p USING (order_id)
LEFT JOIN reviews AS r USING (order_id)
LEFT JOIN products AS pr ON pr.product_id = i.first_item_product_id
ORDER BY o.order_purchase_timestamp, o.order_id

-- The floor: gold.customer_360's core columns (docs/metrics.md "Customer 360") in one DuckDB
-- query straight from the raw Kaggle-layout CSVs, with no cleaning, quarantine, lake or Dagster.
-- {raw} is replaced by the landing directory. Defaults: completed = 'delivered', quantiles
-- p20/p80/p95, lifecycle 90/180/365 days, as_of = latest purchase date of any order.
WITH orders AS (
    SELECT * FROM read_csv('{raw}/olist_orders_dataset.csv', header = true)
),
customers AS (
    SELECT * FROM read_csv('{raw}/olist_customers_dataset.csv', header = true,
                           types = {'customer_zip_code_prefix': 'VARCHAR'})
),
items AS (
    SELECT order_id, count(*) AS item_lines, sum(price + freight_value) AS item_value,
           min_by(seller_id, order_item_id) AS first_seller_id
    FROM read_csv('{raw}/olist_order_items_dataset.csv', header = true) GROUP BY order_id
),
payments AS (
    SELECT order_id, sum(payment_value) AS paid
    FROM read_csv('{raw}/olist_order_payments_dataset.csv', header = true) GROUP BY order_id
),
reviews AS (
    SELECT order_id, arg_max(review_score, (review_answer_timestamp, review_score)) AS score
    FROM read_csv('{raw}/olist_order_reviews_dataset.csv', header = true) GROUP BY order_id
),
deals AS (
    SELECT d.seller_id, coalesce(NULLIF(l.origin, ''), 'unknown') AS channel, d.lead_type
    FROM read_csv('{raw}/olist_closed_deals_dataset.csv', header = true) d
    LEFT JOIN read_csv('{raw}/olist_marketing_qualified_leads_dataset.csv', header = true) l
        USING (mql_id)
),
as_of AS (SELECT max(order_purchase_timestamp)::DATE AS as_of FROM orders),
completed AS (
    SELECT c.customer_unique_id, o.order_id, o.order_purchase_timestamp AS purchased_at,
           c.customer_city, c.customer_state,
           coalesce(p.paid, i.item_value, 0) AS revenue, coalesce(i.item_lines, 0) AS item_lines,
           r.score,
           date_diff('second', o.order_purchase_timestamp, o.order_delivered_customer_date)
               / 86400.0 AS delivery_days,
           i.first_seller_id
    FROM orders o
    JOIN customers c USING (customer_id)
    LEFT JOIN items i USING (order_id)
    LEFT JOIN payments p USING (order_id)
    LEFT JOIN reviews r USING (order_id)
    WHERE o.order_status = 'delivered'
),
per_customer AS (
    SELECT customer_unique_id,
           min(purchased_at) AS first_order_at, max(purchased_at) AS last_order_at,
           count(*) AS total_orders, sum(revenue) AS lifetime_revenue,
           sum(revenue) / count(*) AS avg_order_value, sum(item_lines) AS total_items,
           sum(item_lines) / count(*) AS avg_basket_quantity,
           count(DISTINCT date_trunc('month', purchased_at)) AS active_months,
           avg(score) AS avg_review_score, avg(delivery_days) AS avg_delivery_days,
           arg_max(customer_city, (purchased_at, order_id)) AS customer_city,
           arg_max(customer_state, (purchased_at, order_id)) AS customer_state,
           arg_min(first_seller_id, (purchased_at, order_id)) AS first_seller_id
    FROM completed GROUP BY customer_unique_id
),
cuts AS (
    SELECT quantile_cont(lifetime_revenue, [0.2, 0.8, 0.95]) AS q FROM per_customer
)
SELECT pc.* EXCLUDE (first_seller_id),
       date_diff('day', first_order_at::DATE, as_of) AS tenure_days,
       date_diff('day', last_order_at::DATE, as_of) AS recency_days,
       coalesce(d.channel, 'unattributed') AS acquisition_channel,
       d.lead_type AS acquisition_lead_type,
       total_orders >= 2 AS is_repeat,
       CASE WHEN total_orders >= 5 THEN 'Power User' WHEN total_orders >= 2 THEN 'Regular'
            ELSE 'One-time' END AS frequency_tier,
       CASE WHEN lifetime_revenue >= q[3] THEN 'VIP' WHEN lifetime_revenue >= q[2] THEN 'High Value'
            WHEN lifetime_revenue >= q[1] THEN 'Medium Value' ELSE 'Low Value' END
           AS value_segment,
       CASE WHEN recency_days <= 90 THEN 'Active' WHEN recency_days <= 180 THEN 'Warm'
            WHEN recency_days <= 365 THEN 'At Risk' ELSE 'Dormant' END AS lifecycle_stage,
       ntile(5) OVER (ORDER BY recency_days DESC, pc.customer_unique_id) AS r_score,
       least(total_orders, 5) AS f_score,
       ntile(5) OVER (ORDER BY lifetime_revenue, pc.customer_unique_id) AS m_score
FROM per_customer pc CROSS JOIN as_of CROSS JOIN cuts
LEFT JOIN deals d ON d.seller_id = pc.first_seller_id

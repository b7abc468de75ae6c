-- silver.orders, standardising step: one row per bronze order row, text trimmed (empty text is
-- NULL) and the status lower case ('Delivered' and 'delivered' are one status).
-- Grain: one row per order; the silver rules (silver/rules.py) then drop exact
-- duplicates, keep one row per order_id and quarantine orders whose customer is unknown.
-- Input: bronze (bronze.orders). Parameters: none.
SELECT
    clean_text(order_id) AS order_id,
    clean_text(customer_id) AS customer_id,
    clean_lower(order_status) AS order_status,
    order_purchase_timestamp,
    order_approved_at,
    order_delivered_carrier_date,
    order_delivered_customer_date,
    order_estimated_delivery_date,
    _partition,
    _source_file,
    _ingested_at
FROM bronze

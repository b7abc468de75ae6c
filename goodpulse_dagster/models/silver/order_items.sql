-- silver.order_items, standardising step: the ids trimmed (an empty id is NULL); numbers, dates
-- and money (DECIMAL(18,2)) are already typed by bronze and pass through.
-- Grain: one row per (order_id, order_item_id). The silver rules (silver/rules.py) then
-- drop exact duplicates, keep one row per key and quarantine negative or implausible amounts and
-- items whose product or seller is unknown.
-- Input: bronze (bronze.order_items). Parameters: none.
SELECT
    clean_text(order_id) AS order_id,
    order_item_id,
    clean_text(product_id) AS product_id,
    clean_text(seller_id) AS seller_id,
    shipping_limit_date,
    price,
    freight_value,
    _partition,
    _source_file,
    _ingested_at
FROM bronze

-- silver.order_payments, standardising step: the order id trimmed (empty is NULL) and the payment
-- type lower case ('Credit_Card' and 'credit_card' are one type).
-- Grain: one row per (order_id, payment_sequential); a split payment has several. The silver
-- rules (silver/rules.py) then drop exact duplicates, keep one row per key and
-- quarantine negative or implausible amounts.
-- Input: bronze (bronze.order_payments). Parameters: none.
SELECT
    clean_text(order_id) AS order_id,
    payment_sequential,
    clean_lower(payment_type) AS payment_type,
    payment_installments,
    payment_value,
    _partition,
    _source_file,
    _ingested_at
FROM bronze

-- silver.customers, standardising step: text trimmed (empty text is NULL), the zip prefix a
-- 5-character string with leading zeros ('1012' and '01012' are the same prefix), the city lower
-- case and the state upper case.
-- Grain: one row per customer_id (an order's customer key); customer_unique_id is the person.
-- The silver rules (silver/rules.py) then drop exact duplicates, keep one row per key
-- and quarantine malformed keys.
-- Input: bronze (bronze.customers). Parameters: none.
SELECT
    clean_text(customer_id) AS customer_id,
    clean_text(customer_unique_id) AS customer_unique_id,
    zip_prefix(customer_zip_code_prefix) AS customer_zip_code_prefix,
    clean_lower(customer_city) AS customer_city,
    clean_upper(customer_state) AS customer_state,
    _source_file,
    _ingested_at
FROM bronze

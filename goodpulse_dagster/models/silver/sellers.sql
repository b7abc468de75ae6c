-- silver.sellers, standardising step: text trimmed (empty text is NULL), the zip prefix a
-- 5-character string with leading zeros, the city lower case and the state upper case.
-- Grain: one row per seller_id. The silver rules (silver/rules.py) then drop exact
-- duplicates, keep one row per key and quarantine malformed keys.
-- Input: bronze (bronze.sellers). Parameters: none.
SELECT
    clean_text(seller_id) AS seller_id,
    zip_prefix(seller_zip_code_prefix) AS seller_zip_code_prefix,
    clean_lower(seller_city) AS seller_city,
    clean_upper(seller_state) AS seller_state,
    _source_file,
    _ingested_at
FROM bronze

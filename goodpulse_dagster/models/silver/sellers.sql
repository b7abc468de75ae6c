-- silver.sellers, standardising step: text trimmed (empty text is NULL), the zip prefix a
-- 5-character string with leading zeros, the city lower case and the state upper case.
-- Grain: one row per seller_id. The silver rules (silver/rules.py) then drop exact
-- duplicates, keep one row per key and quarantine malformed keys.
-- Input: bronze (bronze.sellers). Parameters: none.
WITH source AS (
    SELECT * FROM bronze
),

standardised AS (
    SELECT
        NULLIF(trim(seller_id), '') AS seller_id,
        lpad(NULLIF(trim(seller_zip_code_prefix), ''), 5, '0') AS seller_zip_code_prefix,
        lower(NULLIF(trim(seller_city), '')) AS seller_city,
        upper(NULLIF(trim(seller_state), '')) AS seller_state,
        _source_file,
        _ingested_at
    FROM source
)

SELECT * FROM standardised

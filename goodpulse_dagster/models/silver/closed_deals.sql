-- silver.closed_deals, standardising step: text trimmed (empty text is NULL) and the lead type
-- lower case.
-- Grain: one row per closed deal (mql_id) with the seller it became. The silver rules
-- (silver/rules.py) then drop exact duplicates, keep one row per deal and quarantine
-- malformed keys and NaN or infinite numbers.
-- Input: bronze (bronze.closed_deals). Parameters: none.
WITH source AS (
    SELECT * FROM bronze
),

standardised AS (
    SELECT
        NULLIF(trim(mql_id), '') AS mql_id,
        NULLIF(trim(seller_id), '') AS seller_id,
        NULLIF(trim(sdr_id), '') AS sdr_id,
        NULLIF(trim(sr_id), '') AS sr_id,
        won_date,
        NULLIF(trim(business_segment), '') AS business_segment,
        lower(NULLIF(trim(lead_type), '')) AS lead_type,
        NULLIF(trim(lead_behaviour_profile), '') AS lead_behaviour_profile,
        NULLIF(trim(has_company), '') AS has_company,
        NULLIF(trim(has_gtin), '') AS has_gtin,
        NULLIF(trim(average_stock), '') AS average_stock,
        NULLIF(trim(business_type), '') AS business_type,
        declared_product_catalog_size,
        declared_monthly_revenue,
        _source_file,
        _ingested_at
    FROM source
)

SELECT * FROM standardised

-- silver.closed_deals, standardising step: text trimmed (empty text is NULL) and the lead type
-- lower case.
-- Grain: one row per closed deal (mql_id) with the seller it became. The silver rules
-- (silver/rules.py) then drop exact duplicates, keep one row per deal and quarantine
-- malformed keys and NaN or infinite numbers.
-- Input: bronze (bronze.closed_deals). Parameters: none.
SELECT
    clean_text(mql_id) AS mql_id,
    clean_text(seller_id) AS seller_id,
    clean_text(sdr_id) AS sdr_id,
    clean_text(sr_id) AS sr_id,
    won_date,
    clean_text(business_segment) AS business_segment,
    clean_lower(lead_type) AS lead_type,
    clean_text(lead_behaviour_profile) AS lead_behaviour_profile,
    clean_text(has_company) AS has_company,
    clean_text(has_gtin) AS has_gtin,
    clean_text(average_stock) AS average_stock,
    clean_text(business_type) AS business_type,
    declared_product_catalog_size,
    declared_monthly_revenue,
    _source_file,
    _ingested_at
FROM bronze

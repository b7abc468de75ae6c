-- silver.marketing_qualified_leads, standardising step: text trimmed (empty text is NULL) and the
-- lead's origin lower case ('Organic_Search' and 'organic_search' are one channel).
-- Grain: one row per marketing-qualified lead (mql_id). The silver rules
-- (silver/rules.py) then drop exact duplicates, keep one row per lead and quarantine
-- malformed keys.
-- Input: bronze (bronze.marketing_qualified_leads). Parameters: none.
SELECT
    clean_text(mql_id) AS mql_id,
    first_contact_date,
    clean_text(landing_page_id) AS landing_page_id,
    clean_lower(origin) AS origin,
    _source_file,
    _ingested_at
FROM bronze

-- silver.category_translation, standardising step: both names trimmed (empty text is NULL).
-- Grain: one row per Portuguese product_category_name. The silver rules
-- (silver/rules.py) then drop exact duplicates and keep one row per name.
-- Input: bronze (bronze.category_translation). Parameters: none.
SELECT
    clean_text(product_category_name) AS product_category_name,
    clean_text(product_category_name_english) AS product_category_name_english,
    _source_file,
    _ingested_at
FROM bronze

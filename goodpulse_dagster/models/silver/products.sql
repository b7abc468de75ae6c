-- silver.products, standardising step: ids and the category trimmed (empty text is NULL) and the
-- misspelt Kaggle headers renamed (product_name_lenght -> product_name_length, ...).
-- Grain: one row per product_id. The silver rules (silver/rules.py) then drop exact
-- duplicates, keep one row per key and quarantine NaN or infinite measures; the English category
-- name is joined on afterwards (products__english_category.sql).
-- Input: bronze (bronze.products). Parameters: none.
SELECT
    clean_text(product_id) AS product_id,
    clean_text(product_category_name) AS product_category_name,
    product_name_lenght AS product_name_length,
    product_description_lenght AS product_description_length,
    product_photos_qty,
    product_weight_g,
    product_length_cm,
    product_height_cm,
    product_width_cm,
    _source_file,
    _ingested_at
FROM bronze

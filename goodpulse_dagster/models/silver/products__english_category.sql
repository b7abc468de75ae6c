-- silver.products, last step: the cleaned products with their English category name (NULL when
-- the category has no translation).
-- Grain: one row per product_id.
-- Inputs: kept (the standardised products that passed the silver rules, from products.sql and
-- silver/rules.py); translation (silver.category_translation, one row per Portuguese
-- name). Parameters: none.
WITH products AS (
    SELECT * FROM kept
),

english_names AS (
    SELECT product_category_name, product_category_name_english
    FROM translation
)

SELECT
    products.*,
    english_names.product_category_name_english
FROM products
LEFT JOIN english_names USING (product_category_name)
ORDER BY product_id

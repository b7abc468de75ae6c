-- Step 2 of silver.unified_user_lifecycle: each order's item count, merchandise value and
-- freight, and its first item line. Kept as a table so that its aggregate has spilled and
-- finished before step 4's joins build their hash tables: together, at 2M orders a quarter, they
-- could not spill (``failed to pin block`` under a 2GB budget).
-- Grain: one row per order_id with items. Inputs: items (order_items). Parameters: none.
-- Money is exact (DECIMAL(18,2)) and a SUM of it is DECIMAL(38,2): sums are cast back, so every
-- run gives the same cent.
SELECT
    order_id,
    count(*) AS item_count,
    sum(price)::DECIMAL(18, 2) AS merchandise_value,
    sum(freight_value)::DECIMAL(18, 2) AS freight_value,
    -- The first item line (lowest order_item_id) names the order's product and seller.
    arg_min(product_id, order_item_id) AS first_item_product_id,
    arg_min(seller_id, order_item_id) AS first_item_seller_id
FROM items
GROUP BY order_id

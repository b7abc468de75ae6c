-- kpi.frequency_distribution: customers and revenue per frequency tier, with shares of all
-- customers and all revenue.
-- Grain: one row per frequency_tier, every one of $frequency_tiers in that order (an empty one
--   with 0 customers), then any label outside the list.
-- Inputs: customer_360.
-- Parameters: $frequency_tiers (the categories, in order).
WITH
grid AS (SELECT unnest($frequency_tiers) AS category),
labelled AS (SELECT frequency_tier AS category, lifetime_revenue FROM customer_360),
-- include: category_revenue
final AS (SELECT * RENAME (category AS frequency_tier) FROM measured)
SELECT * FROM final ORDER BY list_position($frequency_tiers, frequency_tier) NULLS LAST, frequency_tier

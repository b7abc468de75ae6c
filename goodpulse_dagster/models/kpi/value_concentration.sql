-- kpi.value_concentration (KPI 4, monetization): customers and revenue per value segment, with
-- shares of all customers and all revenue.
-- Grain: one row per value_segment, every one of $value_segments in that order (an empty one
--   with 0 customers), then any label outside the list.
-- Inputs: customer_360.
-- Parameters: $value_segments (the categories, in order).
WITH
grid AS (SELECT unnest($value_segments) AS category),
labelled AS (SELECT value_segment AS category, lifetime_revenue FROM customer_360),
-- include: category_revenue
final AS (SELECT * RENAME (category AS value_segment) FROM measured)
SELECT * FROM final ORDER BY list_position($value_segments, value_segment) NULLS LAST, value_segment

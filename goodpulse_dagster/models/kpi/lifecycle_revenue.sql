-- kpi.lifecycle_revenue (KPI 3, the Active revenue share is the headline): customers and
-- revenue per lifecycle stage, with shares of all customers and all revenue.
-- Grain: one row per lifecycle_stage, every one of $lifecycle_stages in that order (an empty one
--   with 0 customers), then any label outside the list.
-- Inputs: customer_360.
-- Parameters: $lifecycle_stages (the categories, in order).
WITH
grid AS (SELECT unnest($lifecycle_stages) AS category),
labelled AS (SELECT lifecycle_stage AS category, lifetime_revenue FROM customer_360),
-- include: category_revenue
final AS (SELECT * EXCLUDE (revenue_per_customer) RENAME (category AS lifecycle_stage) FROM measured)
SELECT * FROM final ORDER BY list_position($lifecycle_stages, lifecycle_stage) NULLS LAST, lifecycle_stage

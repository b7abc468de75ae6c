-- kpi.health_by_value: customers per (value_segment, lifecycle_stage) and their share within the
-- value segment (NULL for an empty segment).
-- Grain: one row per cell of the value segment x lifecycle stage grid (an empty cell with 0
--   customers), in the category orders.
-- Inputs: customer_360.
-- Parameters: $value_segments, $lifecycle_stages (the categories, in order).
WITH
-- include: value_stage_cells
final AS (
    SELECT
        value_segment,
        lifecycle_stage,
        customers,
        customers / nullif(sum(customers) OVER (PARTITION BY value_segment), 0)
            AS share_within_segment,
        cell_order
    FROM ordered
)
SELECT * EXCLUDE (cell_order) FROM final ORDER BY cell_order

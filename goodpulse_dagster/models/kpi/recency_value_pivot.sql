-- kpi.recency_value_pivot: customers and revenue per (value_segment, lifecycle_stage).
-- Grain: one row per cell of the value segment x lifecycle stage grid (an empty cell with 0
--   customers), in the category orders.
-- Inputs: customer_360.
-- Parameters: $value_segments, $lifecycle_stages (the categories, in order).
WITH
-- include: value_stage_cells
final AS (
    SELECT value_segment, lifecycle_stage, customers, revenue, cell_order FROM ordered
)
SELECT * EXCLUDE (cell_order) FROM final ORDER BY cell_order

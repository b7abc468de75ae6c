-- CTEs `grid`, `labelled`, `cells` and `filled` (include: filled_cells), then `ordered`:
-- customers and revenue per (value_segment, lifecycle_stage) of customer_360, the full 4 x 4 grid
-- (an empty cell is a 0, not a missing row), each cell with its cell_order: the category orders
-- ($value_segments, then $lifecycle_stages; a label outside a list after the list's labels), for
-- the model's ORDER BY.
-- Parameters: $value_segments, $lifecycle_stages.
-- Used by kpi/recency_value_pivot and kpi/health_by_value.
grid AS (
    SELECT v.value_segment, s.lifecycle_stage
    FROM (SELECT unnest($value_segments) AS value_segment) v
    CROSS JOIN (SELECT unnest($lifecycle_stages) AS lifecycle_stage) s
),
labelled AS (SELECT value_segment, lifecycle_stage, lifetime_revenue FROM customer_360),
-- include: filled_cells
ordered AS (
    SELECT
        *,
        row_number() OVER (
            ORDER BY
                list_position($value_segments, value_segment) NULLS LAST,
                list_position($lifecycle_stages, lifecycle_stage) NULLS LAST,
                value_segment,
                lifecycle_stage
        ) AS cell_order
    FROM filled
),

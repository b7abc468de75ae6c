-- CTEs `cells` (include: cells) and `filled`: customers and revenue per cell, every cell of a
-- grid present (an empty cell is a 0, not a missing row).
-- Reads two CTEs the model defines before the include: `grid`, the cells that must appear (the
-- key columns only, nothing else), and `labelled`, the same key columns and lifetime_revenue, one
-- row per customer of customer_360.
-- Used by value_stage_cells, category_revenue and kpi/channel_revenue.
-- include: cells
filled AS (
    -- NATURAL: joined on the columns grid and cells share, the key columns. FULL: a cell outside
    -- the grid (a label outside the category list, a NULL one) is kept too.
    SELECT * REPLACE (
        coalesce(customers, 0) AS customers,
        coalesce(revenue, 0)::DECIMAL(18,2) AS revenue
    )
    FROM grid
    NATURAL FULL JOIN cells
),

-- CTE `cells`: customers and revenue per cell, a cell being one combination of the key columns
-- of `labelled`, a CTE the model defines before the include: the key columns and
-- lifetime_revenue, one row per customer of customer_360. Only a cell that has customers
-- appears (filled_cells adds the empty cells of a grid).
-- Used by kpi/city_concentration and filled_cells.
cells AS (
    -- GROUP BY ALL groups by every selected column that is not an aggregate: the key columns.
    SELECT * EXCLUDE (lifetime_revenue), count(*) AS customers,
           sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM labelled
    GROUP BY ALL
),

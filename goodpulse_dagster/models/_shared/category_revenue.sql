-- CTEs `cells`, `filled` (include: filled_cells) and `measured`: customers and revenue per
-- category, every category of the list present (an empty one with zeros, a label outside the
-- list kept too), with shares of the grand totals.
-- Reads two CTEs the model defines before the include: `grid (category)`, every category of the
-- list, and `labelled (category, lifetime_revenue)`, one row per customer of customer_360.
-- `measured` holds the columns in table order (category, customers, revenue, revenue_share,
-- revenue_per_customer, customer_share): a model renames `category` and drops what it omits.
-- Used by kpi/frequency_distribution, kpi/value_concentration and kpi/lifecycle_revenue.
-- include: filled_cells
measured AS (
    SELECT
        f.*,
        f.revenue::DOUBLE / nullif(sum(f.revenue) OVER (), 0)::DOUBLE AS revenue_share,
        f.revenue::DOUBLE / nullif(f.customers, 0) AS revenue_per_customer,
        f.customers / nullif(sum(f.customers) OVER (), 0) AS customer_share
    FROM filled f
),

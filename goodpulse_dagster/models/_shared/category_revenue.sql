-- CTEs `per_category`, `filled`, `measured`: customers and revenue per category, every category
-- of the list present (an empty one with zeros), with shares of the grand totals.
-- Reads two CTEs the model defines before the include: `categories (category)`, every category
-- in order, and `labelled (category, lifetime_revenue)`, one row per customer of customer_360.
-- `measured` holds the columns in table order (category, customers, revenue, revenue_share,
-- revenue_per_customer, customer_share): a model renames `category` and drops what it omits.
-- Used by kpi/frequency_distribution, kpi/value_concentration and kpi/lifecycle_revenue.
per_category AS (
    SELECT category, count(*) AS customers, sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM labelled
    GROUP BY category
),
filled AS (
    -- Every category appears, an empty one with zeros; a label outside the list is kept too.
    SELECT category, coalesce(p.customers, 0) AS customers,
           coalesce(p.revenue, 0)::DECIMAL(18,2) AS revenue
    FROM categories
    FULL JOIN per_category p USING (category)
),
measured AS (
    SELECT
        f.*,
        f.revenue::DOUBLE / nullif(sum(f.revenue) OVER (), 0)::DOUBLE AS revenue_share,
        f.revenue::DOUBLE / nullif(f.customers, 0) AS revenue_per_customer,
        f.customers / nullif(sum(f.customers) OVER (), 0) AS customer_share
    FROM filled f
),

-- kpi.city_concentration: customers and revenue per (customer_city, customer_state), ranked by
-- revenue, and the revenue share of the top N.
-- Grain: one row per (customer_city, customer_state), by rank (revenue, customers, name: unique).
-- Inputs: customer_360.
-- Parameters: $top_n_cities.
WITH
labelled AS (SELECT customer_city, customer_state, lifetime_revenue FROM customer_360),
-- include: cells
ranked AS (
    -- A unique rank: revenue, then customers, then name, so the top N is always N cities.
    SELECT
        *,
        row_number() OVER (
            ORDER BY
                revenue DESC, customers DESC, customer_city NULLS LAST, customer_state NULLS LAST
        ) AS rank,
        (sum(revenue) OVER ())::DOUBLE AS all_revenue
    FROM cells
)
SELECT
    customer_city,
    customer_state,
    customers,
    revenue,
    revenue::DOUBLE / nullif(all_revenue, 0) AS revenue_share,
    rank,
    rank <= $top_n_cities AS is_top_n,
    (sum(revenue) FILTER (WHERE rank <= $top_n_cities) OVER ())::DOUBLE / nullif(all_revenue, 0)
        AS top_n_revenue_share
FROM ranked
ORDER BY rank

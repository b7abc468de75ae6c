-- gold.cohort_retention: share of each acquisition cohort active (a completed order) in each
-- later period, for quarter and month cohorts.
-- Grain: one row per (grain, cohort, period_index), every index from 0 to the data's last
--   period (a quiet period is a 0, not a gap); ordered by grain ($grain_names), cohort, index.
-- Inputs: lifecycle (silver.unified_user_lifecycle).
-- Parameters: $completed_statuses, $as_of (the explicit as_of or NULL: data_span),
--   $grain_names and $grain_months (the cohort grains and their length in months).
WITH
-- include: completed
-- include: data_span
grains AS (
    SELECT unnest($grain_names) AS grain, unnest($grain_months) AS months
),
customers AS (
    -- One row per customer: the time of the first completed order, and how many there are.
    SELECT customer_unique_id, min(order_purchase_timestamp) AS first_order_at, count(*) AS orders
    FROM completed
    GROUP BY customer_unique_id
),
cohorts AS (
    -- A customer's cohort is the period of their first completed order.
    SELECT g.grain, c.customer_unique_id, c.orders,
           date_trunc(g.grain, c.first_order_at)::DATE AS cohort
    FROM customers c
    CROSS JOIN grains g
),
sizes AS (
    SELECT grain, cohort, count(*) AS cohort_size FROM cohorts GROUP BY ALL
),
last_periods AS (
    SELECT g.grain, date_trunc(g.grain, max(o.order_purchase_timestamp))::DATE AS last_period
    FROM completed o
    CROSS JOIN grains g
    GROUP BY g.grain
),
repeat_activity AS (
    -- One row per (grain, customer, period) in which a customer with more than one completed
    -- order had one. Only they can be active after their cohort's period: the rest of the
    -- customers (most of them) are counted by their cohort's size alone, so the distinct
    -- (customer, period) pairs and their join to the cohorts are a few per cent of the rows
    -- (out of a memory budget, over every customer they spilled at 30M orders).
    SELECT DISTINCT
        g.grain,
        o.customer_unique_id,
        date_trunc(g.grain, o.order_purchase_timestamp)::DATE AS period
    FROM completed o
    CROSS JOIN grains g
    WHERE o.customer_unique_id IN (SELECT customer_unique_id FROM customers WHERE orders > 1)
),
active AS (
    -- Index 0 is the cohort's own period, in which each of its customers was active.
    SELECT grain, cohort, 0 AS period_index, cohort_size AS active_customers FROM sizes
    UNION ALL
    SELECT
        a.grain,
        c.cohort,
        date_diff(a.grain, c.cohort, a.period) AS period_index,
        count(*) AS active_customers
    FROM repeat_activity a
    JOIN (SELECT * FROM cohorts WHERE orders > 1) c USING (grain, customer_unique_id)
    WHERE a.period > c.cohort
    GROUP BY ALL
),
grid AS (
    -- Every index from 0 to the last period in the data, so a quiet period is a 0, not a gap.
    SELECT
        s.grain,
        g.months,
        s.cohort,
        s.cohort_size,
        unnest(range(0, date_diff(s.grain, s.cohort, l.last_period) + 1)) AS period_index
    FROM sizes s
    JOIN last_periods l USING (grain)
    JOIN grains g USING (grain)
),
cells AS (
    SELECT *, (cohort + to_months(period_index * months))::DATE AS period FROM grid
)
SELECT
    g.grain,
    g.cohort,
    g.period_index,
    g.period,
    g.cohort_size,
    coalesce(a.active_customers, 0) AS active_customers,
    coalesce(a.active_customers, 0) / g.cohort_size AS retention_rate,
    -- A rate of a period the data does not fully cover is kept (the count is what it is) but
    -- flagged: the report leaves it out of the heatmap and the period-1 headline.
    period_is_complete(g.period, g.months, data_span.first_day, data_span.last_day)
        AS is_complete
FROM cells g
CROSS JOIN data_span
LEFT JOIN active a USING (grain, cohort, period_index)
ORDER BY list_position($grain_names, g.grain), g.cohort, g.period_index

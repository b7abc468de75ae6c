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
activity AS (
    -- One row per (grain, customer, period) in which the customer had a completed order.
    SELECT DISTINCT
        g.grain,
        o.customer_unique_id,
        date_trunc(g.grain, o.order_purchase_timestamp)::DATE AS period
    FROM completed o
    CROSS JOIN grains g
),
cohorts AS (
    -- A customer's cohort is the period of their first completed order.
    SELECT grain, customer_unique_id, min(period) AS cohort FROM activity GROUP BY ALL
),
sizes AS (
    SELECT grain, cohort, count(*) AS cohort_size FROM cohorts GROUP BY ALL
),
last_periods AS (
    SELECT grain, max(period) AS last_period FROM activity GROUP BY grain
),
active AS (
    SELECT
        a.grain,
        c.cohort,
        date_diff(a.grain, c.cohort, a.period) AS period_index,
        count(*) AS active_customers
    FROM activity a
    JOIN cohorts c USING (grain, customer_unique_id)
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

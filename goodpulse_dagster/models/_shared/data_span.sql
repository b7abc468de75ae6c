-- CTE `data_span` (one row: first_day, last_day): the days the data covers, for deciding which
-- periods are complete (macro period_is_complete; docs/metric_decisions.md "Complete periods").
-- From the first purchase date of a completed order to the last one, cut at an explicit as_of.
-- Completed orders, because every period series (monthly revenue, cohorts) counts only those:
-- the newest orders of an export are not delivered yet, so a month after the last completed
-- purchase holds a handful of orders however many were placed. A derived as_of is the last
-- purchase date of any status (never earlier), so $as_of is the explicit one only (NULL
-- otherwise; least() skips NULLs). Reads the `completed` CTE (include: completed).
-- Parameters: $as_of (DATE or NULL).
data_span AS (
    SELECT
        min(order_purchase_timestamp)::DATE AS first_day,
        least(max(order_purchase_timestamp)::DATE, $as_of::DATE) AS last_day
    FROM completed
),

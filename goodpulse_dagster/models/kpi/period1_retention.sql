-- kpi.period1_retention (KPI 1): per-cohort index-1 retention plus, per grain, a headline pooled
-- over the cohorts whose period 1 is complete.
-- Grain: per grain ($grain_names order), one headline row (cohort NULL, is_headline) then one
--   row per cohort that has an index 1, in date order.
-- Inputs: cohort_retention (gold).
-- Parameters: $grain_names.
WITH period1 AS (
    -- Only cohorts that have an index 1 (the last period's cohort has none yet). is_complete is
    -- cohort_retention's: the cohort's next period is fully covered by the data.
    SELECT grain, cohort::DATE AS cohort, cohort_size, active_customers AS period1_active,
           is_complete
    FROM cohort_retention
    WHERE period_index = 1
),
headline AS (
    -- Pooled over the cohorts whose period 1 is complete: sum of index-1 actives / sum of their
    -- sizes (a cohort whose next period holds 10 days of data would pull it down); one row per
    -- grain always.
    SELECT
        g.grain,
        NULL::DATE AS cohort,
        TRUE AS is_headline,
        coalesce(sum(p.cohort_size) FILTER (WHERE p.is_complete), 0) AS cohort_size,
        coalesce(sum(p.period1_active) FILTER (WHERE p.is_complete), 0) AS period1_active,
        sum(p.period1_active) FILTER (WHERE p.is_complete)
            / nullif(sum(p.cohort_size) FILTER (WHERE p.is_complete), 0) AS period1_retention,
        coalesce(bool_or(p.is_complete), FALSE) AS is_complete
    FROM (SELECT unnest($grain_names) AS grain) g
    LEFT JOIN period1 p USING (grain)
    GROUP BY g.grain
),
per_cohort AS (
    SELECT
        grain,
        cohort,
        FALSE AS is_headline,
        cohort_size,
        period1_active,
        period1_active / cohort_size AS period1_retention,
        is_complete
    FROM period1
)
SELECT * FROM (SELECT * FROM headline UNION ALL SELECT * FROM per_cohort)
-- Per grain: the headline row first, then cohorts in date order.
ORDER BY list_position($grain_names, grain) NULLS LAST, grain, is_headline DESC, cohort

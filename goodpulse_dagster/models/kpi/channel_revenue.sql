-- kpi.channel_revenue: customers and revenue per acquisition_channel (value_segment NULL: the
-- channel total) and per channel x value_segment, with shares of the grand totals.
-- Grain: per channel (by name), its total row then one row per value segment ($value_segments
--   order).
-- Inputs: customer_360.
-- Parameters: $value_segments.
WITH channels AS (
    SELECT acquisition_channel, count(*) AS customers,
           sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM customer_360
    GROUP BY acquisition_channel
),
grid AS (
    -- Every value segment under every channel present.
    SELECT c.acquisition_channel, v.value_segment
    FROM channels c
    CROSS JOIN (SELECT unnest($value_segments) AS value_segment) v
),
labelled AS (SELECT acquisition_channel, value_segment, lifetime_revenue FROM customer_360),
-- include: filled_cells
all_rows AS (
    -- value_segment NULL: the channel total.
    SELECT acquisition_channel, NULL::VARCHAR AS value_segment, customers, revenue FROM channels
    UNION ALL
    SELECT acquisition_channel, value_segment, customers, revenue FROM filled
),
totals AS (
    SELECT count(*) AS all_customers, sum(lifetime_revenue)::DOUBLE AS all_revenue
    FROM customer_360
)
SELECT
    r.acquisition_channel,
    r.value_segment,
    r.customers,
    r.revenue,
    -- Shares of the grand total on both row kinds, so a channel's cells add up to its total.
    r.customers / nullif(t.all_customers, 0) AS customer_share,
    r.revenue::DOUBLE / nullif(t.all_revenue, 0) AS revenue_share,
    r.revenue::DOUBLE / nullif(r.customers, 0) AS revenue_per_customer
FROM all_rows r
CROSS JOIN totals t
ORDER BY
    r.acquisition_channel NULLS LAST,
    r.value_segment IS NOT NULL,
    list_position($value_segments, r.value_segment) NULLS LAST,
    r.value_segment

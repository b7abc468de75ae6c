-- gold.customer_segmentation: customers and revenue per segment_label (lifecycle stage x value
-- segment x frequency tier).
-- Grain: one row per segment_label present, in category order (lifecycle stage, value segment,
--   frequency tier as schema lists them, then the label).
-- Inputs: customer_360 (the columns of gold.SEGMENTATION_INPUT_COLUMNS).
-- Parameters: $lifecycle_stages, $value_segments, $frequency_tiers (the category orders).
WITH segments AS (
    SELECT
        segment_label,
        lifecycle_stage,
        value_segment,
        frequency_tier,
        count(*) AS customers,
        sum(lifetime_revenue)::DECIMAL(18,2) AS revenue
    FROM customer_360
    GROUP BY ALL
)
SELECT
    segment_label,
    lifecycle_stage,
    value_segment,
    frequency_tier,
    customers,
    revenue,
    -- NULL rather than a division by zero when nobody has any revenue.
    revenue::DOUBLE / nullif(sum(revenue) OVER (), 0)::DOUBLE AS revenue_share,
    revenue::DOUBLE / customers AS revenue_per_customer
FROM segments
ORDER BY
    list_position($lifecycle_stages, lifecycle_stage),
    list_position($value_segments, value_segment),
    list_position($frequency_tiers, frequency_tier),
    segment_label

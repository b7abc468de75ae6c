-- gold.customer_360: one row per customer with at least one completed order: order counts,
-- revenue, recency, RFM scores, value / frequency / lifecycle segments (METRICS.md).
-- Grain: one row per customer_unique_id; rows in no particular order.
-- Inputs: customer_unified_lifecycle (gold/customer_unified_lifecycle.sql, which computes every
--   column here in the same query: see the comment at its top).
-- Parameters: none.
SELECT
    customer_unique_id,
    first_order_at,
    last_order_at,
    total_orders,
    lifetime_revenue,
    avg_order_value,
    total_items,
    avg_basket_quantity,
    tenure_days,
    recency_days,
    active_months,
    avg_review_score,
    avg_delivery_days,
    customer_city,
    customer_state,
    acquisition_channel,
    acquisition_lead_type,
    is_repeat,
    is_high_value,
    frequency_tier,
    value_segment,
    lifecycle_stage,
    r_score,
    f_score,
    m_score,
    rfm_segment,
    segment_label
FROM customer_unified_lifecycle

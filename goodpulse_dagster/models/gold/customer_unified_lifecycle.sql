-- gold.customer_unified_lifecycle: customer_360 plus cohorts and first-order context.
-- Grain: one row per customer (customer_unique_id) with at least one completed order; rows in no
-- particular order (sorting a million wide rows cost 0.35-0.6 s for an order no reader relies on).
-- Inputs: first_orders, latest_orders, totals (the steps customer_unified_lifecycle__<step>.sql,
--   over silver.unified_user_lifecycle's completed orders), closed_deals, leads, sellers
--   (silver), rfm_codes (the 25 (r_score, f_score) -> rfm_segment rows of gold.RFM_SEGMENTS).
-- Parameters: $as_of, $rfm_scale, $value_quantiles, $regular_min_orders,
--   $power_user_min_orders, $active_days, $warm_days, $at_risk_days and the labels of
--   transforms/metric_params.label_params ($one_time ... $dormant, $unknown, $unattributed,
--   $label_separator).
-- customer_360 is this table's first columns (gold/customer_360.sql selects them): one query for
-- both, because as two the second recomputed every customer's first order (1.1-1.2 s at 1M).
WITH
deals AS (
    -- One deal per seller: a seller closed twice keeps its earliest won deal (then lowest mql_id).
    SELECT seller_id, mql_id, lead_type FROM closed_deals
    WHERE seller_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY seller_id ORDER BY won_date NULLS LAST, mql_id) = 1
),
seller_states AS (
    -- Sellers are unique in silver; the DISTINCT ON keeps this join 1:1 even if they were not.
    SELECT DISTINCT ON (seller_id) seller_id, seller_state
    FROM sellers
    ORDER BY seller_id, seller_state
),
first_order_context AS (
    -- The funnel is seller-side: attribute a customer to the lead that became the seller of item
    -- line 1 of their first completed order. The rest is customer_unified_lifecycle's context.
    SELECT
        f.customer_unique_id,
        CASE WHEN d.seller_id IS NULL THEN $unattributed
             ELSE coalesce(nullif(trim(l.origin), ''), $unknown) END AS acquisition_channel,
        CASE WHEN d.seller_id IS NULL THEN $unattributed
             ELSE coalesce(nullif(trim(d.lead_type), ''), $unknown) END AS acquisition_lead_type,
        date_trunc('quarter', f.order_purchase_timestamp)::DATE AS cohort_quarter,
        date_trunc('month', f.order_purchase_timestamp)::DATE AS cohort_month,
        f.order_id AS first_order_id,
        f.first_item_category AS first_category,
        f.payment_type AS first_payment_type,
        s.seller_state AS first_seller_state
    FROM first_orders f
    LEFT JOIN deals d ON d.seller_id = f.first_item_seller_id
    LEFT JOIN leads l ON l.mql_id = d.mql_id
    LEFT JOIN seller_states s ON s.seller_id = f.first_item_seller_id
),
rfm_ranks AS (
    -- On the three columns they order by: a window sorts every column it carries (ranking the
    -- whole customer row sorted ~30 columns of a million customers, twice).
    SELECT
        customer_unique_id,
        -- Oldest first, so the most recent fifth gets the top score (recency_days is as_of
        -- minus the date of the last order: the same order as that date, ascending).
        ntile($rfm_scale) OVER (ORDER BY last_order_at::DATE, customer_unique_id) AS r_score,
        ntile($rfm_scale) OVER (ORDER BY lifetime_revenue, customer_unique_id) AS m_score
    FROM totals
),
measured AS (
    SELECT
        t.*,
        -- Whole days between dates (not timestamps): an order on as_of has recency 0.
        date_diff('day', t.first_order_at::DATE, $as_of::DATE) AS tenure_days,
        date_diff('day', t.last_order_at::DATE, $as_of::DATE) AS recency_days,
        lo.customer_city,
        lo.customer_state,
        r.r_score,
        r.m_score,
        fc.* EXCLUDE (customer_unique_id)
    FROM totals t
    JOIN latest_orders lo USING (customer_unique_id)
    JOIN first_order_context fc USING (customer_unique_id)
    JOIN rfm_ranks r USING (customer_unique_id)
),
cuts AS (
    -- value_segment cut points: p20/p80/p95 of lifetime revenue over all customers, interpolated.
    -- Interpolated in DOUBLE (a DECIMAL quantile would round the cut to the cent); the input is
    -- exact, so the cut points are the same on every run.
    SELECT quantile_cont(lifetime_revenue::DOUBLE, $value_quantiles) AS q FROM totals
),
classified AS (
    SELECT
        m.*,
        m.total_orders >= $regular_min_orders AS is_repeat,
        CASE WHEN m.total_orders >= $power_user_min_orders THEN $power_user
             WHEN m.total_orders >= $regular_min_orders THEN $regular
             ELSE $one_time END AS frequency_tier,
        value_segment_of(m.lifetime_revenue, c.q, $low_value, $medium_value, $high_value, $vip)
            AS value_segment,
        CASE WHEN m.recency_days <= $active_days THEN $active
             WHEN m.recency_days <= $warm_days THEN $warm
             WHEN m.recency_days <= $at_risk_days THEN $at_risk
             ELSE $dormant END AS lifecycle_stage,
        least(m.total_orders, $rfm_scale) AS f_score
    FROM measured m
    CROSS JOIN cuts c
)
SELECT
    c.customer_unique_id,
    c.first_order_at,
    c.last_order_at,
    c.total_orders,
    c.lifetime_revenue,
    c.lifetime_revenue::DOUBLE / c.total_orders AS avg_order_value,
    c.total_items,
    c.total_items / c.total_orders AS avg_basket_quantity,
    c.tenure_days,
    c.recency_days,
    c.active_months,
    c.avg_review_score,
    c.avg_delivery_days,
    c.customer_city,
    c.customer_state,
    c.acquisition_channel,
    c.acquisition_lead_type,
    c.is_repeat,
    c.value_segment IN ($high_value, $vip) AS is_high_value,
    c.frequency_tier,
    c.value_segment,
    c.lifecycle_stage,
    c.r_score,
    c.f_score,
    c.m_score,
    rfm.rfm_segment,
    concat_ws($label_separator, c.lifecycle_stage, c.value_segment, c.frequency_tier)
        AS segment_label,
    -- customer_unified_lifecycle's columns beyond customer_360's.
    c.cohort_quarter,
    c.cohort_month,
    c.first_order_id,
    c.first_category,
    c.first_payment_type,
    c.first_seller_state
FROM classified c
LEFT JOIN rfm_codes rfm ON rfm.r_score = c.r_score AND rfm.f_score = c.f_score

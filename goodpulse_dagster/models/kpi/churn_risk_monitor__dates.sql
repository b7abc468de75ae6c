-- The monitor dates of kpi.churn_risk_monitor, before as_of: every quarter end from the first
-- completed order's quarter up to as_of (the builder keeps those before as_of, then adds as_of).
-- Grain: one row per quarter end (quarter_end, a TIMESTAMP at midnight).
-- Inputs: lifecycle (silver.unified_user_lifecycle).
-- Parameters: $completed_statuses, $as_of.
SELECT unnest(range(
    date_trunc('quarter', min(order_purchase_timestamp)),
    $as_of::DATE,
    INTERVAL 3 MONTH
)) + INTERVAL 3 MONTH - INTERVAL 1 DAY AS quarter_end
FROM lifecycle
WHERE list_contains($completed_statuses, order_status)

-- kpi.delivery_vs_review: completed, delivered orders per delivery-days bucket, their average
-- review score, and the order-level Pearson correlation of delivery days and score.
-- Grain: one row per bucket of schema.DELIVERY_BUCKETS, in bucket order.
-- Inputs: lifecycle (silver.unified_user_lifecycle).
-- Parameters: $completed_statuses, $bucket_labels, $bucket_orders, $bucket_lows (each bucket's
--   label, position and lower bound in whole days).
WITH
-- include: completed
buckets AS (
    SELECT
        unnest($bucket_labels) AS delivery_bucket,
        unnest($bucket_orders) AS bucket_order,
        unnest($bucket_lows) AS low
),
bounds AS (
    SELECT *, lead(low) OVER (ORDER BY bucket_order) AS next_low FROM buckets
),
delivered AS (
    SELECT delivery_days, review_score FROM completed WHERE delivery_days IS NOT NULL
),
binned AS (
    -- Bucket by whole days elapsed (floor): 3.9 days is '0-3'. A negative duration (bad clock)
    -- falls in the first bucket rather than nowhere.
    SELECT b.bucket_order, d.review_score
    FROM delivered d
    JOIN bounds b
      ON (floor(d.delivery_days) >= b.low OR b.bucket_order = 1)
     AND (floor(d.delivery_days) < b.next_low OR b.next_low IS NULL)
),
per_bucket AS (
    -- orders: every delivered order in the bucket; the average skips orders without a review.
    SELECT bucket_order, count(*) AS orders, avg(review_score) AS avg_review_score
    FROM binned
    GROUP BY bucket_order
),
pairs AS (
    -- x in whole milliseconds, so every sum below is an exact HUGEINT (DuckDB's corr() adds
    -- DOUBLEs in thread order: the last digits moved between runs of the same input).
    SELECT round(delivery_days * 86400000)::HUGEINT AS x, review_score::HUGEINT AS y
    FROM delivered WHERE review_score IS NOT NULL
),
sums AS (
    SELECT count(*)::HUGEINT AS n, sum(x) AS sx, sum(y) AS sy,
           sum(x * y) AS sxy, sum(x * x) AS sxx, sum(y * y) AS syy
    FROM pairs
),
moments AS (
    -- n^2 times the covariance and the variances, exactly (no cancellation error; a variance of
    -- 0 is exactly 0). Milliseconds keep n * sum(x * x) within HUGEINT at millions of orders.
    SELECT n * sxy - sx * sy AS cov, n * sxx - sx * sx AS vx, n * syy - sy * sy AS vy FROM sums
),
correlation AS (
    -- Pearson over orders with both values, on fractional days (the unit cancels out);
    -- undefined (fewer than two orders, no variance) -> NULL.
    SELECT cov::DOUBLE / nullif(sqrt(vx::DOUBLE * vy::DOUBLE), 0) AS r FROM moments
)
SELECT
    b.delivery_bucket,
    b.bucket_order,
    coalesce(p.orders, 0) AS orders,
    p.avg_review_score,
    CASE WHEN isnan(c.r) THEN NULL ELSE c.r END AS correlation
FROM bounds b
LEFT JOIN per_bucket p USING (bucket_order)
CROSS JOIN correlation c
ORDER BY b.bucket_order

"""The appendix: the metric definitions of METRICS.md, with the thresholds in force."""

from __future__ import annotations

from goodpulse_dagster.transforms.params import MetricParams


def metric_definitions(p: MetricParams | None = None) -> list[tuple[str, str]]:
    """(term, definition) pairs of METRICS.md, with the thresholds in force."""
    p = p or MetricParams()
    q20, q80, q95 = (f"p{round(q * 100):d}" for q in p.value_quantiles)
    d1, d2, d3 = p.lifecycle_days
    statuses = ", ".join(p.completed_statuses)
    return [
        ("Customer", "A person (customer_unique_id); customer_id is per order."),
        (
            "Completed order",
            f"Order status in ({statuses}). Every customer, revenue and retention figure counts "
            "completed orders only.",
        ),
        (
            "Order revenue",
            "Sum of payment_value over the order's payments; without payments, sum of price + "
            "freight_value over its items.",
        ),
        ("Purchase time", "order_purchase_timestamp; an order's month and quarter are its own."),
        ("as_of", "Date of the latest purchase among all orders (any status), unless configured."),
        ("Review score", "Score of the order's latest review by answer time (ties: higher score)."),
        ("Delivery days", "Delivered-to-customer date minus purchase time, in fractional days."),
        (
            "Frequency tier",
            f"One-time: 1 completed order; Regular: {p.regular_min_orders} to "
            f"{p.power_user_min_orders - 1}; Power User: {p.power_user_min_orders} or more.",
        ),
        (
            "Value segment",
            f"By lifetime revenue against its {q20}, {q80} and {q95} over all customers: Low Value "
            f"< {q20} <= Medium Value < {q80} <= High Value < {q95} <= VIP.",
        ),
        (
            "Lifecycle stage",
            f"By days since the last completed order: Active <= {d1} < Warm <= {d2} < At Risk "
            f"<= {d3} < Dormant.",
        ),
        ("Segment", "lifecycle stage | value segment | frequency tier."),
        (
            "Acquisition channel",
            "Origin of the marketing lead that became the seller of the first item of the "
            "customer's first completed order; 'unattributed' when that seller did not come "
            "through the funnel, 'unknown' when the origin is empty.",
        ),
        ("AOV", "Revenue / completed orders."),
        ("Repeat rate", f"Customers with {p.regular_min_orders}+ completed orders / customers."),
        (
            "Complete period",
            "A month or quarter the data covers from its first to its last day: it starts on or "
            "after the first purchase date of a completed order and ends on or before the last "
            "one (cut at as_of). Partial periods are shown marked and left out of means, trends "
            "and KPI 1.",
        ),
        (
            "Period-1 retention (KPI 1)",
            "Per grain (quarter, month): customers of a cohort (period of first completed order) "
            "with a completed order in the next period, pooled over the cohorts whose next "
            "period is complete: sum of index-1 active / sum of cohort sizes.",
        ),
        (
            "Repeat funnel (KPI 2)",
            f"Customers with 1+, {p.regular_min_orders}+ and {p.power_user_min_orders}+ completed "
            "orders, and the conversions between the steps.",
        ),
        ("Active revenue share (KPI 3)", "Lifetime revenue of Active customers / all revenue."),
        (
            "Revenue concentration (KPI 4)",
            "Each value segment's share of customers and share of revenue.",
        ),
        (
            "Top-N city share",
            f"Revenue share of the N largest cities by revenue (N = {p.top_n_cities} by default).",
        ),
        (
            "Delivery vs review",
            "Average review score per delivery-days bucket, and the order-level Pearson "
            "correlation of delivery days and review score.",
        ),
        ("On-time rate", "Delivered on or before the estimated date / delivered orders."),
        ("Cancellation rate", "Canceled orders / all orders."),
    ]

"""The appendix: the metric definitions of METRICS.md, with the thresholds in force.

A term that is a column of a table takes that column's meaning from the table spec (schema/), so
the report, the UI and docs/metrics.md say the same thing; the others are definitions of METRICS.md
that no single column holds.
"""

from __future__ import annotations

from goodpulse_dagster import schema
from goodpulse_dagster.params import MetricParams

# Appendix term -> (layer, table, column) whose meaning it is.
SPEC_TERMS: dict[str, tuple[str, str, str]] = {
    "Frequency tier": (schema.GOLD, "customer_360", "frequency_tier"),
    "Value segment": (schema.GOLD, "customer_360", "value_segment"),
    "Lifecycle stage": (schema.GOLD, "customer_360", "lifecycle_stage"),
    "Repeat rate": (schema.KPI, "northstar", "repeat_rate"),
    "Cancellation rate": (schema.KPI, "northstar", "cancellation_rate"),
}


def spec_meaning(term: str, p: MetricParams) -> str:
    layer, table, column = SPEC_TERMS[term]
    return schema.table_spec(layer, table).column(column).describe(schema.setting_values(p))


def metric_definitions(p: MetricParams | None = None) -> list[tuple[str, str]]:
    """(term, definition) pairs of METRICS.md, with the thresholds in force."""
    p = p or MetricParams()
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
        ("Frequency tier", spec_meaning("Frequency tier", p)),
        ("Value segment", spec_meaning("Value segment", p)),
        ("Lifecycle stage", spec_meaning("Lifecycle stage", p)),
        ("Segment", "lifecycle stage | value segment | frequency tier."),
        (
            "Acquisition channel",
            "Origin of the marketing lead that became the seller of the first item of the "
            "customer's first completed order; 'unattributed' when that seller did not come "
            "through the funnel, 'unknown' when the origin is empty.",
        ),
        ("AOV", "Revenue / completed orders."),
        ("Repeat rate", spec_meaning("Repeat rate", p)),
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
        ("Cancellation rate", spec_meaning("Cancellation rate", p)),
    ]

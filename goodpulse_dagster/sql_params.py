"""The named ``$parameters`` of the SQL models: ``MetricParams`` and ``schema`` labels -> a dict.

Every threshold and category label a model uses is bound from here (none is written into the SQL
text); the engine passes a model only the parameters it names. Gold, KPI and prediction
transforms all bind through this module, so a label has one Python name and one SQL name.
"""

from __future__ import annotations

from goodpulse_dagster import schema
from goodpulse_dagster.params import MetricParams

# RFM scores run 1..5: NTILE(5) for recency and monetary value, least(total_orders, 5) for
# frequency. This is the scale of the score, not a business threshold.
RFM_SCALE = 5

# Acquisition labels for customers the marketing funnel cannot explain.
UNKNOWN_CHANNEL = "unknown"  # seller came from the funnel, but its origin / lead type is empty
UNATTRIBUTED_CHANNEL = "unattributed"  # seller (or first item) is not in closed_deals at all

SEGMENT_LABEL_SEPARATOR = " | "

# Cohort grains, in output order, with their length in months.
COHORT_GRAINS: dict[str, int] = {"quarter": 3, "month": 1}


def label_params() -> dict[str, object]:
    """Named SQL parameters for category labels and orders (from ``schema``), no thresholds."""
    one_time, regular, power_user = schema.FREQUENCY_TIERS
    low_value, medium_value, high_value, vip = schema.VALUE_SEGMENTS
    active, warm, at_risk, dormant = schema.LIFECYCLE_STAGES
    return {
        "one_time": one_time,
        "regular": regular,
        "power_user": power_user,
        "low_value": low_value,
        "medium_value": medium_value,
        "high_value": high_value,
        "vip": vip,
        "active": active,
        "warm": warm,
        "at_risk": at_risk,
        "dormant": dormant,
        "frequency_tiers": list(schema.FREQUENCY_TIERS),
        "value_segments": list(schema.VALUE_SEGMENTS),
        "lifecycle_stages": list(schema.LIFECYCLE_STAGES),
        "unknown": UNKNOWN_CHANNEL,
        "unattributed": UNATTRIBUTED_CHANNEL,
        "label_separator": SEGMENT_LABEL_SEPARATOR,
        "grain_names": list(COHORT_GRAINS),
        "grain_months": list(COHORT_GRAINS.values()),
        "rfm_scale": RFM_SCALE,
    }


def metric_sql_params(params: MetricParams) -> dict[str, object]:
    """Every label and threshold a model may use; the engine passes a model those it names."""
    active_days, warm_days, at_risk_days = params.lifecycle_days
    return {
        **label_params(),
        "completed_statuses": list(params.completed_statuses),
        "regular_min_orders": params.regular_min_orders,
        "power_user_min_orders": params.power_user_min_orders,
        "value_quantiles": list(params.value_quantiles),
        "active_days": active_days,
        "warm_days": warm_days,
        "at_risk_days": at_risk_days,
        "top_n_cities": params.top_n_cities,
    }


def span_sql_params(params: MetricParams) -> dict[str, object]:
    """The named parameter of ``models/_shared/data_span.sql``: the explicit as_of, or NULL."""
    return {"as_of": params.as_of}

"""KPI transforms: gold customer tables -> the ``kpi`` schema of METRICS.md.

One ``build_<table>`` per table of ``schema.KPI_TABLES``, each taking only the inputs it needs
(``customer_360``, the silver ``lifecycle``, ``cohort_retention``, ``params``) and returning a
pandas DataFrame with exactly the spec's columns, in order, typed as described in ``gold``. The
SQL of each table is its model file, ``models/kpi/<table>.sql``; a builder binds the parameters
and runs it.

Conventions shared by every table:

* Shares are of the grand total of the table's population (all customers / all revenue); a
  share, rate or average whose denominator is 0 is NULL (NaN), never an error.
* Category tables list every category of ``schema`` (frequency tiers, value segments, lifecycle
  stages, delivery buckets) in schema order, an empty one with 0 customers, so the shape is stable.
* A single-valued headline repeats on every row (``mean_monthly_revenue``, ``correlation``,
  ``top_n_revenue_share``) or sits in a headline row (``period1_retention``), as the spec says.

``headline_metrics`` picks the numbers a KPI materialization shows as Dagster metadata.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date

import pandas as pd

from goodpulse_dagster import schema
from goodpulse_dagster.engine import Input as Frame
from goodpulse_dagster.engine import run_model, to_pandas
from goodpulse_dagster.gold.as_of import compute_as_of
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.sql_params import (
    UNATTRIBUTED_CHANNEL,
    label_params,
    metric_sql_params,
    span_sql_params,
)

# cancellation_rate counts this order status (a status name, not a threshold).
CANCELED_STATUS = "canceled"


def delivery_bucket_lows() -> list[int]:
    """Lower bounds (whole days) of ``schema.DELIVERY_BUCKETS``: '0-3' -> 0, ..., '31+' -> 31."""
    return [int(label.split("-")[0].rstrip("+")) for label in schema.DELIVERY_BUCKETS]


# --- The builders: bind the parameters, run the table's model (models/kpi/<table>.sql) ----------


def _run(table: str, inputs: dict[str, Frame], params: dict[str, object]) -> pd.DataFrame:
    """Run ``models/kpi/<table>.sql`` over ``inputs``, shaped as the table's declared columns."""
    return to_pandas(run_model(f"kpi/{table}", inputs, params, schema.KPI_TABLES[table]))


# The parameters each KPI model binds, from the analytics settings and the run's as_of: the one
# place both engines read them (these builders, and spark/layers.py's Spark build).
SqlParams = Callable[[MetricParams, date | None], dict[str, object]]


def _labels(params: MetricParams, as_of: date | None) -> dict[str, object]:
    return label_params()


def _metrics(params: MetricParams, as_of: date | None) -> dict[str, object]:
    return metric_sql_params(params)


KPI_SQL_PARAMS: dict[str, SqlParams] = {
    "northstar": lambda params, as_of: {
        **metric_sql_params(params),
        "as_of": as_of,
        "canceled_status": CANCELED_STATUS,
    },
    "frequency_distribution": _labels,
    "value_concentration": _labels,
    "recency_value_pivot": _labels,
    "lifecycle_revenue": _labels,
    "repeat_funnel": _metrics,
    "period1_retention": _labels,
    "monthly_revenue": lambda params, as_of: {
        **metric_sql_params(params),
        **span_sql_params(params),
    },
    "delivery_vs_review": lambda params, as_of: {
        **metric_sql_params(params),
        "bucket_labels": list(schema.DELIVERY_BUCKETS),
        "bucket_orders": list(range(1, len(schema.DELIVERY_BUCKETS) + 1)),
        "bucket_lows": delivery_bucket_lows(),
    },
    "channel_revenue": _labels,
    "city_concentration": _metrics,
    "health_by_value": _labels,
}


def kpi_sql_params(
    name: str, params: MetricParams | None = None, as_of: date | None = None
) -> dict[str, object]:
    """The parameters ``models/kpi/<name>.sql`` binds (``KPI_SQL_PARAMS``)."""
    return KPI_SQL_PARAMS[name](params or MetricParams(), as_of)


def _build(name: str, inputs: dict[str, Frame], params: MetricParams | None = None):
    return _run(name, inputs, kpi_sql_params(name, params))


def build_frequency_distribution(customer_360: Frame) -> pd.DataFrame:
    """``kpi.frequency_distribution``: per frequency_tier."""
    return _build("frequency_distribution", {"customer_360": customer_360})


def build_value_concentration(customer_360: Frame) -> pd.DataFrame:
    """``kpi.value_concentration`` (KPI 4, monetization): per value_segment."""
    return _build("value_concentration", {"customer_360": customer_360})


def build_lifecycle_revenue(customer_360: Frame) -> pd.DataFrame:
    """``kpi.lifecycle_revenue`` (KPI 3): per lifecycle_stage; the Active share is the headline."""
    return _build("lifecycle_revenue", {"customer_360": customer_360})


def build_recency_value_pivot(customer_360: Frame) -> pd.DataFrame:
    """``kpi.recency_value_pivot``: customers and revenue per (value_segment, lifecycle_stage)."""
    return _build("recency_value_pivot", {"customer_360": customer_360})


def build_health_by_value(customer_360: Frame) -> pd.DataFrame:
    """``kpi.health_by_value``: customers per (value_segment, lifecycle_stage) and their share
    within the value segment (NULL for an empty segment)."""
    return _build("health_by_value", {"customer_360": customer_360})


def build_northstar(customer_360: Frame, lifecycle: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.northstar``: the one-row headline."""
    sql_params = kpi_sql_params("northstar", params, compute_as_of(lifecycle, params))
    return _run("northstar", {"customer_360": customer_360, "lifecycle": lifecycle}, sql_params)


def build_repeat_funnel(customer_360: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.repeat_funnel`` (KPI 2): one row."""
    return _build("repeat_funnel", {"customer_360": customer_360}, params)


def build_period1_retention(cohort_retention: Frame) -> pd.DataFrame:
    """``kpi.period1_retention`` (KPI 1): per-cohort index-1 retention plus a headline per grain
    pooled over the cohorts whose period 1 is complete."""
    return _build("period1_retention", {"cohort_retention": cohort_retention})


def build_monthly_revenue(lifecycle: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.monthly_revenue``: completed orders per purchase month, ``is_complete`` when the data
    covers the whole month; ``mean_monthly_revenue`` averages the complete months."""
    return _build("monthly_revenue", {"lifecycle": lifecycle}, params)


def build_delivery_vs_review(lifecycle: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.delivery_vs_review``: completed, delivered orders per delivery-days bucket."""
    return _build("delivery_vs_review", {"lifecycle": lifecycle}, params)


def build_channel_revenue(customer_360: Frame) -> pd.DataFrame:
    """``kpi.channel_revenue``: per acquisition_channel, and per channel x value_segment."""
    return _build("channel_revenue", {"customer_360": customer_360})


def build_city_concentration(customer_360: Frame, params: MetricParams) -> pd.DataFrame:
    """``kpi.city_concentration``: per (customer_city, customer_state), ranked by revenue."""
    return _build("city_concentration", {"customer_360": customer_360}, params)


# --- Wiring conveniences -----------------------------------------------------------------------

KPI_BUILDERS: dict[str, Callable[..., pd.DataFrame]] = {
    "northstar": build_northstar,
    "frequency_distribution": build_frequency_distribution,
    "value_concentration": build_value_concentration,
    "recency_value_pivot": build_recency_value_pivot,
    "lifecycle_revenue": build_lifecycle_revenue,
    "repeat_funnel": build_repeat_funnel,
    "period1_retention": build_period1_retention,
    "monthly_revenue": build_monthly_revenue,
    "delivery_vs_review": build_delivery_vs_review,
    "channel_revenue": build_channel_revenue,
    "city_concentration": build_city_concentration,
    "health_by_value": build_health_by_value,
}

# The customer_360 columns the KPI queries read: the KPI step loads only these (the whole table,
# 27 columns, took 0.33 s at 1M customers).
KPI_CUSTOMER_360_COLUMNS = (
    "total_orders",
    "lifetime_revenue",
    "customer_city",
    "customer_state",
    "acquisition_channel",
    "is_repeat",
    "frequency_tier",
    "value_segment",
    "lifecycle_stage",
)

# The inputs each builder takes, by parameter name, in call order.
KPI_INPUTS: dict[str, tuple[str, ...]] = {
    "northstar": ("customer_360", "lifecycle", "params"),
    "frequency_distribution": ("customer_360",),
    "value_concentration": ("customer_360",),
    "recency_value_pivot": ("customer_360",),
    "lifecycle_revenue": ("customer_360",),
    "repeat_funnel": ("customer_360", "params"),
    "period1_retention": ("cohort_retention",),
    "monthly_revenue": ("lifecycle", "params"),
    "delivery_vs_review": ("lifecycle", "params"),
    "channel_revenue": ("customer_360",),
    "city_concentration": ("customer_360", "params"),
    "health_by_value": ("customer_360",),
}


def build_kpi(name: str, **inputs: object) -> pd.DataFrame:
    """Build one KPI table, picking its inputs (``KPI_INPUTS[name]``) from keyword arguments."""
    missing = [arg for arg in KPI_INPUTS[name] if arg not in inputs]
    if missing:
        raise TypeError(f"kpi {name!r} needs {missing}")
    return KPI_BUILDERS[name](*(inputs[arg] for arg in KPI_INPUTS[name]))


def build_all_kpis(
    customer_360: Frame, lifecycle: Frame, cohort_retention: Frame, params: MetricParams
) -> dict[str, pd.DataFrame]:
    """Every KPI table, by name, in ``schema.KPI_TABLES`` order."""
    inputs = {
        "customer_360": customer_360,
        "lifecycle": lifecycle,
        "cohort_retention": cohort_retention,
        "params": params,
    }
    return {name: build_kpi(name, **inputs) for name in schema.KPI_TABLES}


# --- Headline metrics ----------------------------------------------------------------------------


def _slug(label: object) -> str:
    """'Power User' -> 'power_user', '0-3' -> '0_3', '31+' -> '31_plus'."""
    text = str(label).lower().replace("+", "_plus")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _num(value: object) -> float:
    """A metadata float: NULL/NaN become NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    return float(value)  # type: ignore[arg-type]


def _per_category(df: pd.DataFrame, key: str, columns: tuple[str, ...]) -> dict[str, float]:
    return {
        f"{_slug(row[key])}_{col}": _num(row[col]) for _, row in df.iterrows() for col in columns
    }


def _northstar_headline(df: pd.DataFrame) -> dict[str, float]:
    if df.empty:
        return {}
    row = df.iloc[0]
    return {col: _num(row[col]) for col in df.columns if col != "as_of"}


def _value_concentration_headline(df: pd.DataFrame) -> dict[str, float]:
    out = _per_category(df, "value_segment", ("revenue_share", "customer_share"))
    _, _, high_value, vip = schema.VALUE_SEGMENTS
    top = df[df["value_segment"].isin([high_value, vip])]
    out["high_value_and_vip_revenue_share"] = _num(top["revenue_share"].sum(min_count=1))
    return out


def _recency_value_headline(df: pd.DataFrame) -> dict[str, float]:
    _, _, high_value, vip = schema.VALUE_SEGMENTS
    _, _, at_risk, dormant = schema.LIFECYCLE_STAGES
    slipping = df["value_segment"].isin([high_value, vip]) & df["lifecycle_stage"].isin(
        [at_risk, dormant]
    )
    return {
        "customers": _num(df["customers"].sum()),
        "revenue": _num(df["revenue"].sum()),
        # Lifetime revenue of High Value / VIP customers who are At Risk or Dormant.
        "high_value_revenue_at_risk_or_dormant": _num(df.loc[slipping, "revenue"].sum()),
    }


def _period1_headline(df: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for _, row in df[df["is_headline"]].iterrows():
        out[f"{row['grain']}_period1_retention"] = _num(row["period1_retention"])
        # The cohorts the headline pools (period 1 complete), not every cohort with an index 1.
        out[f"{row['grain']}_cohorts"] = float(
            (~df["is_headline"] & df["is_complete"] & (df["grain"] == row["grain"])).sum()
        )
    return out


def _monthly_revenue_headline(df: pd.DataFrame) -> dict[str, float]:
    return {
        "mean_monthly_revenue": _num(df["mean_monthly_revenue"].iloc[0]) if len(df) else math.nan,
        "months": float(len(df)),
        "complete_months": float(df["is_complete"].sum()),
        "total_revenue": _num(df["revenue"].sum()),
    }


def _delivery_vs_review_headline(df: pd.DataFrame) -> dict[str, float]:
    out = {
        "correlation": _num(df["correlation"].iloc[0]) if len(df) else math.nan,
        "delivered_orders": _num(df["orders"].sum()),
    }
    out.update(
        {
            f"avg_review_score_{_slug(row['delivery_bucket'])}": _num(row["avg_review_score"])
            for _, row in df.iterrows()
        }
    )
    return out


def _channel_revenue_headline(df: pd.DataFrame) -> dict[str, float]:
    totals = df[df["value_segment"].isna()]
    out = _per_category(totals, "acquisition_channel", ("revenue_share",))
    attributed = totals["acquisition_channel"] != UNATTRIBUTED_CHANNEL
    out["attributed_revenue_share"] = _num(totals.loc[attributed, "revenue_share"].sum(min_count=1))
    out["channels"] = float(len(totals))
    return out


def _city_concentration_headline(df: pd.DataFrame) -> dict[str, float]:
    return {
        "top_n_revenue_share": _num(df["top_n_revenue_share"].iloc[0]) if len(df) else math.nan,
        "top_n_cities": float(df["is_top_n"].sum()),
        "cities": float(len(df)),
    }


def _health_by_value_headline(df: pd.DataFrame) -> dict[str, float]:
    active = schema.LIFECYCLE_STAGES[0]
    rows = df[df["lifecycle_stage"] == active]
    return {
        f"{_slug(row['value_segment'])}_active_share": _num(row["share_within_segment"])
        for _, row in rows.iterrows()
    }


_HEADLINES: dict[str, Callable[[pd.DataFrame], dict[str, float]]] = {
    "northstar": _northstar_headline,
    "frequency_distribution": lambda df: _per_category(
        df, "frequency_tier", ("customer_share", "revenue_share")
    ),
    "value_concentration": _value_concentration_headline,
    "recency_value_pivot": _recency_value_headline,
    "lifecycle_revenue": lambda df: _per_category(
        df, "lifecycle_stage", ("revenue_share", "customer_share")
    ),
    "repeat_funnel": _northstar_headline,  # the single row, every column
    "period1_retention": _period1_headline,
    "monthly_revenue": _monthly_revenue_headline,
    "delivery_vs_review": _delivery_vs_review_headline,
    "channel_revenue": _channel_revenue_headline,
    "city_concentration": _city_concentration_headline,
    "health_by_value": _health_by_value_headline,
}


def headline_metrics(table_name: str, df: pd.DataFrame) -> dict[str, float]:
    """The numbers a KPI materialization shows as metadata (NULL values as NaN).

    Keys are snake_case, e.g. ``active_revenue_share`` for lifecycle_revenue (KPI 3's headline),
    ``quarter_period1_retention`` (KPI 1), ``top_n_revenue_share``, ``correlation``.
    """
    if table_name not in _HEADLINES:
        raise KeyError(f"no headline metrics for {table_name!r}; known: {sorted(_HEADLINES)}")
    return _HEADLINES[table_name](df)

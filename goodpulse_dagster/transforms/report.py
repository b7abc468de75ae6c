"""The GoodPulse executive report: KPI and gold tables in, one HTML page and its Markdown twin out.

Pure rendering, no Dagster imports: ``build_report`` takes DataFrames keyed by table name (the
columns of ``schema.py``) and returns a ``Report`` with

* ``html``: one self-contained page (inline CSS, charts as base64 SVG data URIs, no script, no
  external URL: it opens offline, in a mail client or from an S3 bucket, and fetches nothing);
* ``markdown``: the same sections and tables, charts as data-URI images;
* ``findings`` / ``recommendations``: sentences written from the data; every number they quote is
  read from the tables and recorded by name in ``numbers``, and the recommendations are chosen by
  rules on those numbers (``Thresholds``), so nothing is fixed text with numbers baked in. A rule
  that singles a group out fires only when the group stands apart by a margin
  (``settings.ReportMargins``); otherwise the finding says it does not stand out;
* period series (monthly revenue, cohorts) use their ``is_complete`` flag (one SQL definition,
  ``gold.period_is_complete_sql``): partial first and last periods are drawn marked and left out
  of means, trends and the period-1 headline.

Both documents are rendered from one list of sections made of small blocks (text, tiles, tables,
figures, lists, panels), so the HTML and the Markdown cannot drift apart. ``kpi_chart_markdown``
gives the chart of a single KPI table for that asset's metadata in the Dagster UI.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from goodpulse_dagster import schema
from goodpulse_dagster.settings import ReportMargins
from goodpulse_dagster.transforms import charts, report_predictions
from goodpulse_dagster.transforms.params import MetricParams

# --- names and constants: the one place ---------------------------------------------------------

DEFAULT_TITLE = "GoodPulse executive report"
HTML_FILE = "goodpulse_report.html"
MARKDOWN_FILE = "goodpulse_report.md"
REPORT_FILE_MODE = 0o644
CURRENCY = charts.CURRENCY

# The tables build_report reads, with the columns it expects (exactly those of schema.py).
GOLD_INPUTS = ("customer_segmentation", "cohort_retention")
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    **schema.KPI_TABLES,
    **schema.PREDICTION_KPI_TABLES,
    **{name: schema.GOLD_TABLES[name] for name in GOLD_INPUTS},
}
REPORT_TABLES = tuple(TABLE_COLUMNS)

# Section anchors and headings, in page order. Findings come right after the headline tiles:
# an executive reads the conclusions first and the evidence after.
SECTIONS: dict[str, str] = {
    "northstar": "Northstar metrics",
    "findings": "Findings and recommended actions",
    "frequency": "Customers by frequency tier",
    "value": "Revenue per customer by value segment",
    "recency-value": "Recency × value",
    "monthly": "Monthly revenue trend",
    "delivery": "Delivery days vs review score",
    "segments": "Segments and acquisition channels",
    "cohorts": "Cohort retention",
    "channels": "Revenue by acquisition channel",
    "lifecycle": "Lifecycle revenue distribution",
    "kpis": "KPI panels",
    "geography": "City concentration",
    "health": "Customer health by value segment",
    "predictions": report_predictions.SECTION_TITLE,
    "appendix": "Appendix: metric definitions",
}

# Acquisition channels that do not name a marketing channel (METRICS.md).
NON_MARKETING_CHANNELS = ("unattributed", "unknown")
HIGH_VALUE_SEGMENTS = ("High Value", "VIP")
LAPSED_STAGES = ("At Risk", "Dormant")
HIGH_VALUE_SEGMENT = "High Value"
ACTIVE_STAGE = "Active"
ONE_TIME_TIER = "One-time"
VIP_SEGMENT = "VIP"
TOP_SEGMENTS_TABLE = 10  # rows in the top-segments table (the chart shows charts.TOP_SEGMENTS)

NO_DATA = "No data"


@dataclass(frozen=True)
class Thresholds:
    """Rules that pick the recommended actions. Shares are fractions (0.9 = 90%)."""

    # One-time customer share above which a second-purchase program is recommended ...
    second_purchase_program: float = 0.90
    # ... and above which lighter repeat-purchase nudges are (below it repeat buying is healthy).
    repeat_nudges: float = 0.70
    # Quarterly period-1 retention below which an onboarding journey is recommended.
    low_period1_retention: float = 0.05
    # Active revenue share below which a win-back campaign is recommended.
    low_active_revenue_share: float = 0.25
    # (Re-activating high-value customers first and a VIP care tier are decided by margins
    # against the other groups: settings.ReportMargins.)
    # Delivery-days/review-score correlation at or below which delivery targets are recommended.
    delivery_correlation: float = -0.20
    # On-time rate below which delivery reliability is recommended (when correlation is weak).
    low_on_time_rate: float = 0.90
    # Top-N city revenue share at or above which city-focused retention is recommended.
    city_concentration: float = 0.30
    # Attributed (marketing-funnel) revenue share below which seller recruitment is recommended.
    low_attributed_share: float = 0.20


THRESHOLDS = Thresholds()


# --- public data classes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """One rendered chart: an SVG document (transforms/charts.py) and what it shows."""

    key: str
    title: str
    svg: str
    table: str = ""  # the table it is drawn from
    width: int = 0  # pixels
    height: int = 0

    @property
    def data_uri(self) -> str:
        """The SVG as a base64 data URI: an ``<img>`` source in the HTML, a Markdown image in the
        Dagster UI (whose sanitizer allows data: images). Base64 rather than percent-encoding:
        the SVG's quotes, # and < need no escaping in either host."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode("ascii")

    def markdown(self) -> str:
        """The chart as a Markdown image with an embedded data URI."""
        return f"![{_md_alt(self.title)}]({self.data_uri})"

    def html(self) -> str:
        return (
            f'<figure><img src="{self.data_uri}" alt="{_esc(self.title)}" width="{self.width}"'
            f' height="{self.height}" loading="eager"></figure>'
        )


@dataclass
class Report:
    """The rendered report. Shares in ``numbers`` are fractions (0.123 = 12.3%)."""

    html: str
    markdown: str
    charts: list[Chart]
    findings: list[str]  # the sentences of the Findings list
    numbers: dict[str, float]  # every number quoted in findings and recommendations, by name
    recommendations: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # section headings, in order
    title: str = DEFAULT_TITLE
    generated_at: datetime | None = None
    as_of: date | None = None

    def chart(self, key: str) -> Chart | None:
        """The chart with ``key``, or None when it was not drawn (its table had no data)."""
        if key not in CHART_SPECS:
            raise KeyError(f"unknown chart key {key!r}; known: {sorted(CHART_SPECS)}")
        return next((c for c in self.charts if c.key == key), None)

    def chart_markdown(self, keys: str | Iterable[str]) -> str:
        """Markdown with the charts ``keys`` embedded as data-URI images (for Dagster UI metadata).

        Charts that were not drawn for lack of data are left out; an unknown key is an error.
        """
        keys = [keys] if isinstance(keys, str) else list(keys)
        found = [c for c in (self.chart(k) for k in keys) if c is not None]
        return "\n\n".join(f"**{_md_text(c.title)}**\n\n{c.markdown()}" for c in found)


# --- chart registry --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    table: str
    render: Callable[[pd.DataFrame], str | None]  # the SVG, or None when nothing to draw
    in_report: bool = True  # False: only for the KPI asset's metadata


CHART_SPECS: dict[str, ChartSpec] = {
    s.key: s
    for s in (
        ChartSpec(
            "frequency_tiers",
            "Customers by frequency tier",
            "frequency_distribution",
            charts.frequency_tier_chart,
        ),
        ChartSpec(
            "value_segment_rpc",
            "Revenue per customer by value segment",
            "value_concentration",
            charts.value_segment_rpc_chart,
        ),
        ChartSpec(
            "recency_value",
            "Revenue by value segment and lifecycle stage",
            "recency_value_pivot",
            charts.recency_value_heatmap,
            in_report=False,  # the report shows the pivot as heat-shaded tables instead
        ),
        ChartSpec(
            "monthly_revenue", "Monthly revenue", "monthly_revenue", charts.monthly_revenue_chart
        ),
        ChartSpec(
            "delivery_review",
            "Review score by delivery time",
            "delivery_vs_review",
            charts.delivery_review_chart,
        ),
        ChartSpec(
            "top_segments",
            "Top segments by customers",
            "customer_segmentation",
            charts.top_segments_chart,
        ),
        ChartSpec(
            "channel_value",
            "Revenue by acquisition channel and value segment",
            "channel_revenue",
            charts.channel_value_chart,
        ),
        ChartSpec(
            "cohort_quarter",
            "Quarterly cohort retention",
            "cohort_retention",
            charts.cohort_quarter_chart,
        ),
        ChartSpec(
            "cohort_month",
            "Monthly cohort retention",
            "cohort_retention",
            charts.cohort_month_chart,
        ),
        ChartSpec(
            "channel_revenue",
            "Revenue by acquisition channel",
            "channel_revenue",
            charts.channel_revenue_chart,
        ),
        ChartSpec(
            "lifecycle_revenue",
            "Revenue and customers by lifecycle stage",
            "lifecycle_revenue",
            charts.lifecycle_revenue_chart,
        ),
        ChartSpec(
            "period1_retention",
            "Period-1 retention by cohort",
            "period1_retention",
            charts.period1_retention_chart,
        ),
        ChartSpec(
            "repeat_funnel",
            "Repeat funnel (log scale)",
            "repeat_funnel",
            charts.repeat_funnel_chart,
        ),
        ChartSpec(
            "value_concentration",
            "Revenue concentration by value segment",
            "value_concentration",
            charts.value_concentration_chart,
        ),
        ChartSpec(
            "city_concentration",
            "Revenue share of the largest cities",
            "city_concentration",
            charts.city_concentration_chart,
        ),
        ChartSpec(
            "health_by_value",
            "Lifecycle stage mix by value segment",
            "health_by_value",
            charts.health_by_value_chart,
        ),
    )
}
REPORT_CHART_KEYS = tuple(k for k, s in CHART_SPECS.items() if s.in_report)


def draw_chart(spec: ChartSpec, df: pd.DataFrame) -> Chart | None:
    """The chart of ``spec`` drawn from its normalised table, or None when it has no data.

    Drawing is cheap (a few milliseconds a chart), so charts are drawn where they are needed and
    not cached: the KPI assets draw theirs for the UI and the report draws its own.
    """
    svg = spec.render(df)
    if svg is None:
        return None
    width, height = charts.svg_size(svg)
    return Chart(spec.key, spec.title, svg, spec.table, width, height)


# --- input normalisation --------------------------------------------------------------------

# Money (DECIMAL) is shown as a float: the report only presents it.
_NUMERIC_TYPES = (schema.BIGINT, schema.INTEGER, schema.DOUBLE, schema.MONEY)
_TEMPORAL_TYPES = (schema.DATE, schema.TIMESTAMP)


def normalise_table(name: str, df: pd.DataFrame | None) -> pd.DataFrame:
    """``df`` with exactly the schema columns of ``name``: numbers as float (NaN for NULL), dates
    as datetime64, booleans as nullable booleans, text as object with None. A missing table
    becomes an empty frame; a table that lacks schema columns is an error (the contract broke).
    """
    cols = TABLE_COLUMNS[name]
    if df is None:
        df = pd.DataFrame(columns=list(cols))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks columns {missing}; schema.py defines {list(cols)}")
    out = df[list(cols)].copy()
    for col, sql_type in cols.items():
        s = out[col]
        if sql_type in _NUMERIC_TYPES:
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif sql_type in _TEMPORAL_TYPES:
            out[col] = pd.to_datetime(s, errors="coerce")
        elif sql_type == "BOOLEAN":
            out[col] = s.astype("boolean")
        else:
            out[col] = s.astype(object).where(s.notna(), None)
    return out.reset_index(drop=True)


def _is_num(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and math.isfinite(float(x))


def _first_number(s: pd.Series) -> float | None:
    """The first finite value of a column (for headline values repeated on every row)."""
    vals = pd.to_numeric(s, errors="coerce").dropna()
    vals = vals[np.isfinite(vals)]
    return float(vals.iloc[0]) if len(vals) else None


def _flag(s: pd.Series) -> pd.Series:
    return s.fillna(False).astype(bool)


def _share(part: float | None, whole: float | None) -> float | None:
    return part / whole if _is_num(part) and _is_num(whole) and whole else None


def _row(df: pd.DataFrame, col: str, value: str) -> pd.Series | None:
    hit = df[df[col] == value]
    return hit.iloc[0] if len(hit) else None


def _col_share(df: pd.DataFrame, row: pd.Series, share_col: str, base_col: str) -> float | None:
    """``row[share_col]`` when present, else ``row[base_col]`` over the column total."""
    value = row[share_col]
    if _is_num(value):
        return float(value)
    return _share(row[base_col], df[base_col].sum())


# --- number formatting (text) ----------------------------------------------------------------

NA = "n/a"


def fmt_int(x: object) -> str:
    return f"{float(x):,.0f}" if _is_num(x) else NA


def fmt_money(x: object, decimals: int = 0) -> str:
    return f"{CURRENCY} {float(x):,.{decimals}f}" if _is_num(x) else NA


def fmt_money_short(x: object) -> str:
    return charts.money_short(float(x)) if _is_num(x) else NA


def fmt_pct(x: object, decimals: int = 1) -> str:
    """A share as a percentage; a positive share that would round to zero is "<0.1%", so a small
    group never reads as an empty one ("0.0% of customers" for 5 Power Users)."""
    if not _is_num(x):
        return NA
    value = float(x) * 100
    step = 10.0**-decimals
    if 0 < value < step / 2:
        return f"<{step:.{decimals}f}%"
    return f"{value:.{decimals}f}%"


def fmt_points(x: object) -> str:
    """A difference of two shares in percentage points, signed: "+5.2 points"."""
    return f"{float(x) * 100:+.1f} points" if _is_num(x) else NA


def fmt_num(x: object, decimals: int = 2) -> str:
    return f"{float(x):.{decimals}f}" if _is_num(x) else NA


def fmt_date(x: object) -> str:
    ts = pd.Timestamp(x) if x is not None and not pd.isna(x) else None
    return ts.strftime("%Y-%m-%d") if ts is not None else NA


def fmt_month(x: object) -> str:
    ts = pd.Timestamp(x) if x is not None and not pd.isna(x) else None
    return ts.strftime("%b %Y") if ts is not None else NA


def fmt_period(x: object, grain: str) -> str:
    """A cohort period as an executive reads it: "Mar 2017" or "Q1 2017"."""
    ts = pd.Timestamp(x) if x is not None and not pd.isna(x) else None
    if ts is None:
        return NA
    return f"Q{(ts.month - 1) // 3 + 1} {ts.year}" if grain == "quarter" else fmt_month(ts)


def _months_list(values: Iterable[object]) -> str:
    return ", ".join(fmt_month(v) for v in values)


# --- findings and recommendations ------------------------------------------------------------


@dataclass
class _Facts:
    """What the findings found: sentences, the numbers they quote, and labels for the rules."""

    findings: list[str] = field(default_factory=list)
    numbers: dict[str, float] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    margins: ReportMargins = field(default_factory=ReportMargins)

    def add(self, sentence: str, **numbers: float) -> None:
        self.findings.append(sentence)
        self.numbers.update({k: float(v) for k, v in numbers.items()})


def _find_one_time(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["frequency_distribution"]
    row = _row(df, "frequency_tier", ONE_TIME_TIER)
    if row is None:
        return
    cs = _col_share(df, row, "customer_share", "customers")
    rs = _col_share(df, row, "revenue_share", "revenue")
    if cs is None or rs is None:
        return
    f.add(
        f"{fmt_pct(cs)} of customers bought once; together they bring {fmt_pct(rs)} of revenue.",
        one_time_customer_share=cs,
        one_time_revenue_share=rs,
    )


def _find_repeat(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["repeat_funnel"]
    if df.empty:
        return
    r = df.iloc[0]
    conv1, conv2, n2 = (
        r["conversion_1_to_2_plus"],
        r["conversion_2_plus_to_5_plus"],
        r["customers_2_plus"],
    )
    if not (_is_num(conv1) and _is_num(n2)):
        return
    noun = "customer" if n2 == 1 else "customers"
    text = f"{fmt_pct(conv1)} of customers placed a second order ({fmt_int(n2)} {noun})"
    nums = {"repeat_conversion": conv1, "repeat_customers": n2}
    if _is_num(conv2):
        text += f", and {fmt_pct(conv2)} of those went on to become Power Users"
        nums["power_user_conversion"] = conv2
    n5, n1 = r["customers_5_plus"], r["customers_1_plus"]
    power_share = _share(n5, n1)
    if power_share is not None and n5 > 0 and power_share < f.margins.min_group_share:
        # A handful of Power Users is not a segment to build a program on: say so.
        text += (
            f"; Power Users are a negligible group ({fmt_int(n5)}, {fmt_pct(power_share)} of "
            f"customers, under {fmt_pct(f.margins.min_group_share)})"
        )
        nums.update(
            power_users=n5,
            power_user_customer_share=power_share,
            min_group_share=f.margins.min_group_share,
        )
    f.add(text + ".", **nums)


def complete_cohorts(df: pd.DataFrame, grain: str) -> pd.DataFrame:
    """The per-cohort rows of kpi.period1_retention that its headline pools (period 1 complete)."""
    rows = df[~_flag(df["is_headline"]) & (df["grain"] == grain) & _flag(df["is_complete"])]
    return rows.dropna(subset=["cohort"]).sort_values("cohort")


def cohort_range(df: pd.DataFrame, grain: str) -> str:
    """ "cohorts Q1 2017 to Q1 2018": the cohorts the period-1 headline of ``grain`` covers."""
    rows = complete_cohorts(df, grain)
    if rows.empty:
        return "no cohort yet"
    first, last = rows["cohort"].iloc[0], rows["cohort"].iloc[-1]
    if first == last:
        return f"the {fmt_period(first, grain)} cohort"
    return f"cohorts {fmt_period(first, grain)} to {fmt_period(last, grain)}"


def _find_period1(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["period1_retention"]
    heads = df[_flag(df["is_headline"])]
    values = {
        g: _first_number(heads.loc[heads["grain"] == g, "period1_retention"])
        for g in ("quarter", "month")
    }
    parts, nums = [], {}
    for grain, phrase in (("quarter", "quarter over quarter"), ("month", "month over month")):
        if values[grain] is not None:
            parts.append(f"{fmt_pct(values[grain])} {phrase} ({cohort_range(df, grain)})")
            nums[f"period1_retention_{grain}"] = values[grain]
            f.labels[f"{grain}_cohorts"] = cohort_range(df, grain)
    if parts:
        # The headline pools complete periods only: a cohort whose next period holds a few days
        # of data would read as churn.
        f.add(
            f"Period-1 retention is {' and '.join(parts)}, counting the cohorts whose next "
            "period the data covers in full.",
            **nums,
        )


def _find_active(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["lifecycle_revenue"]
    row = _row(df, "lifecycle_stage", ACTIVE_STAGE)
    if row is None:
        return
    rs = _col_share(df, row, "revenue_share", "revenue")
    cs = _col_share(df, row, "customer_share", "customers")
    if rs is None or cs is None:
        return
    f.add(
        f"Active customers hold {fmt_pct(rs)} of revenue and make up {fmt_pct(cs)} of the "
        "customer base.",
        active_revenue_share=rs,
        active_customer_share=cs,
    )


def _find_vip(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["value_concentration"]
    row = _row(df, "value_segment", VIP_SEGMENT)
    if row is None:
        return
    cs = _col_share(df, row, "customer_share", "customers")
    rs = _col_share(df, row, "revenue_share", "revenue")
    if cs is None or rs is None:
        return
    # VIPs are the top spenders by definition, so "x times their share of customers" is large by
    # construction. What the cut does not guarantee is how far VIPs sit above the next segment:
    # every VIP out-spends every High Value customer, so the ratio of their revenue per customer
    # is above 1 by construction, and only a ratio of ReportMargins.vip_min_multiple or more
    # sets VIPs apart (docs/metric_decisions.md).
    text = f"VIP customers, the top spenders by definition, are {fmt_pct(cs)} of customers and "
    text += f"generate {fmt_pct(rs)} of revenue"
    nums = {"vip_customer_share": cs, "vip_revenue_share": rs}
    high = _row(df, "value_segment", HIGH_VALUE_SEGMENT)
    vip_rpc = row["revenue_per_customer"]
    high_rpc = high["revenue_per_customer"] if high is not None else None
    if _is_num(vip_rpc) and _is_num(high_rpc) and high_rpc > 0:
        multiple, floor = vip_rpc / high_rpc, f.margins.vip_min_multiple
        nums.update(
            vip_revenue_per_customer=vip_rpc,
            high_value_revenue_per_customer=high_rpc,
            vip_to_high_value_multiple=multiple,
            vip_min_multiple=floor,
        )
        text += (
            f"; a VIP spends {fmt_money(vip_rpc)} on average, {fmt_num(multiple, 2)}x a High Value "
            f"customer ({fmt_money(high_rpc)})"
        )
        if multiple < floor:
            text += (
                f", under the {fmt_num(floor, 2)}x that would set them apart: VIPs do not "
                "stand out beyond what the top-spender cut guarantees"
            )
    f.add(text + ".", **nums)


def _lapsed_share(df: pd.DataFrame) -> float | None:
    return _share(
        df.loc[df["lifecycle_stage"].isin(LAPSED_STAGES), "customers"].sum(), df["customers"].sum()
    )


def _find_health(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["health_by_value"]
    high = df["value_segment"].isin(HIGH_VALUE_SEGMENTS)
    share, others = _lapsed_share(df[high]), _lapsed_share(df[~high])
    if share is None:
        return
    text = f"{fmt_pct(share)} of High Value and VIP customers are At Risk or Dormant"
    nums = {"high_value_lapsed_share": share}
    if others is not None:
        # Lapsing is only a high-value problem when high-value customers lapse more than the
        # others, by at least the margin; otherwise it is everyone's (the win-back rule).
        gap, margin = share - others, f.margins.lapsed_margin
        nums.update(other_lapsed_share=others, lapsed_gap=gap, lapsed_margin=margin)
        text += f", against {fmt_pct(others)} of the other customers ({fmt_points(gap)})"
        if gap < margin:
            text += (
                ": lapsing is no more common among high-value customers than among the others "
                f"(the margin is {margin * 100:.1f} points)"
            )
    f.add(text + ".", **nums)


def _find_cities(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["city_concentration"]
    top = df[_flag(df["is_top_n"])]
    if top.empty:
        return
    n = len(top)
    # The KPI's own headline; recomputed from the rows only if the column is empty.
    share = _first_number(df["top_n_revenue_share"])
    if share is None:
        share = _share(top["revenue"].sum(), df["revenue"].sum())
    cust = _share(top["customers"].sum(), df["customers"].sum())
    if share is None:
        return
    text = f"The top {n} cities generate {fmt_pct(share)} of revenue"
    nums = {"top_n_cities": n, "top_n_cities_revenue_share": share}
    if cust is not None:
        text += f" and hold {fmt_pct(cust)} of customers"
        nums["top_n_cities_customer_share"] = cust
    if cust:
        # Revenue that follows the customer count is where people live, not a richer market:
        # the top cities stand out only when their customers spend more by the margin.
        ratio, margin = share / cust, f.margins.city_rpc_margin
        nums.update(top_n_cities_rpc_ratio=ratio, city_rpc_margin=margin)
        text += f"; their customers spend {fmt_num(ratio, 2)}x the average customer"
        if ratio - 1 < margin:
            text += f", within {fmt_pct(margin)} of it: the top cities do not stand out"
    f.add(text + ".", **nums)


def _find_delivery(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["delivery_vs_review"]
    corr = _first_number(df["correlation"])
    scored = df[np.isfinite(df["avg_review_score"]) & (df["orders"].fillna(0) > 0)]
    scored = scored.sort_values("bucket_order")
    if corr is None and scored.empty:
        return
    nums: dict[str, float] = {}
    parts = []
    if corr is not None:
        parts.append(f"Delivery days and review score correlate at r = {fmt_num(corr)}")
        nums["delivery_review_correlation"] = corr
    if len(scored) >= 2:
        fast, slow = scored.iloc[0], scored.iloc[-1]
        parts.append(
            f"orders delivered in {fast['delivery_bucket']} days average "
            f"{fmt_num(fast['avg_review_score'])} stars versus "
            f"{fmt_num(slow['avg_review_score'])} for {slow['delivery_bucket']} days"
        )
        nums["fastest_bucket_review_score"] = fast["avg_review_score"]
        nums["slowest_bucket_review_score"] = slow["avg_review_score"]
    if parts:
        text = ": ".join(parts)
        f.add(text[0].upper() + text[1:] + ".", **nums)


def _find_service(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["northstar"]
    if df.empty:
        return
    on_time, score = df.iloc[0]["on_time_rate"], df.iloc[0]["avg_review_score"]
    parts, nums = [], {}
    if _is_num(on_time):
        parts.append(f"{fmt_pct(on_time)} of delivered orders arrived by the estimated date")
        nums["on_time_rate"] = on_time
    if _is_num(score):
        parts.append(f"the average review score is {fmt_num(score)}")
        nums["avg_review_score"] = score
    if parts:
        text = ", and ".join(parts)
        f.add(text[0].upper() + text[1:] + ".", **nums)


def _find_channels(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["channel_revenue"]
    totals = df[df["value_segment"].isna()].copy()
    if totals.empty or not _is_num(totals["revenue"].sum()):
        return
    all_revenue = totals["revenue"].sum()
    totals["share"] = [
        _col_share(totals, r, "revenue_share", "revenue") for _, r in totals.iterrows()
    ]
    marketing = totals[~totals["acquisition_channel"].isin(NON_MARKETING_CHANNELS)]
    marketing = marketing[marketing["acquisition_channel"].notna()]
    attributed = float(marketing["share"].fillna(0).sum()) if all_revenue else None
    if attributed is None:
        return
    text = (
        "Customers whose first seller came through the marketing funnel bring "
        f"{fmt_pct(attributed)} of revenue"
    )
    nums = {"attributed_revenue_share": attributed}
    if not marketing.empty and marketing["revenue"].max() > 0:
        best = marketing.sort_values(
            ["revenue", "acquisition_channel"], ascending=[False, True]
        ).iloc[0]
        text += (
            f"; the largest channel, {best['acquisition_channel']}, brings {fmt_pct(best['share'])}"
        )
        nums["top_channel_revenue_share"] = best["share"]
        f.labels["top_channel"] = str(best["acquisition_channel"])
    f.add(text + ".", **nums)


def _find_monthly(t: dict[str, pd.DataFrame], f: _Facts) -> None:
    df = t["monthly_revenue"]
    d = df[np.isfinite(df["revenue"]) & df["month"].notna()].sort_values("month")
    complete = d[_flag(d["is_complete"])]
    partial = d[~_flag(d["is_complete"])]
    if complete.empty:
        if len(partial):
            f.add(
                "No month of the data is complete yet, so there is no monthly average "
                f"(partial: {_months_list(partial['month'])})."
            )
        return
    # Complete months only: a partial first or last month reads as a collapse.
    mean = _first_number(complete["mean_monthly_revenue"])
    if mean is None:
        mean = float(complete["revenue"].mean())
    peak = complete.sort_values(["revenue", "month"], ascending=[False, True]).iloc[0]
    first, last = complete["month"].iloc[0], complete["month"].iloc[-1]
    # kpi.monthly_revenue lists months with a completed order only (docs/metric_decisions.md):
    # name the calendar months in the range that have none, or "23 months (Oct 2016 to Sep
    # 2018)" reads as a miscount of 24.
    start, end = pd.Timestamp(first), pd.Timestamp(last)
    calendar_months = (end.year - start.year) * 12 + end.month - start.month + 1
    empty = calendar_months - len(complete)
    text = (
        f"Monthly revenue averaged {fmt_money(mean)} over {len(complete)} complete months "
        + ("with orders " if empty else "")
        + f"({fmt_month(first)} to {fmt_month(last)}"
        + (f"; {empty} month{'s' if empty > 1 else ''} without a completed order" if empty else "")
        + f") and peaked at {fmt_money(peak['revenue'])} in {fmt_month(peak['month'])}"
    )
    if len(partial):
        text += f"; the partial months ({_months_list(partial['month'])}) are left out"
    f.add(
        text + ".",
        mean_monthly_revenue=mean,
        months=len(complete),
        peak_monthly_revenue=peak["revenue"],
    )


# Order of the findings: retention first (the project's question), then value, then operations.
_FINDERS = (
    _find_one_time,
    _find_repeat,
    _find_period1,
    _find_active,
    _find_vip,
    _find_health,
    _find_cities,
    _find_delivery,
    _find_service,
    _find_channels,
    _find_monthly,
)


def _recommend(facts: _Facts, th: Thresholds) -> list[str]:
    """Recommended actions, chosen by rules on the numbers of the findings (most urgent first)."""
    n, out = facts.numbers, []
    ots = n.get("one_time_customer_share")
    if ots is not None:
        if ots > th.second_purchase_program:
            out.append(
                "Launch a second-purchase program (post-delivery offer, replenishment reminders, "
                f"a first-repeat incentive): {fmt_pct(ots)} of customers have bought only once."
            )
        elif ots > th.repeat_nudges:
            out.append(
                f"Add repeat-purchase nudges after delivery: {fmt_pct(ots)} of customers have "
                "bought only once."
            )
        else:
            conv = n.get("repeat_conversion")
            evidence = (
                f"{fmt_pct(conv)} of customers placed a second order"
                if conv is not None
                else f"{fmt_pct(ots)} of customers bought once"
            )
            out.append(
                f"Repeat buying is healthy ({evidence}): invest in loyalty benefits that move "
                "Regular customers to Power User."
            )
    p1 = n.get("period1_retention_quarter")
    if p1 is not None and p1 < th.low_period1_retention:
        out.append(
            "Build an onboarding journey for the quarter after the first purchase: period-1 "
            f"retention is only {fmt_pct(p1)} ({facts.labels.get('quarter_cohorts', NA)})."
        )
    active = n.get("active_revenue_share")
    if active is not None and active < th.low_active_revenue_share:
        # Both shares: a small Active revenue share with a matching customer share means most
        # customers have stopped buying, not that active customers spend less.
        evidence = f"Active customers hold only {fmt_pct(active)} of revenue"
        if "active_customer_share" in n:
            evidence += f" and are {fmt_pct(n['active_customer_share'])} of customers"
        out.append(f"Run win-back campaigns for At Risk and Dormant customers: {evidence}.")
    lapsed, gap = n.get("high_value_lapsed_share"), n.get("lapsed_gap")
    if lapsed is not None and gap is not None and gap >= facts.margins.lapsed_margin:
        out.append(
            f"Re-activate lapsed high-value customers first: {fmt_pct(lapsed)} of High Value and "
            f"VIP customers are At Risk or Dormant, {fmt_points(gap)} against the other customers."
        )
    multiple = n.get("vip_to_high_value_multiple")
    if multiple is not None and multiple >= facts.margins.vip_min_multiple:
        out.append(
            "Protect VIPs with a care tier (priority delivery, dedicated support): a VIP spends "
            f"{fmt_num(multiple, 2)}x what a High Value customer does."
        )
    corr, on_time = n.get("delivery_review_correlation"), n.get("on_time_rate")
    if corr is not None and corr <= th.delivery_correlation:
        out.append(
            "Hold sellers and carriers to delivery-time targets: review scores fall as delivery "
            f"days rise (r = {fmt_num(corr)})."
        )
    elif on_time is not None and on_time < th.low_on_time_rate:
        out.append(
            f"Improve delivery reliability: only {fmt_pct(on_time)} of delivered orders arrived "
            "by the estimated date."
        )
    top_share, n_top = n.get("top_n_cities_revenue_share"), n.get("top_n_cities")
    ratio = n.get("top_n_cities_rpc_ratio")
    if top_share is not None and n_top is not None:
        if top_share >= th.city_concentration:
            # Concentrated, but a city focus pays only where customers spend more; when revenue
            # just follows the customer count, the finding says the cities do not stand out.
            if ratio is not None and ratio - 1 >= facts.margins.city_rpc_margin:
                out.append(
                    f"Focus retention marketing and fast-delivery offers on the top {n_top:.0f} "
                    f"cities, which generate {fmt_pct(top_share)} of revenue; their customers "
                    f"spend {fmt_num(ratio, 2)}x the average customer."
                )
        else:
            # Under the concentration threshold: the top cities hold too little of the revenue
            # for city campaigns to move it ("geographically spread" overstated 29% in 7 of
            # 1,144 cities, so the sentence only quotes the share).
            text = (
                "Favour national channels over city campaigns: the top "
                f"{n_top:.0f} cities generate only {fmt_pct(top_share)} of revenue"
            )
            if ratio is not None and ratio - 1 < facts.margins.city_rpc_margin:
                text += f", and their customers spend {fmt_num(ratio, 2)}x the average customer"
            out.append(text + ".")
    attributed, best = n.get("attributed_revenue_share"), facts.labels.get("top_channel")
    best_share = n.get("top_channel_revenue_share")
    if attributed is not None and attributed < th.low_attributed_share and best and best_share:
        out.append(
            f"Recruit more sellers through {best}, the strongest marketing channel "
            f"({fmt_pct(best_share)} of revenue): funnel-sourced sellers drive only "
            f"{fmt_pct(attributed)} of revenue."
        )
    return out


def compute_findings(
    tables: dict[str, pd.DataFrame],
    thresholds: Thresholds = THRESHOLDS,
    margins: ReportMargins | None = None,
) -> tuple[list[str], list[str], dict[str, float]]:
    """(findings, recommendations, numbers) from normalised tables."""
    facts = _Facts(margins=margins or ReportMargins())
    for finder in _FINDERS:
        finder(tables, facts)
    return facts.findings, _recommend(facts, thresholds), facts.numbers


# --- metric definitions (appendix), from METRICS.md -----------------------------------------


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


# --- document blocks -----------------------------------------------------------------------------


@dataclass
class _Text:
    text: str
    css: str = ""


@dataclass
class _Tiles:
    items: list[tuple[str, str, str]]  # (label, value, note)


@dataclass
class _Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    heat: list[list[float | None]] | None = None  # per cell 0..1 intensity, None = no shading
    collapsed: str = ""  # HTML: inside <details> with this summary


@dataclass
class _Figure:
    chart: Chart | None
    missing: str = NO_DATA


@dataclass
class _List:
    items: list[str]
    ordered: bool = False
    css: str = ""


@dataclass
class _Panel:
    title: str
    blocks: list


@dataclass
class _Section:
    id: str
    title: str
    blocks: list


def _no_data(table: str) -> _Text:
    return _Text(f"{NO_DATA}: the {table} table is empty.", css="nodata")


def _ordered_rows(df: pd.DataFrame, col: str, order: Sequence[str]) -> pd.DataFrame:
    """Rows in the canonical category order, unknown categories after them alphabetically."""
    rank = {v: i for i, v in enumerate(order)}
    key = df[col].map(lambda v: (rank.get(v, len(order)), str(v)))
    return df.assign(_k=key).sort_values("_k").drop(columns="_k")


_SEGMENT_COLUMNS = [
    "Customers",
    "Share of customers",
    "Revenue",
    "Share of revenue",
    "Revenue per customer",
]


def _segment_table(df: pd.DataFrame, col: str, label: str, order: Sequence[str]) -> _Table:
    rows = []
    for _, r in _ordered_rows(df, col, order).iterrows():
        rows.append(
            [
                str(r[col]),
                fmt_int(r["customers"]),
                fmt_pct(_col_share(df, r, "customer_share", "customers")),
                fmt_money(r["revenue"]),
                fmt_pct(_col_share(df, r, "revenue_share", "revenue")),
                fmt_money(r["revenue_per_customer"], 2),
            ]
        )
    return _Table([label, *_SEGMENT_COLUMNS], rows, [False] + [True] * 5)


def _heat_table(
    df: pd.DataFrame,
    value: str,
    fmt: Callable[[object], str],
    rows_col: str,
    cols_col: str,
    row_order: Sequence[str],
    col_order: Sequence[str],
    corner: str,
    totals: bool = True,
    cell_text: Callable[[str, str], str] | None = None,
) -> _Table:
    """A pivot as a table whose cells are shaded by value (relative to the largest cell)."""
    grid = df.pivot_table(index=rows_col, columns=cols_col, values=value, aggfunc="sum")
    rows = [r for r in row_order if r in grid.index] + sorted(
        r for r in grid.index if r not in row_order
    )
    cols = [c for c in col_order if c in grid.columns] + sorted(
        c for c in grid.columns if c not in col_order
    )
    grid = grid.reindex(index=rows, columns=cols)
    vmax = np.nanmax(grid.to_numpy(dtype=float)) if grid.size else np.nan
    out_rows, heat = [], []
    for r in rows:
        cells = [str(r)]
        shades: list[float | None] = [None]
        for c in cols:
            v = grid.at[r, c]
            cells.append(cell_text(r, c) if cell_text else fmt(v))
            shades.append(float(v / vmax) if _is_num(v) and _is_num(vmax) and vmax > 0 else 0.0)
        if totals:
            cells.append(fmt(grid.loc[r].sum()))
            shades.append(None)
        out_rows.append(cells)
        heat.append(shades)
    if totals:
        cells = ["Total", *(fmt(grid[c].sum()) for c in cols), fmt(np.nansum(grid.to_numpy()))]
        out_rows.append(cells)
        heat.append([None] * len(cells))
    header = [corner, *map(str, cols), *(["Total"] if totals else [])]
    return _Table(header, out_rows, [False] + [True] * (len(header) - 1), heat=heat)


# --- sections ------------------------------------------------------------------------------


def _group_note(share: float | None, margins: ReportMargins) -> str:
    """ "0.1% of customers", or "<0.1% of customers (negligible)" below the smallest group worth
    naming (ReportMargins.min_group_share)."""
    if share is None:
        return ""
    note = f"{fmt_pct(share)} of customers"
    return note + " (negligible)" if 0 < share < margins.min_group_share else note


def _s_northstar(t, charts_by_key, facts) -> _Section:
    df = t["northstar"]
    if df.empty:
        return _Section("northstar", SECTIONS["northstar"], [_no_data("northstar")])
    r = df.iloc[0]
    power_share = _share(r["power_users"], r["total_customers"])
    margins = facts[3]
    tiles = [
        ("Customers", fmt_int(r["total_customers"]), "with a completed order"),
        ("Revenue", fmt_money_short(r["total_revenue"]), fmt_money(r["total_revenue"])),
        ("Average order value", fmt_money(r["aov"], 2), "revenue / orders"),
        ("Orders", fmt_int(r["total_orders"]), "completed"),
        ("Repeat rate", fmt_pct(r["repeat_rate"]), "customers with 2+ orders"),
        (
            "Power users",
            fmt_int(r["power_users"]),
            _group_note(power_share, margins),
        ),
        ("Avg review score", fmt_num(r["avg_review_score"]), "out of 5"),
        ("Avg delivery days", fmt_num(r["avg_delivery_days"], 1), "purchase to delivery"),
        ("On-time delivery", fmt_pct(r["on_time_rate"]), "by the estimated date"),
        ("Cancellation rate", fmt_pct(r["cancellation_rate"]), "of all orders"),
    ]
    return _Section(
        "northstar",
        SECTIONS["northstar"],
        [
            _Tiles(tiles),
            _Text(f"Completed orders only; data as of {fmt_date(r['as_of'])}.", "muted"),
        ],
    )


def _s_findings(t, charts_by_key, facts) -> _Section:
    findings, recs, _numbers, _margins = facts
    if not findings:
        return _Section("findings", SECTIONS["findings"], [_Text(f"{NO_DATA}.", "nodata")])
    blocks: list = [_Panel("Findings", [_List(findings, css="findings")])]
    if recs:
        blocks.append(_Panel("Recommended actions", [_List(recs, ordered=True, css="actions")]))
    return _Section("findings", SECTIONS["findings"], blocks)


def _segment_section(t, c, sid, table, chart_key, key, label, order) -> _Section:
    """A section of one segment table: its chart, then the table (or "no data")."""
    df = t[table]
    if df.empty:
        return _Section(sid, SECTIONS[sid], [_no_data(table)])
    return _Section(
        sid, SECTIONS[sid], [_Figure(c.get(chart_key)), _segment_table(df, key, label, order)]
    )


def _s_frequency(t, c, facts) -> _Section:
    return _segment_section(
        t, c, "frequency", "frequency_distribution", "frequency_tiers", "frequency_tier",
        "Frequency tier", schema.FREQUENCY_TIERS,
    )  # fmt: skip


def _s_value(t, c, facts) -> _Section:
    return _segment_section(
        t, c, "value", "value_concentration", "value_segment_rpc", "value_segment",
        "Value segment", schema.VALUE_SEGMENTS,
    )  # fmt: skip


def _s_recency_value(t, c, facts) -> _Section:
    df = t["recency_value_pivot"]
    sid, title = "recency-value", SECTIONS["recency-value"]
    if df.empty:
        return _Section(sid, title, [_no_data("recency_value_pivot")])
    args = ("value_segment", "lifecycle_stage", schema.VALUE_SEGMENTS, schema.LIFECYCLE_STAGES)
    return _Section(
        sid,
        title,
        [
            _Text(
                "Value segment (rows) by lifecycle stage (columns); darker cells hold more. "
                "High-value customers outside the Active column are the win-back pool."
            ),
            _Panel("Revenue", [_heat_table(df, "revenue", fmt_money, *args, "Value segment")]),
            _Panel("Customers", [_heat_table(df, "customers", fmt_int, *args, "Value segment")]),
        ],
    )


def _s_monthly(t, c, facts) -> _Section:
    df = t["monthly_revenue"].sort_values("month")
    if df.empty:
        return _Section("monthly", SECTIONS["monthly"], [_no_data("monthly_revenue")])
    complete = _flag(df["is_complete"])
    mean = _first_number(df.loc[complete, "mean_monthly_revenue"])
    rows = [
        [
            fmt_month(r["month"]),
            fmt_int(r["orders"]),
            fmt_int(r["customers"]),
            fmt_money(r["revenue"]),
            fmt_money(r["aov"], 2),
            "complete" if done else "partial",
        ]
        for done, (_, r) in zip(complete, df.iterrows(), strict=True)
    ]
    table = _Table(
        ["Month", "Orders", "Customers", "Revenue", "AOV", "Month in the data"],
        rows,
        [False, True, True, True, True, False],
        collapsed=f"Monthly figures ({len(rows)} months)",
    )
    caption = (
        f"Dashed orange line: mean of the {int(complete.sum())} complete months, {fmt_money(mean)}."
        if mean is not None
        else "No month is complete yet: no mean is drawn."
    )
    if (~complete).any():
        caption += (
            " Hollow markers on a dashed line: partial months, which the data covers only in "
            f"part ({_months_list(df.loc[~complete, 'month'])}); they are left out of the mean."
        )
    return _Section(
        "monthly",
        SECTIONS["monthly"],
        [_Figure(c.get("monthly_revenue")), _Text(caption), table],
    )


def _s_delivery(t, c, facts) -> _Section:
    df = t["delivery_vs_review"].sort_values("bucket_order")
    if df.empty:
        return _Section("delivery", SECTIONS["delivery"], [_no_data("delivery_vs_review")])
    corr = _first_number(df["correlation"])
    rows = [
        [str(r["delivery_bucket"]), fmt_int(r["orders"]), fmt_num(r["avg_review_score"])]
        for _, r in df.iterrows()
    ]
    return _Section(
        "delivery",
        SECTIONS["delivery"],
        [
            _Figure(c.get("delivery_review")),
            _Text(
                "Order-level Pearson correlation of delivery days and review score: "
                f"r = {fmt_num(corr)} (negative: slower deliveries get lower scores)."
            ),
            _Table(["Delivery days", "Orders", "Avg review score"], rows, [False, True, True]),
        ],
    )


def _s_segments(t, c, facts) -> _Section:
    seg, chan = t["customer_segmentation"], t["channel_revenue"]
    blocks: list = []
    if seg.empty:
        blocks.append(_no_data("customer_segmentation"))
    else:
        top = seg.sort_values(["customers", "segment_label"], ascending=[False, True])
        top = top.head(TOP_SEGMENTS_TABLE)
        rows = [
            [
                str(r["segment_label"]),
                fmt_int(r["customers"]),
                fmt_money(r["revenue"]),
                fmt_pct(_col_share(seg, r, "revenue_share", "revenue")),
                fmt_money(r["revenue_per_customer"], 2),
            ]
            for _, r in top.iterrows()
        ]
        blocks += [
            _Figure(c.get("top_segments")),
            _Table(
                ["Segment", "Customers", "Revenue", "Share of revenue", "Revenue per customer"],
                rows,
                [False, True, True, True, True],
            ),
        ]
    if chan[chan["value_segment"].notna()].empty:
        blocks.append(_no_data("channel_revenue"))
    else:
        blocks.append(_Figure(c.get("channel_value")))
    return _Section("segments", SECTIONS["segments"], blocks)


def _s_cohorts(t, c, facts) -> _Section:
    df = t["cohort_retention"]
    if df.empty:
        return _Section("cohorts", SECTIONS["cohorts"], [_no_data("cohort_retention")])
    return _Section(
        "cohorts",
        SECTIONS["cohorts"],
        [
            _Text(
                "Share of each cohort (customers by the period of their first completed order) "
                "buying again n periods later. Period 0 is 100% by definition and greyed out; "
                "blank cells are periods the data does not cover in full (the partial first and "
                "last month or quarter) or has not reached yet, never a 0%."
            ),
            _Figure(c.get("cohort_quarter")),
            _Figure(c.get("cohort_month")),
        ],
    )


def _s_channels(t, c, facts) -> _Section:
    df = t["channel_revenue"]
    totals = df[df["value_segment"].isna()]
    if totals.empty:
        return _Section("channels", SECTIONS["channels"], [_no_data("channel_revenue")])
    totals = totals.sort_values(["revenue", "acquisition_channel"], ascending=[False, True])
    return _Section(
        "channels",
        SECTIONS["channels"],
        [
            _Figure(c.get("channel_revenue")),
            # Largest channel first, as in the chart.
            _segment_table(
                totals,
                "acquisition_channel",
                "Acquisition channel",
                tuple(totals["acquisition_channel"]),
            ),
            _Text(
                "Olist's marketing funnel is seller-side: a customer's channel is the lead origin "
                "of the seller of their first order; 'unattributed' sellers did not come through "
                "the funnel.",
                "muted",
            ),
        ],
    )


def _s_lifecycle(t, c, facts) -> _Section:
    df = t["lifecycle_revenue"]
    if df.empty:
        return _Section("lifecycle", SECTIONS["lifecycle"], [_no_data("lifecycle_revenue")])
    rows = [
        [
            str(r["lifecycle_stage"]),
            fmt_int(r["customers"]),
            fmt_pct(_col_share(df, r, "customer_share", "customers")),
            fmt_money(r["revenue"]),
            fmt_pct(_col_share(df, r, "revenue_share", "revenue")),
        ]
        for _, r in _ordered_rows(df, "lifecycle_stage", schema.LIFECYCLE_STAGES).iterrows()
    ]
    return _Section(
        "lifecycle",
        SECTIONS["lifecycle"],
        [
            _Figure(c.get("lifecycle_revenue")),
            _Table(
                ["Lifecycle stage", *_SEGMENT_COLUMNS[:4]], rows, [False, True, True, True, True]
            ),
        ],
    )


def _s_kpis(t, c, facts) -> _Section:
    n = facts[2]
    panels = []
    # KPI 1: period-1 retention.
    p1 = t["period1_retention"]
    heads = p1[_flag(p1["is_headline"])]
    tiles = []
    for grain in ("quarter", "month"):
        h = heads[heads["grain"] == grain]
        if len(h):
            r = h.iloc[0]
            tiles.append(
                (
                    f"{grain.capitalize()}ly",
                    fmt_pct(r["period1_retention"]),
                    f"{fmt_int(r['period1_active'])} of {fmt_int(r['cohort_size'])} customers, "
                    f"{cohort_range(p1, grain)}",
                )
            )
    panels.append(
        _Panel(
            "KPI 1: period-1 retention",
            [
                _Tiles(tiles),
                _Figure(c.get("period1_retention")),
                _Text(
                    "Pooled over the cohorts whose next period the data covers in full; a cohort "
                    "whose next period is partial is left out of the headline and the chart.",
                    "muted",
                ),
            ]
            if tiles
            else [_no_data("period1_retention")],
        )
    )
    # KPI 2: repeat funnel.
    rf = t["repeat_funnel"]
    if rf.empty:
        panels.append(_Panel("KPI 2: repeat funnel", [_no_data("repeat_funnel")]))
    else:
        r = rf.iloc[0]
        panels.append(
            _Panel(
                "KPI 2: repeat funnel",
                [
                    _Tiles(
                        [
                            ("1+ orders", fmt_int(r["customers_1_plus"]), "customers"),
                            ("2+ orders", fmt_int(r["customers_2_plus"]), "customers"),
                            ("5+ orders", fmt_int(r["customers_5_plus"]), "customers"),
                            ("1 → 2+", fmt_pct(r["conversion_1_to_2_plus"]), "conversion"),
                            ("2+ → 5+", fmt_pct(r["conversion_2_plus_to_5_plus"]), "conversion"),
                        ]
                    ),
                    _Figure(c.get("repeat_funnel")),
                    _Text(
                        "The funnel is drawn on a log scale (each gridline is ten times the one "
                        "before), so that the small later steps stay visible: compare the counts, "
                        "not the bar lengths.",
                        "muted",
                    ),
                ],
            )
        )
    # KPI 3: active revenue share.
    if "active_revenue_share" in n:
        panels.append(
            _Panel(
                "KPI 3: active revenue share",
                [
                    _Tiles(
                        [
                            (
                                "Active revenue share",
                                fmt_pct(n["active_revenue_share"]),
                                "of revenue",
                            ),
                            (
                                "Active customers",
                                fmt_pct(n["active_customer_share"]),
                                "of customers",
                            ),
                        ]
                    ),
                    _Text(
                        f"The full lifecycle split is charted under {SECTIONS['lifecycle']}.",
                        "muted",
                    ),
                ],
            )
        )
    else:
        panels.append(_Panel("KPI 3: active revenue share", [_no_data("lifecycle_revenue")]))
    # KPI 4: revenue concentration by value segment.
    vc = t["value_concentration"]
    if vc.empty:
        panels.append(
            _Panel(
                "KPI 4: revenue concentration by value segment", [_no_data("value_concentration")]
            )
        )
    else:
        hv = vc[vc["value_segment"].isin(HIGH_VALUE_SEGMENTS)]
        hv_rev = _share(hv["revenue"].sum(), vc["revenue"].sum())
        hv_cust = _share(hv["customers"].sum(), vc["customers"].sum())
        tiles = [
            (
                "VIP share of revenue",
                fmt_pct(n.get("vip_revenue_share")),
                f"{fmt_pct(n.get('vip_customer_share'))} of customers",
            ),
            ("High Value + VIP", fmt_pct(hv_rev), f"of revenue; {fmt_pct(hv_cust)} of customers"),
        ]
        panels.append(
            _Panel(
                "KPI 4: revenue concentration by value segment",
                [_Tiles(tiles), _Figure(c.get("value_concentration"))],
            )
        )
    return _Section("kpis", SECTIONS["kpis"], panels)


def _s_geography(t, c, facts) -> _Section:
    df = t["city_concentration"]
    if df.empty:
        return _Section("geography", SECTIONS["geography"], [_no_data("city_concentration")])
    top = df[_flag(df["is_top_n"])].sort_values("rank")
    share = _first_number(df["top_n_revenue_share"])
    rows = [
        [
            fmt_int(r["rank"]),
            str(r["customer_city"]),
            str(r["customer_state"]),
            fmt_int(r["customers"]),
            fmt_money(r["revenue"]),
            fmt_pct(r["revenue_share"]),
        ]
        for _, r in top.iterrows()
    ]
    blocks: list = [
        _Figure(c.get("city_concentration")),
        _Text(
            f"The top {len(top)} cities (of {len(df)}) generate {fmt_pct(share)} of revenue from "
            f"{fmt_pct(_share(top['customers'].sum(), df['customers'].sum()))} of customers."
        ),
    ]
    if rows:
        blocks.append(
            _Table(
                ["Rank", "City", "State", "Customers", "Revenue", "Share of revenue"],
                rows,
                [True, False, False, True, True, True],
            )
        )
    return _Section("geography", SECTIONS["geography"], blocks)


def _s_health(t, c, facts) -> _Section:
    df = t["health_by_value"]
    if df.empty:
        return _Section("health", SECTIONS["health"], [_no_data("health_by_value")])
    counts = df.set_index(["value_segment", "lifecycle_stage"])["customers"]

    def cell(r: str, col: str) -> str:
        share = df.loc[
            (df["value_segment"] == r) & (df["lifecycle_stage"] == col), "share_within_segment"
        ]
        n = counts.get((r, col))
        return f"{fmt_pct(share.iloc[0] if len(share) else None)} ({fmt_int(n)})"

    table = _heat_table(
        df,
        "share_within_segment",
        fmt_pct,
        "value_segment",
        "lifecycle_stage",
        schema.VALUE_SEGMENTS,
        schema.LIFECYCLE_STAGES,
        "Value segment",
        totals=False,
        cell_text=cell,
    )
    return _Section(
        "health",
        SECTIONS["health"],
        [
            _Figure(c.get("health_by_value")),
            _Text("Share of each value segment's customers per lifecycle stage (customers)."),
            table,
        ],
    )


# The prediction tables and their charts, in the order the section shows them.
PREDICTION_TABLES = ("prediction_backtest", "churn_risk_monitor", "early_warning")
_SVG_SIZE = re.compile(r'<svg[^>]* width="(\d+)" height="(\d+)"')


def _prediction_chart(table: str, df: pd.DataFrame) -> Chart | None:
    svg = report_predictions.CHARTS[table](df)
    if svg is None:
        return None
    size = _SVG_SIZE.search(svg)
    width, height = (int(size.group(1)), int(size.group(2))) if size else charts.SIZE
    return Chart(table, table.replace("_", " ").capitalize(), svg, table, width, height)


def _s_predictions(t, params: MetricParams | None) -> _Section:
    """Predictive customer health (docs/predictions.md): the holdout backtest (and whether the
    model beats the naive baseline, said either way), the churn-risk trend over quarter ends and
    the early-warning list, each from its KPI table (transforms/report_predictions.py)."""
    if all(t[name].empty for name in PREDICTION_TABLES):
        empty = _Text(
            f"{NO_DATA}: the prediction tables ({', '.join(PREDICTION_TABLES)}) are empty.",
            css="nodata",
        )
        return _Section("predictions", SECTIONS["predictions"], [empty])
    tie_share = (params or MetricParams()).backtest_tie_share
    backtest, monitor, early = (t[name] for name in PREDICTION_TABLES)
    paragraphs = (
        ("Holdout backtest", report_predictions.backtest_findings(backtest, tie_share)),
        ("Churn risk over time", report_predictions.monitor_findings(monitor)),
        ("Early warning", report_predictions.early_warning_findings(early)),
    )
    blocks: list = []
    for (label, sentences), table in zip(paragraphs, PREDICTION_TABLES, strict=True):
        blocks.append(_Text(f"{label}. " + " ".join(sentences)))
        blocks.append(_Figure(_prediction_chart(table, t[table])))
    return _Section("predictions", SECTIONS["predictions"], blocks)


def _s_appendix(params: MetricParams | None) -> _Section:
    rows = [[term, text] for term, text in metric_definitions(params)]
    return _Section(
        "appendix",
        SECTIONS["appendix"],
        [
            _Text("Definitions of the GoodPulse analytic contract (METRICS.md) as configured."),
            _Table(["Term", "Definition"], rows, [False, False]),
        ],
    )


_SECTION_BUILDERS = (
    _s_northstar,
    _s_findings,
    _s_frequency,
    _s_value,
    _s_recency_value,
    _s_monthly,
    _s_delivery,
    _s_segments,
    _s_cohorts,
    _s_channels,
    _s_lifecycle,
    _s_kpis,
    _s_geography,
    _s_health,
)


# --- HTML rendering ------------------------------------------------------------------------------

# System font stacks only: no web fonts, nothing fetched.
CSS = """
:root { --text:#1A202C; --muted:#4A5568; --line:#E2E8F0; --bg:#F4F6F9; --card:#FFFFFF;
  --primary:#2B6CB0; --primary-dark:#1A365D; --accent:#DD6B20; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font-size: 15px; line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Liberation Sans", "DejaVu Sans", sans-serif; }
.wrap { max-width: 1100px; margin: 0 auto; padding: 0 24px; }
.masthead { background: linear-gradient(135deg, var(--primary-dark), var(--primary));
  color: #fff; padding: 28px 0 22px; }
.masthead h1 { margin: 0; font-size: 28px; letter-spacing: -0.01em; }
.masthead .meta { margin: 6px 0 0; opacity: 0.85; font-size: 14px; }
nav.toc { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 20px; margin: 20px 0; }
nav.toc ol { margin: 0; padding-left: 20px; columns: 3; column-gap: 32px; font-size: 14px; }
nav.toc a { color: var(--primary); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
section.section { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 20px 24px; margin: 20px 0; }
section.section h2 { margin: 0 0 14px; font-size: 21px; color: var(--primary-dark);
  padding-bottom: 8px; border-bottom: 2px solid var(--line); }
.panel { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin: 14px 0; }
.panel h3 { margin: 0 0 10px; font-size: 16px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 12px;
  margin: 4px 0 12px; }
.tile { background: var(--bg); border: 1px solid var(--line); border-left: 4px solid var(--primary);
  border-radius: 8px; padding: 10px 14px; }
.tile .label { font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em;
  color: var(--muted); }
.tile .value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; }
.tile .note { font-size: 12px; color: var(--muted); min-height: 1em; }
figure { margin: 12px 0; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
p { margin: 8px 0; }
p.muted { color: var(--muted); font-size: 13px; }
p.nodata { color: var(--muted); font-style: italic; background: var(--bg); padding: 10px 14px;
  border-radius: 6px; }
table { border-collapse: collapse; width: 100%; margin: 10px 0; font-size: 14px;
  font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: var(--bg); font-weight: 600; color: var(--muted); font-size: 13px; }
td.num, th.num { text-align: right; white-space: nowrap; }
table.heat td.num { border: 2px solid #fff; }
tr:last-child td { border-bottom: none; }
details { margin: 8px 0; }
details summary { cursor: pointer; color: var(--primary); font-size: 14px; }
ul.findings li, ol.actions li { margin: 6px 0; }
ol.actions li::marker { color: var(--accent); font-weight: 700; }
footer { color: var(--muted); font-size: 12px; padding: 8px 0 32px; }
@media (max-width: 720px) { nav.toc ol { columns: 1; } .wrap { padding: 0 12px; } }
@media print { body { background: #fff; } section.section { break-inside: avoid-page; }
  .masthead { color: #000; background: none; } }
"""

# Heat shading: cell colour runs from HEAT_LOW to HEAT_HIGH; text turns white past HEAT_DARK.
HEAT_LOW = (0xF7, 0xFA, 0xFC)
HEAT_HIGH = (0x2B, 0x6C, 0xB0)
HEAT_DARK = 0.55


def heat_style(intensity: float) -> str:
    """Inline CSS of a heat-shaded cell for ``intensity`` in [0, 1]."""
    x = min(max(float(intensity), 0.0), 1.0) if _is_num(intensity) else 0.0
    rgb = tuple(round(lo + (hi - lo) * x) for lo, hi in zip(HEAT_LOW, HEAT_HIGH, strict=True))
    color = "#FFFFFF" if x > HEAT_DARK else "#1A202C"
    return "background-color:#{:02X}{:02X}{:02X};color:{}".format(*rgb, color)


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _html_block(b) -> str:
    if isinstance(b, _Text):
        cls = f' class="{b.css}"' if b.css else ""
        return f"<p{cls}>{_esc(b.text)}</p>"
    if isinstance(b, _Tiles):
        tiles = "".join(
            f'<div class="tile"><div class="label">{_esc(label)}</div>'
            f'<div class="value">{_esc(value)}</div><div class="note">{_esc(note)}</div></div>'
            for label, value, note in b.items
        )
        return f'<div class="tiles">{tiles}</div>'
    if isinstance(b, _Table):
        head = "".join(
            f"<th{' class=num' if num else ''}>{_esc(c)}</th>"
            for c, num in zip(b.columns, b.numeric, strict=True)
        )
        body = []
        for i, row in enumerate(b.rows):
            cells = []
            for j, (v, num) in enumerate(zip(row, b.numeric, strict=True)):
                attrs = ' class="num"' if num else ""
                shade = b.heat[i][j] if b.heat else None
                if shade is not None:
                    attrs += f' style="{heat_style(shade)}"'
                cells.append(f"<td{attrs}>{_esc(v)}</td>")
            body.append(f"<tr>{''.join(cells)}</tr>")
        cls = ' class="heat"' if b.heat else ""
        table = f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        if b.collapsed:
            return f"<details><summary>{_esc(b.collapsed)}</summary>{table}</details>"
        return table
    if isinstance(b, _Figure):
        if b.chart is None:
            return f'<p class="nodata">{_esc(b.missing)}</p>'
        return b.chart.html()
    if isinstance(b, _List):
        tag = "ol" if b.ordered else "ul"
        cls = f' class="{b.css}"' if b.css else ""
        return f"<{tag}{cls}>{''.join(f'<li>{_esc(i)}</li>' for i in b.items)}</{tag}>"
    if isinstance(b, _Panel):
        inner = "".join(_html_block(x) for x in b.blocks)
        return f'<div class="panel"><h3>{_esc(b.title)}</h3>{inner}</div>'
    raise TypeError(f"unknown block {type(b).__name__}")


def _render_html(title: str, meta: str, sections: list[_Section]) -> str:
    toc = "".join(f'<li><a href="#{s.id}">{_esc(s.title)}</a></li>' for s in sections)
    body = "\n".join(
        f'<section class="section" id="{s.id}"><h2>{_esc(s.title)}</h2>'
        + "".join(_html_block(b) for b in s.blocks)
        + "</section>"
        for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header class="masthead"><div class="wrap"><h1>{_esc(title)}</h1>'
        f'<p class="meta">{_esc(meta)}</p></div></header>\n'
        f'<main class="wrap">\n<nav class="toc" aria-label="Contents"><ol>{toc}</ol></nav>\n'
        f"{body}\n</main>\n"
        '<footer class="wrap">Generated by GoodPulse from the gold and KPI tables of the '
        "warehouse. Self-contained page: no scripts, nothing loaded from the network.</footer>\n"
        "</body>\n</html>\n"
    )


# --- Markdown rendering --------------------------------------------------------------------------


def _md_text(s: object) -> str:
    """Escape the characters that would turn plain text into Markdown markup."""
    out = str(s).replace("\\", "\\\\")
    for ch in ("*", "_", "`", "[", "]", "<", ">"):
        out = out.replace(ch, "\\" + ch)
    return out


def _md_cell(s: object) -> str:
    return _md_text(s).replace("|", "\\|").replace("\n", " ")


def _md_alt(s: str) -> str:
    return s.replace("[", "(").replace("]", ")")


def _md_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]
) -> str:
    head = "| " + " | ".join(_md_cell(c) for c in columns) + " |"
    sep = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
    body = ["| " + " | ".join(_md_cell(v) for v in r) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def _md_block(b) -> str:
    if isinstance(b, _Text):
        text = _md_text(b.text)
        return f"_{text}_" if b.css in ("muted", "nodata") else text
    if isinstance(b, _Tiles):
        return _md_table(
            ["Metric", "Value", "Note"], [list(i) for i in b.items], [False, True, False]
        )
    if isinstance(b, _Table):
        table = _md_table(b.columns, b.rows, b.numeric)
        return f"{_md_text(b.collapsed)}:\n\n{table}" if b.collapsed else table
    if isinstance(b, _Figure):
        return b.chart.markdown() if b.chart is not None else f"_{_md_text(b.missing)}_"
    if isinstance(b, _List):
        marks = [f"{i}." for i in range(1, len(b.items) + 1)] if b.ordered else ["-"] * len(b.items)
        return "\n".join(f"{m} {_md_text(i)}" for m, i in zip(marks, b.items, strict=True))
    if isinstance(b, _Panel):
        return "\n\n".join([f"### {_md_text(b.title)}", *(_md_block(x) for x in b.blocks)])
    raise TypeError(f"unknown block {type(b).__name__}")


def _render_markdown(title: str, meta: str, sections: list[_Section]) -> str:
    parts = [f"# {_md_text(title)}", f"_{_md_text(meta)}_"]
    for s in sections:
        parts.append(f"## {_md_text(s.title)}")
        parts.extend(_md_block(b) for b in s.blocks)
    return "\n\n".join(parts) + "\n"


# --- public API ----------------------------------------------------------------------------------


def render_charts(
    tables: dict[str, pd.DataFrame], keys: Iterable[str] = REPORT_CHART_KEYS
) -> dict[str, Chart]:
    """The charts ``keys`` drawn from normalised ``tables``; charts without data are left out."""
    out = {}
    for key in keys:
        spec = CHART_SPECS[key]
        chart = draw_chart(spec, tables[spec.table])
        if chart is not None:
            out[key] = chart
    return out


def build_report(
    tables: dict[str, pd.DataFrame],
    *,
    title: str = DEFAULT_TITLE,
    generated_at: datetime | None = None,
    params: MetricParams | None = None,
    thresholds: Thresholds = THRESHOLDS,
    margins: ReportMargins | None = None,
) -> Report:
    """Render the executive report from the KPI tables and the gold segmentation/cohort tables.

    ``tables`` is keyed by table name (``REPORT_TABLES``); a missing or empty table gives a
    "No data" section instead of an error. ``params`` only feeds the appendix (the thresholds in
    force); the numbers themselves come from the tables. ``margins`` (default: ReportMargins())
    decide when a group stands out enough to act on. ``generated_at`` defaults to now (UTC);
    pass it to get byte-identical output for identical tables.
    """
    t = {name: normalise_table(name, tables.get(name)) for name in REPORT_TABLES}
    generated_at = generated_at or datetime.now(UTC)
    margins = margins or ReportMargins()
    findings, recs, numbers = compute_findings(t, thresholds, margins)
    chart_map = render_charts(t)
    sections = [b(t, chart_map, (findings, recs, numbers, margins)) for b in _SECTION_BUILDERS]
    sections.append(_s_predictions(t, params))
    sections.append(_s_appendix(params))
    as_of_ts = t["northstar"]["as_of"].dropna()
    as_of = as_of_ts.iloc[0].date() if len(as_of_ts) else None
    meta = (
        f"Data as of {as_of.isoformat() if as_of else NA} · generated "
        f"{generated_at.strftime('%Y-%m-%d %H:%M %Z').strip()}"
    )
    return Report(
        html=_render_html(title, meta, sections),
        markdown=_render_markdown(title, meta, sections),
        charts=[chart_map[k] for k in REPORT_CHART_KEYS if k in chart_map],
        findings=findings,
        numbers=numbers,
        recommendations=recs,
        sections=[s.title for s in sections],
        title=title,
        generated_at=generated_at,
        as_of=as_of,
    )


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees a half-written report."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, REPORT_FILE_MODE)  # mkstemp creates 0600; the report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write ``goodpulse_report.html`` and ``goodpulse_report.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / HTML_FILE, "markdown": out_dir / MARKDOWN_FILE}
    _atomic_write(paths["html"], report.html)
    _atomic_write(paths["markdown"], report.markdown)
    return paths


# The stale banner sits between these markers, so that it can be set and removed in the published
# files without rendering the report again (a failed run cannot: its tables are not trustworthy).
STALE_START, STALE_END = "<!-- goodpulse:stale -->", "<!-- /goodpulse:stale -->"
_STALE_BLOCK = re.compile(re.escape(STALE_START) + ".*?" + re.escape(STALE_END) + "\n", re.S)
_STALE_STYLE = (
    "margin:0;padding:.8rem 1.2rem;background:#fff3cd;color:#664d03;"
    "border-bottom:2px solid #d9a400;font-weight:600"
)


def with_stale_banner(text: str, notice: str | None, markdown: bool) -> str:
    """``text`` (a rendered report) with its stale banner replaced by ``notice`` (or removed)."""
    text = _STALE_BLOCK.sub("", text)
    if notice is None:
        return text
    if markdown:
        return f"{STALE_START}\n> **Stale.** {notice}\n\n{STALE_END}\n{text}"
    banner = f'{STALE_START}<p class="stale" role="alert" style="{_STALE_STYLE}">{_esc(notice)}</p>'
    head, sep, body = text.partition("<body>\n")
    return f"{head}{sep}{banner}{STALE_END}\n{body}" if sep else text


def mark_report_stale(out_dir: Path, notice: str | None) -> None:
    """Set (or, with None, remove) the stale banner of the published report files, if any."""
    for name, markdown in ((HTML_FILE, False), (MARKDOWN_FILE, True)):
        path = Path(out_dir) / name
        if path.exists():
            text = path.read_text(encoding="utf-8")
            _atomic_write(path, with_stale_banner(text, notice, markdown))


def kpi_chart_markdown(table_name: str, df: pd.DataFrame) -> str | None:
    """The chart(s) of one KPI (or gold) table as Markdown with embedded images, for the metadata
    of that table's asset. None when the table has no chart (northstar) or no data to draw.
    """
    specs = [s for s in CHART_SPECS.values() if s.table == table_name]
    if not specs:
        return None
    norm = normalise_table(table_name, df)
    drawn = [c for c in (draw_chart(s, norm) for s in specs) if c is not None]
    if not drawn:
        return None
    return "\n\n".join(c.markdown() for c in drawn)

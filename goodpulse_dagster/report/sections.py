"""The section builders: one function per section, each from its tables to blocks.

A builder takes the normalised tables, the charts drawn (by key) and the conclusions (findings,
recommendations, the numbers they quote and the margins); a table without rows gives a "No
data" section instead of an error.
"""

from __future__ import annotations

from typing import NamedTuple

from goodpulse_dagster import schema
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.report.blocks import (
    Figure,
    ItemList,
    Panel,
    Section,
    Table,
    Text,
    Tiles,
    no_data,
)
from goodpulse_dagster.report.findings import cohort_range
from goodpulse_dagster.report.formatting import (
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_money_short,
    fmt_month,
    fmt_num,
    fmt_pct,
    months_list,
)
from goodpulse_dagster.report.inputs import as_flags, col_share, first_number, share_of
from goodpulse_dagster.report.metric_definitions import metric_definitions
from goodpulse_dagster.report.names import (
    HIGH_VALUE_SEGMENTS,
    NO_DATA,
    SECTIONS,
    TOP_SEGMENTS_TABLE,
)
from goodpulse_dagster.report.table_blocks import (
    SEGMENT_COLUMNS,
    heat_table,
    ordered_rows,
    segment_table,
)
from goodpulse_dagster.settings import ReportMargins


class Conclusions(NamedTuple):
    """What the findings concluded, for the sections that show or quote it."""

    findings: list[str]
    recommendations: list[str]
    numbers: dict[str, float]
    margins: ReportMargins


def _group_note(share: float | None, margins: ReportMargins) -> str:
    """ "0.1% of customers", or "<0.1% of customers (negligible)" below the smallest group worth
    naming (ReportMargins.min_group_share)."""
    if share is None:
        return ""
    note = f"{fmt_pct(share)} of customers"
    return note + " (negligible)" if 0 < share < margins.min_group_share else note


def northstar_section(t, charts_by_key, facts) -> Section:
    df = t["northstar"]
    if df.empty:
        return Section("northstar", SECTIONS["northstar"], [no_data("northstar")])
    r = df.iloc[0]
    power_share = share_of(r["power_users"], r["total_customers"])
    margins = facts.margins
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
    return Section(
        "northstar",
        SECTIONS["northstar"],
        [
            Tiles(tiles),
            Text(f"Completed orders only; data as of {fmt_date(r['as_of'])}.", "muted"),
        ],
    )


def findings_section(t, charts_by_key, facts) -> Section:
    findings, recs, _numbers, _margins = facts
    if not findings:
        return Section("findings", SECTIONS["findings"], [Text(f"{NO_DATA}.", "nodata")])
    blocks: list = [Panel("Findings", [ItemList(findings, css="findings")])]
    if recs:
        blocks.append(Panel("Recommended actions", [ItemList(recs, ordered=True, css="actions")]))
    return Section("findings", SECTIONS["findings"], blocks)


def _segment_section(t, c, sid, table, chart_key, key, label, order) -> Section:
    """A section of one segment table: its chart, then the table (or "no data")."""
    df = t[table]
    if df.empty:
        return Section(sid, SECTIONS[sid], [no_data(table)])
    return Section(
        sid, SECTIONS[sid], [Figure(c.get(chart_key)), segment_table(df, key, label, order)]
    )


def frequency_section(t, c, facts) -> Section:
    return _segment_section(
        t, c, "frequency", "frequency_distribution", "frequency_tiers", "frequency_tier",
        "Frequency tier", schema.FREQUENCY_TIERS,
    )  # fmt: skip


def value_section(t, c, facts) -> Section:
    return _segment_section(
        t, c, "value", "value_concentration", "value_segment_rpc", "value_segment",
        "Value segment", schema.VALUE_SEGMENTS,
    )  # fmt: skip


def recency_value_section(t, c, facts) -> Section:
    df = t["recency_value_pivot"]
    sid, title = "recency-value", SECTIONS["recency-value"]
    if df.empty:
        return Section(sid, title, [no_data("recency_value_pivot")])
    args = ("value_segment", "lifecycle_stage", schema.VALUE_SEGMENTS, schema.LIFECYCLE_STAGES)
    return Section(
        sid,
        title,
        [
            Text(
                "Value segment (rows) by lifecycle stage (columns); darker cells hold more. "
                "High-value customers outside the Active column are the win-back pool."
            ),
            Panel("Revenue", [heat_table(df, "revenue", fmt_money, *args, "Value segment")]),
            Panel("Customers", [heat_table(df, "customers", fmt_int, *args, "Value segment")]),
        ],
    )


def monthly_section(t, c, facts) -> Section:
    df = t["monthly_revenue"].sort_values("month")
    if df.empty:
        return Section("monthly", SECTIONS["monthly"], [no_data("monthly_revenue")])
    complete = as_flags(df["is_complete"])
    mean = first_number(df.loc[complete, "mean_monthly_revenue"])
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
    table = Table(
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
            f"part ({months_list(df.loc[~complete, 'month'])}); they are left out of the mean."
        )
    return Section(
        "monthly",
        SECTIONS["monthly"],
        [Figure(c.get("monthly_revenue")), Text(caption), table],
    )


def delivery_section(t, c, facts) -> Section:
    df = t["delivery_vs_review"].sort_values("bucket_order")
    if df.empty:
        return Section("delivery", SECTIONS["delivery"], [no_data("delivery_vs_review")])
    corr = first_number(df["correlation"])
    rows = [
        [str(r["delivery_bucket"]), fmt_int(r["orders"]), fmt_num(r["avg_review_score"])]
        for _, r in df.iterrows()
    ]
    return Section(
        "delivery",
        SECTIONS["delivery"],
        [
            Figure(c.get("delivery_review")),
            Text(
                "Order-level Pearson correlation of delivery days and review score: "
                f"r = {fmt_num(corr)} (negative: slower deliveries get lower scores)."
            ),
            Table(["Delivery days", "Orders", "Avg review score"], rows, [False, True, True]),
        ],
    )


def segments_section(t, c, facts) -> Section:
    seg, chan = t["customer_segmentation"], t["channel_revenue"]
    blocks: list = []
    if seg.empty:
        blocks.append(no_data("customer_segmentation"))
    else:
        top = seg.sort_values(["customers", "segment_label"], ascending=[False, True])
        top = top.head(TOP_SEGMENTS_TABLE)
        rows = [
            [
                str(r["segment_label"]),
                fmt_int(r["customers"]),
                fmt_money(r["revenue"]),
                fmt_pct(col_share(seg, r, "revenue_share", "revenue")),
                fmt_money(r["revenue_per_customer"], 2),
            ]
            for _, r in top.iterrows()
        ]
        blocks += [
            Figure(c.get("top_segments")),
            Table(
                ["Segment", "Customers", "Revenue", "Share of revenue", "Revenue per customer"],
                rows,
                [False, True, True, True, True],
            ),
        ]
    if chan[chan["value_segment"].notna()].empty:
        blocks.append(no_data("channel_revenue"))
    else:
        blocks.append(Figure(c.get("channel_value")))
    return Section("segments", SECTIONS["segments"], blocks)


def cohorts_section(t, c, facts) -> Section:
    df = t["cohort_retention"]
    if df.empty:
        return Section("cohorts", SECTIONS["cohorts"], [no_data("cohort_retention")])
    return Section(
        "cohorts",
        SECTIONS["cohorts"],
        [
            Text(
                "Share of each cohort (customers by the period of their first completed order) "
                "buying again n periods later. Period 0 is 100% by definition and greyed out; "
                "blank cells are periods the data does not cover in full (the partial first and "
                "last month or quarter) or has not reached yet, never a 0%."
            ),
            Figure(c.get("cohort_quarter")),
            Figure(c.get("cohort_month")),
        ],
    )


def channels_section(t, c, facts) -> Section:
    df = t["channel_revenue"]
    totals = df[df["value_segment"].isna()]
    if totals.empty:
        return Section("channels", SECTIONS["channels"], [no_data("channel_revenue")])
    totals = totals.sort_values(["revenue", "acquisition_channel"], ascending=[False, True])
    return Section(
        "channels",
        SECTIONS["channels"],
        [
            Figure(c.get("channel_revenue")),
            # Largest channel first, as in the chart.
            segment_table(
                totals,
                "acquisition_channel",
                "Acquisition channel",
                tuple(totals["acquisition_channel"]),
            ),
            Text(
                "Olist's marketing funnel is seller-side: a customer's channel is the lead origin "
                "of the seller of their first order; 'unattributed' sellers did not come through "
                "the funnel.",
                "muted",
            ),
        ],
    )


def lifecycle_section(t, c, facts) -> Section:
    df = t["lifecycle_revenue"]
    if df.empty:
        return Section("lifecycle", SECTIONS["lifecycle"], [no_data("lifecycle_revenue")])
    rows = [
        [
            str(r["lifecycle_stage"]),
            fmt_int(r["customers"]),
            fmt_pct(col_share(df, r, "customer_share", "customers")),
            fmt_money(r["revenue"]),
            fmt_pct(col_share(df, r, "revenue_share", "revenue")),
        ]
        for _, r in ordered_rows(df, "lifecycle_stage", schema.LIFECYCLE_STAGES).iterrows()
    ]
    return Section(
        "lifecycle",
        SECTIONS["lifecycle"],
        [
            Figure(c.get("lifecycle_revenue")),
            Table(["Lifecycle stage", *SEGMENT_COLUMNS[:4]], rows, [False, True, True, True, True]),
        ],
    )


def kpis_section(t, c, facts) -> Section:
    n = facts.numbers
    panels = []
    # KPI 1: period-1 retention.
    p1 = t["period1_retention"]
    heads = p1[as_flags(p1["is_headline"])]
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
        Panel(
            "KPI 1: period-1 retention",
            [
                Tiles(tiles),
                Figure(c.get("period1_retention")),
                Text(
                    "Pooled over the cohorts whose next period the data covers in full; a cohort "
                    "whose next period is partial is left out of the headline and the chart.",
                    "muted",
                ),
            ]
            if tiles
            else [no_data("period1_retention")],
        )
    )
    # KPI 2: repeat funnel.
    rf = t["repeat_funnel"]
    if rf.empty:
        panels.append(Panel("KPI 2: repeat funnel", [no_data("repeat_funnel")]))
    else:
        r = rf.iloc[0]
        panels.append(
            Panel(
                "KPI 2: repeat funnel",
                [
                    Tiles(
                        [
                            ("1+ orders", fmt_int(r["customers_1_plus"]), "customers"),
                            ("2+ orders", fmt_int(r["customers_2_plus"]), "customers"),
                            ("5+ orders", fmt_int(r["customers_5_plus"]), "customers"),
                            ("1 → 2+", fmt_pct(r["conversion_1_to_2_plus"]), "conversion"),
                            ("2+ → 5+", fmt_pct(r["conversion_2_plus_to_5_plus"]), "conversion"),
                        ]
                    ),
                    Figure(c.get("repeat_funnel")),
                    Text(
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
            Panel(
                "KPI 3: active revenue share",
                [
                    Tiles(
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
                    Text(
                        f"The full lifecycle split is charted under {SECTIONS['lifecycle']}.",
                        "muted",
                    ),
                ],
            )
        )
    else:
        panels.append(Panel("KPI 3: active revenue share", [no_data("lifecycle_revenue")]))
    # KPI 4: revenue concentration by value segment.
    vc = t["value_concentration"]
    if vc.empty:
        panels.append(
            Panel("KPI 4: revenue concentration by value segment", [no_data("value_concentration")])
        )
    else:
        hv = vc[vc["value_segment"].isin(HIGH_VALUE_SEGMENTS)]
        hv_rev = share_of(hv["revenue"].sum(), vc["revenue"].sum())
        hv_cust = share_of(hv["customers"].sum(), vc["customers"].sum())
        tiles = [
            (
                "VIP share of revenue",
                fmt_pct(n.get("vip_revenue_share")),
                f"{fmt_pct(n.get('vip_customer_share'))} of customers",
            ),
            ("High Value + VIP", fmt_pct(hv_rev), f"of revenue; {fmt_pct(hv_cust)} of customers"),
        ]
        panels.append(
            Panel(
                "KPI 4: revenue concentration by value segment",
                [Tiles(tiles), Figure(c.get("value_concentration"))],
            )
        )
    return Section("kpis", SECTIONS["kpis"], panels)


def geography_section(t, c, facts) -> Section:
    df = t["city_concentration"]
    if df.empty:
        return Section("geography", SECTIONS["geography"], [no_data("city_concentration")])
    top = df[as_flags(df["is_top_n"])].sort_values("rank")
    share = first_number(df["top_n_revenue_share"])
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
        Figure(c.get("city_concentration")),
        Text(
            f"The top {len(top)} cities (of {len(df)}) generate {fmt_pct(share)} of revenue from "
            f"{fmt_pct(share_of(top['customers'].sum(), df['customers'].sum()))} of customers."
        ),
    ]
    if rows:
        blocks.append(
            Table(
                ["Rank", "City", "State", "Customers", "Revenue", "Share of revenue"],
                rows,
                [True, False, False, True, True, True],
            )
        )
    return Section("geography", SECTIONS["geography"], blocks)


def health_section(t, c, facts) -> Section:
    df = t["health_by_value"]
    if df.empty:
        return Section("health", SECTIONS["health"], [no_data("health_by_value")])
    counts = df.set_index(["value_segment", "lifecycle_stage"])["customers"]

    def cell(r: str, col: str) -> str:
        share = df.loc[
            (df["value_segment"] == r) & (df["lifecycle_stage"] == col), "share_within_segment"
        ]
        n = counts.get((r, col))
        return f"{fmt_pct(share.iloc[0] if len(share) else None)} ({fmt_int(n)})"

    table = heat_table(
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
    return Section(
        "health",
        SECTIONS["health"],
        [
            Figure(c.get("health_by_value")),
            Text("Share of each value segment's customers per lifecycle stage (customers)."),
            table,
        ],
    )


def appendix_section(params: MetricParams | None) -> Section:
    rows = [[term, text] for term, text in metric_definitions(params)]
    return Section(
        "appendix",
        SECTIONS["appendix"],
        [
            Text("Definitions of the GoodPulse analytic contract (METRICS.md) as configured."),
            Table(["Term", "Definition"], rows, [False, False]),
        ],
    )


SECTION_BUILDERS = (
    northstar_section,
    findings_section,
    frequency_section,
    value_section,
    recency_value_section,
    monthly_section,
    delivery_section,
    segments_section,
    cohorts_section,
    channels_section,
    lifecycle_section,
    kpis_section,
    geography_section,
    health_section,
)

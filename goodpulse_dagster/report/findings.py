"""The findings: what the numbers say, as sentences written from the tables.

Every number a sentence quotes is read from the tables and recorded by name in ``Facts.numbers``
(nothing is fixed text with numbers baked in). A finding that singles a group out says so only
when the group stands apart by a margin (``settings.ReportMargins``); otherwise it says the group
does not stand out. Period series use their ``is_complete`` flag: partial first and last periods
are left out of means, trends and the period-1 headline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from goodpulse_dagster.report.formatting import (
    fmt_int,
    fmt_money,
    fmt_month,
    fmt_num,
    fmt_pct,
    fmt_period,
    fmt_points,
    months_list,
)
from goodpulse_dagster.report.inputs import (
    as_flags,
    col_share,
    first_number,
    is_num,
    row_where,
    share_of,
)
from goodpulse_dagster.report.names import (
    ACTIVE_STAGE,
    HIGH_VALUE_SEGMENT,
    HIGH_VALUE_SEGMENTS,
    LAPSED_STAGES,
    NON_MARKETING_CHANNELS,
    ONE_TIME_TIER,
    VIP_SEGMENT,
)
from goodpulse_dagster.settings import ReportMargins


@dataclass
class Facts:
    """What the findings found: sentences, the numbers they quote, and labels for the rules."""

    findings: list[str] = field(default_factory=list)
    numbers: dict[str, float] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    margins: ReportMargins = field(default_factory=ReportMargins)

    def add(self, sentence: str, **numbers: float) -> None:
        self.findings.append(sentence)
        self.numbers.update({k: float(v) for k, v in numbers.items()})


def _group_shares(df: pd.DataFrame, col: str, value: str) -> tuple[pd.Series, float, float] | None:
    """The row where ``col`` is ``value``, with its customer and revenue shares; None if any is missing."""
    row = row_where(df, col, value)
    if row is None:
        return None
    cs = col_share(df, row, "customer_share", "customers")
    rs = col_share(df, row, "revenue_share", "revenue")
    if cs is None or rs is None:
        return None
    return row, cs, rs


def _find_one_time(t: dict[str, pd.DataFrame], f: Facts) -> None:
    group = _group_shares(t["frequency_distribution"], "frequency_tier", ONE_TIME_TIER)
    if group is None:
        return
    _, cs, rs = group
    f.add(
        f"{fmt_pct(cs)} of customers bought once; together they bring {fmt_pct(rs)} of revenue.",
        one_time_customer_share=cs,
        one_time_revenue_share=rs,
    )


def _find_repeat(t: dict[str, pd.DataFrame], f: Facts) -> None:
    df = t["repeat_funnel"]
    if df.empty:
        return
    r = df.iloc[0]
    conv1, conv2, n2 = (
        r["conversion_1_to_2_plus"],
        r["conversion_2_plus_to_5_plus"],
        r["customers_2_plus"],
    )
    if not (is_num(conv1) and is_num(n2)):
        return
    noun = "customer" if n2 == 1 else "customers"
    text = f"{fmt_pct(conv1)} of customers placed a second order ({fmt_int(n2)} {noun})"
    nums = {"repeat_conversion": conv1, "repeat_customers": n2}
    if is_num(conv2):
        text += f", and {fmt_pct(conv2)} of those went on to become Power Users"
        nums["power_user_conversion"] = conv2
    n5, n1 = r["customers_5_plus"], r["customers_1_plus"]
    power_share = share_of(n5, n1)
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
    rows = df[~as_flags(df["is_headline"]) & (df["grain"] == grain) & as_flags(df["is_complete"])]
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


def _find_period1(t: dict[str, pd.DataFrame], f: Facts) -> None:
    df = t["period1_retention"]
    heads = df[as_flags(df["is_headline"])]
    values = {
        g: first_number(heads.loc[heads["grain"] == g, "period1_retention"])
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


def _find_active(t: dict[str, pd.DataFrame], f: Facts) -> None:
    group = _group_shares(t["lifecycle_revenue"], "lifecycle_stage", ACTIVE_STAGE)
    if group is None:
        return
    _, cs, rs = group
    f.add(
        f"Active customers hold {fmt_pct(rs)} of revenue and make up {fmt_pct(cs)} of the "
        "customer base.",
        active_revenue_share=rs,
        active_customer_share=cs,
    )


def _find_vip(t: dict[str, pd.DataFrame], f: Facts) -> None:
    df = t["value_concentration"]
    group = _group_shares(df, "value_segment", VIP_SEGMENT)
    if group is None:
        return
    row, cs, rs = group
    # VIPs are the top spenders by definition, so "x times their share of customers" is large by
    # construction. What the cut does not guarantee is how far VIPs sit above the next segment:
    # every VIP out-spends every High Value customer, so the ratio of their revenue per customer
    # is above 1 by construction, and only a ratio of ReportMargins.vip_min_multiple or more
    # sets VIPs apart (docs/metric_decisions.md).
    text = f"VIP customers, the top spenders by definition, are {fmt_pct(cs)} of customers and "
    text += f"generate {fmt_pct(rs)} of revenue"
    nums = {"vip_customer_share": cs, "vip_revenue_share": rs}
    high = row_where(df, "value_segment", HIGH_VALUE_SEGMENT)
    vip_rpc = row["revenue_per_customer"]
    high_rpc = high["revenue_per_customer"] if high is not None else None
    if is_num(vip_rpc) and is_num(high_rpc) and high_rpc > 0:
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
    return share_of(
        df.loc[df["lifecycle_stage"].isin(LAPSED_STAGES), "customers"].sum(), df["customers"].sum()
    )


def _find_health(t: dict[str, pd.DataFrame], f: Facts) -> None:
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


def _find_cities(t: dict[str, pd.DataFrame], f: Facts) -> None:
    df = t["city_concentration"]
    top = df[as_flags(df["is_top_n"])]
    if top.empty:
        return
    n = len(top)
    # The KPI's own headline; recomputed from the rows only if the column is empty.
    share = first_number(df["top_n_revenue_share"])
    if share is None:
        share = share_of(top["revenue"].sum(), df["revenue"].sum())
    cust = share_of(top["customers"].sum(), df["customers"].sum())
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


def _find_delivery(t: dict[str, pd.DataFrame], f: Facts) -> None:
    df = t["delivery_vs_review"]
    corr = first_number(df["correlation"])
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


def _find_service(t: dict[str, pd.DataFrame], f: Facts) -> None:
    df = t["northstar"]
    if df.empty:
        return
    on_time, score = df.iloc[0]["on_time_rate"], df.iloc[0]["avg_review_score"]
    parts, nums = [], {}
    if is_num(on_time):
        parts.append(f"{fmt_pct(on_time)} of delivered orders arrived by the estimated date")
        nums["on_time_rate"] = on_time
    if is_num(score):
        parts.append(f"the average review score is {fmt_num(score)}")
        nums["avg_review_score"] = score
    if parts:
        text = ", and ".join(parts)
        f.add(text[0].upper() + text[1:] + ".", **nums)


def _find_channels(t: dict[str, pd.DataFrame], f: Facts) -> None:
    df = t["channel_revenue"]
    totals = df[df["value_segment"].isna()].copy()
    if totals.empty or not is_num(totals["revenue"].sum()):
        return
    all_revenue = totals["revenue"].sum()
    totals["share"] = [
        col_share(totals, r, "revenue_share", "revenue") for _, r in totals.iterrows()
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


def _find_monthly(t: dict[str, pd.DataFrame], f: Facts) -> None:
    df = t["monthly_revenue"]
    d = df[np.isfinite(df["revenue"]) & df["month"].notna()].sort_values("month")
    complete = d[as_flags(d["is_complete"])]
    partial = d[~as_flags(d["is_complete"])]
    if complete.empty:
        if len(partial):
            f.add(
                "No month of the data is complete yet, so there is no monthly average "
                f"(partial: {months_list(partial['month'])})."
            )
        return
    # Complete months only: a partial first or last month reads as a collapse.
    mean = first_number(complete["mean_monthly_revenue"])
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
        text += f"; the partial months ({months_list(partial['month'])}) are left out"
    f.add(
        text + ".",
        mean_monthly_revenue=mean,
        months=len(complete),
        peak_monthly_revenue=peak["revenue"],
    )


# Order of the findings: retention first (the project's question), then value, then operations.
FINDERS = (
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


def find_facts(tables: dict[str, pd.DataFrame], margins: ReportMargins) -> Facts:
    """The findings of normalised ``tables``, in report order."""
    facts = Facts(margins=margins)
    for finder in FINDERS:
        finder(tables, facts)
    return facts

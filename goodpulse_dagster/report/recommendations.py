"""The recommended actions, chosen by rules (``Thresholds``, ``settings.ReportMargins``) on the
numbers the findings quote, most urgent first."""

from __future__ import annotations

from dataclasses import dataclass

from goodpulse_dagster.report.findings import Facts
from goodpulse_dagster.report.formatting import NA, fmt_num, fmt_pct, fmt_points


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


def recommend(facts: Facts, th: Thresholds) -> list[str]:
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

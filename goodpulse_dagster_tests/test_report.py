"""The executive report (goodpulse_dagster/report) on the fixture KPI tables.

Expected numbers are computed here directly from the fixture DataFrames (mostly from their raw
counts and revenues, not from the share columns the report reads), then compared with the numbers
parsed back out of the findings sentences; ``Report.numbers`` is only checked against the same
independent values.
"""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from goodpulse_dagster import schema
from goodpulse_dagster.errors import UserSettingsError
from goodpulse_dagster.report import (
    HTML_FILE,
    MARKDOWN_FILE,
    SECTIONS,
    build_report,
    fmt_pct,
    kpi_chart_markdown,
    write_report,
)
from goodpulse_dagster.settings import ReportMargins, report_margins_from_env
from goodpulse_dagster_tests.browser import (
    block_external_requests,
    chromium_browser,
    requires_chromium,
)
from goodpulse_dagster_tests.fixtures.kpi_tables import build_kpi_tables, empty_kpi_tables
from goodpulse_dagster_tests.golden import GENERATED_AT as GOLDEN_GENERATED_AT
from goodpulse_dagster_tests.golden import GOLDEN_DIR, check_golden, golden_tables

GENERATED_AT = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
# Variant B changes revenues, customer counts, repeat behaviour and N of "top N cities".
VARIANT_A: dict = {}
VARIANT_B = {
    "n_customers": 180,
    "seed": 11,
    "revenue_scale": 2.5,
    "repeat_share": 0.28,
    "power_share": 0.07,
    "top_n_cities": 5,
}
# Variant C: almost nobody comes back, so the second-purchase rule must fire.
VARIANT_C = {"n_customers": 200, "seed": 3, "repeat_share": 0.02, "power_share": 0.0}

EXPECTED_CHARTS = (
    "frequency_tiers",
    "value_segment_rpc",
    "monthly_revenue",
    "delivery_review",
    "top_segments",
    "channel_value",
    "cohort_quarter",
    "cohort_month",
    "channel_revenue",
    "lifecycle_revenue",
    "period1_retention",
    "repeat_funnel",
    "value_concentration",
    "city_concentration",
    "health_by_value",
)

# --- parsing the findings back --------------------------------------------------------------

P = r"-?\d+\.\d"  # a percentage as printed (one decimal), without the % sign
F = r"-?\d+\.\d+"
I = r"\d[\d,]*"  # noqa: E741 - an integer with thousands separators
MONTH = r"[A-Z][a-z]{2} \d{4}"
QUARTER = r"Q\d \d{4}"
FINDING_PATTERNS = (
    rf"^(?P<one_time_customer_share>{P})% of customers bought once; together they bring "
    rf"(?P<one_time_revenue_share>{P})% of revenue\.$",
    rf"^(?P<repeat_conversion>{P})% of customers placed a second order \((?P<repeat_customers>{I}) "
    rf"customers?\), and (?P<power_user_conversion>{P})% of those went on to become Power Users\.$",
    rf"^Period-1 retention is (?P<period1_retention_quarter>{P})% quarter over quarter \(cohorts "
    rf"(?P<first_quarter>{QUARTER}) to (?P<last_quarter>{QUARTER})\) and "
    rf"(?P<period1_retention_month>{P})% month over month \(cohorts (?P<first_month>{MONTH}) to "
    rf"(?P<last_month>{MONTH})\), counting the cohorts whose next period the data covers in "
    r"full\.$",
    rf"^Active customers hold (?P<active_revenue_share>{P})% of revenue and make up "
    rf"(?P<active_customer_share>{P})% of the customer base\.$",
    rf"^VIP customers, the top spenders by definition, are (?P<vip_customer_share>{P})% of "
    rf"customers and generate (?P<vip_revenue_share>{P})% of revenue; a VIP spends "
    rf"R\$ (?P<vip_revenue_per_customer>{I}) on average, (?P<vip_to_high_value_multiple>{F})x a "
    r"High Value "
    rf"customer \(R\$ (?P<high_value_revenue_per_customer>{I})\)(?P<vip_verdict>.*)\.$",
    rf"^(?P<high_value_lapsed_share>{P})% of High Value and VIP customers are At Risk or "
    rf"Dormant, against (?P<other_lapsed_share>{P})% of the other customers "
    rf"\((?P<lapsed_gap>[+-]\d+\.\d) points\)(?P<lapsed_verdict>.*)\.$",
    rf"^The top (?P<top_n_cities>{I}) cities generate (?P<top_n_cities_revenue_share>{P})% of "
    rf"revenue and hold (?P<top_n_cities_customer_share>{P})% of customers; their customers "
    rf"spend (?P<top_n_cities_rpc_ratio>{F})x the average customer(?P<city_verdict>.*)\.$",
    rf"^Delivery days and review score correlate at r = (?P<delivery_review_correlation>{F}): "
    rf"orders delivered in (?P<fast_bucket>\S+) days average (?P<fastest_bucket_review_score>{F}) "
    rf"stars versus (?P<slowest_bucket_review_score>{F}) for (?P<slow_bucket>\S+) days\.$",
    rf"^(?P<on_time_rate>{P})% of delivered orders arrived by the estimated date, and the average "
    rf"review score is (?P<avg_review_score>{F})\.$",
    rf"^Customers whose first seller came through the marketing funnel bring "
    rf"(?P<attributed_revenue_share>{P})% of revenue; the largest channel, (?P<top_channel>\w+), "
    rf"brings (?P<top_channel_revenue_share>{P})%\.$",
    rf"^Monthly revenue averaged R\$ (?P<mean_monthly_revenue>{I}) over (?P<months>{I}) complete "
    rf"months (?:with orders )?\((?P<first_complete_month>{MONTH}) to "
    rf"(?P<last_complete_month>{MONTH})(?:; \d+ months? without a completed order)?\) and "
    rf"peaked at R\$ (?P<peak_monthly_revenue>{I}) in (?P<peak_month>{MONTH}); the partial months "
    rf"\((?P<partial_months>{MONTH}(?:, {MONTH})*)\) are left out\.$",
)
# Groups that name a category, a period or a verdict rather than quote a number.
LABEL_GROUPS = {
    "fast_bucket",
    "slow_bucket",
    "top_channel",
    "peak_month",
    "first_quarter",
    "last_quarter",
    "first_month",
    "last_month",
    "first_complete_month",
    "last_complete_month",
    "partial_months",
    "vip_verdict",
    "lapsed_verdict",
    "city_verdict",
}
# Numbers recorded in Report.numbers that are settings (ReportMargins), not table values.
MARGIN_NUMBERS = {"lapsed_margin", "vip_min_multiple", "city_rpc_margin"}
# How each quoted number is printed: its absolute rounding tolerance, in the units of
# Report.numbers (shares as fractions). Unlisted names are percentages with one decimal.
TOLERANCE = {
    "repeat_customers": 0,
    "top_n_cities": 0,
    "months": 0,
    "mean_monthly_revenue": 0.5,
    "peak_monthly_revenue": 0.5,
    "vip_to_high_value_multiple": 0.005,
    "top_n_cities_rpc_ratio": 0.005,
    "vip_revenue_per_customer": 0.5,
    "high_value_revenue_per_customer": 0.5,
    "delivery_review_correlation": 0.005,
    "fastest_bucket_review_score": 0.005,
    "slowest_bucket_review_score": 0.005,
    "avg_review_score": 0.005,
}
PCT_TOLERANCE = 0.0005


def parse_findings(findings: list[str]) -> dict[str, float | str]:
    """Every number (and label) of the findings, by name, in Report.numbers units."""
    parsed: dict[str, float | str] = {}
    for pattern in FINDING_PATTERNS:
        hits = [m for m in (re.match(pattern, f) for f in findings) if m]
        assert len(hits) == 1, f"expected one finding matching {pattern!r} in {findings}"
        for name, text in hits[0].groupdict().items():
            if name in LABEL_GROUPS:
                parsed[name] = text
            elif name in TOLERANCE:
                parsed[name] = float(text.replace(",", ""))
            elif name == "lapsed_gap":
                parsed[name] = float(text) / 100  # signed percentage points
            else:
                parsed[name] = float(text) / 100
    return parsed


def expected_numbers(t: dict[str, pd.DataFrame]) -> dict[str, float | str]:
    """The findings' numbers, computed straight from the fixture tables' counts and sums."""
    freq = t["frequency_distribution"].set_index("frequency_tier")
    funnel = t["repeat_funnel"].iloc[0]
    life = t["lifecycle_revenue"].set_index("lifecycle_stage")
    value = t["value_concentration"].set_index("value_segment")
    health = t["health_by_value"]
    city = t["city_concentration"]
    delivery = t["delivery_vs_review"].sort_values("bucket_order")
    northstar = t["northstar"].iloc[0]
    channels = t["channel_revenue"][t["channel_revenue"]["value_segment"].isna()]
    monthly = t["monthly_revenue"]
    cohorts = t["cohort_retention"]

    # Period 1 counts only where the cohort's next period is complete (its is_complete flag).
    idx1 = cohorts[(cohorts["period_index"] == 1) & cohorts["is_complete"]]
    p1 = {
        g: idx1.loc[idx1["grain"] == g, "active_customers"].sum()
        / idx1.loc[idx1["grain"] == g, "cohort_size"].sum()
        for g in ("quarter", "month")
    }
    p1_cohorts = {g: sorted(idx1.loc[idx1["grain"] == g, "cohort"]) for g in ("quarter", "month")}

    def quarter(ts) -> str:
        return f"Q{(ts.month - 1) // 3 + 1} {ts.year}"

    is_hv = health["value_segment"].isin(["High Value", "VIP"])
    hv, others = health[is_hv], health[~is_hv]
    lapsed = ["At Risk", "Dormant"]
    hv_lapsed = (
        hv.loc[hv["lifecycle_stage"].isin(lapsed), "customers"].sum() / hv["customers"].sum()
    )
    other_lapsed = (
        others.loc[others["lifecycle_stage"].isin(lapsed), "customers"].sum()
        / others["customers"].sum()
    )
    complete = monthly[monthly["is_complete"]].sort_values("month")
    partial = monthly[~monthly["is_complete"]].sort_values("month")
    top = city[city["is_top_n"]]
    marketing = channels[~channels["acquisition_channel"].isin(["unattributed", "unknown"])]
    best = marketing.sort_values("revenue", ascending=False).iloc[0]
    peak = complete.sort_values("revenue", ascending=False).iloc[0]
    vip_cs = value.at["VIP", "customers"] / value["customers"].sum()
    vip_rs = value.at["VIP", "revenue"] / value["revenue"].sum()
    vip_rpc = value.at["VIP", "revenue"] / value.at["VIP", "customers"]
    hv_rpc = value.at["High Value", "revenue"] / value.at["High Value", "customers"]
    top_rs = top["revenue"].sum() / city["revenue"].sum()
    top_cs = top["customers"].sum() / city["customers"].sum()
    return {
        "one_time_customer_share": freq.at["One-time", "customers"] / freq["customers"].sum(),
        "one_time_revenue_share": freq.at["One-time", "revenue"] / freq["revenue"].sum(),
        "repeat_conversion": funnel["customers_2_plus"] / funnel["customers_1_plus"],
        "repeat_customers": funnel["customers_2_plus"],
        "power_user_conversion": funnel["customers_5_plus"] / funnel["customers_2_plus"],
        "period1_retention_quarter": p1["quarter"],
        "period1_retention_month": p1["month"],
        "first_quarter": quarter(p1_cohorts["quarter"][0]),
        "last_quarter": quarter(p1_cohorts["quarter"][-1]),
        "first_month": pd.Timestamp(p1_cohorts["month"][0]).strftime("%b %Y"),
        "last_month": pd.Timestamp(p1_cohorts["month"][-1]).strftime("%b %Y"),
        "active_revenue_share": life.at["Active", "revenue"] / life["revenue"].sum(),
        "active_customer_share": life.at["Active", "customers"] / life["customers"].sum(),
        "vip_customer_share": vip_cs,
        "vip_revenue_share": vip_rs,
        "vip_revenue_per_customer": vip_rpc,
        "high_value_revenue_per_customer": hv_rpc,
        "vip_to_high_value_multiple": vip_rpc / hv_rpc,
        "high_value_lapsed_share": hv_lapsed,
        "other_lapsed_share": other_lapsed,
        "lapsed_gap": hv_lapsed - other_lapsed,
        "top_n_cities": len(top),
        "top_n_cities_revenue_share": top_rs,
        "top_n_cities_customer_share": top_cs,
        "top_n_cities_rpc_ratio": top_rs / top_cs,
        "delivery_review_correlation": delivery["correlation"].iloc[0],
        "fast_bucket": delivery["delivery_bucket"].iloc[0],
        "slow_bucket": delivery["delivery_bucket"].iloc[-1],
        "fastest_bucket_review_score": delivery["avg_review_score"].iloc[0],
        "slowest_bucket_review_score": delivery["avg_review_score"].iloc[-1],
        "on_time_rate": northstar["on_time_rate"],
        "avg_review_score": northstar["avg_review_score"],
        "attributed_revenue_share": marketing["revenue"].sum() / channels["revenue"].sum(),
        "top_channel": best["acquisition_channel"],
        "top_channel_revenue_share": best["revenue"] / channels["revenue"].sum(),
        "mean_monthly_revenue": complete["revenue"].mean(),
        "months": len(complete),
        "first_complete_month": pd.Timestamp(complete["month"].iloc[0]).strftime("%b %Y"),
        "last_complete_month": pd.Timestamp(complete["month"].iloc[-1]).strftime("%b %Y"),
        "partial_months": ", ".join(pd.Timestamp(m).strftime("%b %Y") for m in partial["month"]),
        "peak_monthly_revenue": peak["revenue"],
        "peak_month": pd.Timestamp(peak["month"]).strftime("%b %Y"),
    }


def assert_close(name: str, got: float | str, want: float | str) -> None:
    if name.endswith("_verdict"):
        return  # wording, tested by the margin rules below
    if isinstance(want, str):
        assert got == want, name
        return
    tol = TOLERANCE.get(name, PCT_TOLERANCE) + 1e-9
    assert abs(float(got) - float(want)) <= tol, f"{name}: got {got}, want {want} (+-{tol})"


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tables_a() -> dict[str, pd.DataFrame]:
    return build_kpi_tables(**VARIANT_A)


@pytest.fixture(scope="module")
def tables_b() -> dict[str, pd.DataFrame]:
    return build_kpi_tables(**VARIANT_B)


@pytest.fixture(scope="module")
def report_a(tables_a):
    return build_report(tables_a, generated_at=GENERATED_AT)


@pytest.fixture(scope="module")
def report_b(tables_b):
    return build_report(tables_b, generated_at=GENERATED_AT)


@pytest.fixture(scope="module")
def report_c():
    return build_report(build_kpi_tables(**VARIANT_C), generated_at=GENERATED_AT)


def visible_text(doc: str) -> str:
    """The document without its data URIs (base64 can spell anything)."""
    return re.sub(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+", "data:", doc)


# --- structure -----------------------------------------------------------------------------------


def test_every_section_heading_is_in_html_and_markdown(report_a):
    for title in SECTIONS.values():
        assert f"<h2>{title}</h2>" in report_a.html, title
        assert f"\n## {title}\n" in report_a.markdown, title
    assert report_a.sections == list(SECTIONS.values())
    # Sub-headings of the panels and the four KPI panels.
    for h3 in ("Findings", "Recommended actions", "Revenue", "Customers"):
        assert f"<h3>{h3}</h3>" in report_a.html
    assert report_a.html.count("<h3>KPI ") == 4
    assert report_a.markdown.count("\n### KPI ") == 4


def test_charts_are_inline_svgs(report_a):
    assert [c.key for c in report_a.charts] == list(EXPECTED_CHARTS)
    assert report_a.html.count("<img") == len(EXPECTED_CHARTS)
    assert report_a.markdown.count("](data:image/svg+xml;base64,") == len(EXPECTED_CHARTS)
    imgs = re.findall(
        r'<figure><img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"'
        r' width="(\d+)" height="(\d+)"',
        report_a.html,
    )
    assert len(imgs) == len(EXPECTED_CHARTS)
    for (src, alt, width, height), chart in zip(imgs, report_a.charts, strict=True):
        svg = base64.b64decode(src).decode("utf-8")
        assert svg == chart.svg and alt == html.escape(chart.title)
        root = ET.fromstring(svg)  # well-formed XML
        assert root.tag == "{http://www.w3.org/2000/svg}svg", chart.key
        # The <img> is sized as the SVG declares, and the SVG as drawn (800x400 and the like).
        assert (
            (root.get("width"), root.get("height"))
            == (width, height)
            == (
                str(chart.width),
                str(chart.height),
            )
        )
        assert 700 <= chart.width <= 1000 and 250 <= chart.height <= 900, chart.key
        # Small: vector markup, a few kB (the PNGs were 20-70 kB).
        assert 1_000 < len(svg) < 60_000, chart.key
    # The Markdown embeds the same images.
    md = re.findall(r"\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", report_a.markdown)
    assert md == [i[0] for i in imgs]


def test_html_is_self_contained(report_a):
    html = report_a.html
    for pattern in (r"https?://", r"""(src|href)\s*=\s*["']?//""", r"url\(", r"@import"):
        assert not re.search(pattern, html, re.IGNORECASE), pattern
    for tag in ("<script", "<link", "<iframe", "<object", "<embed"):
        assert tag not in html.lower(), tag
    assert re.search(r"<style>.+</style>", html, re.DOTALL)
    assert not re.search(r"https?://", report_a.markdown)
    # Anchors only point inside the page.
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', html))


def test_pivots_are_heat_shaded_tables(report_a, tables_a):
    section = report_a.html.split('id="recency-value"')[1].split("</section>")[0]
    assert section.count('<table class="heat">') == 2
    styles = re.findall(r'style="background-color:#([0-9A-F]{6});color:#[0-9A-F]{6}"', section)
    pivot = tables_a["recency_value_pivot"]
    assert len(styles) == 2 * len(pivot)  # one shaded cell per (value segment, stage)
    assert len(set(styles)) > 4  # intensity varies with the value
    # The largest revenue cell gets the darkest shade.
    biggest = pivot.loc[pivot["revenue"].idxmax()]
    cell = re.search(r'style="([^"]+)">R\$ {:,.0f}</td>'.format(biggest["revenue"]), section)
    assert cell and "#2B6CB0" in cell.group(1)


# --- findings ------------------------------------------------------------------------------------


def test_findings_quote_the_table_values(report_a, tables_a):
    parsed = parse_findings(report_a.findings)
    want = expected_numbers(tables_a)
    for name, value in want.items():
        assert_close(name, parsed[name], value)
    # Report.numbers records every quoted number, unrounded, and the margins the rules used.
    assert set(report_a.numbers) == (set(want) - LABEL_GROUPS) | MARGIN_NUMBERS
    for name, value in report_a.numbers.items():
        if name not in MARGIN_NUMBERS:
            assert abs(value - float(want[name])) < 1e-9, name
    # The Findings section of both documents holds exactly these sentences.
    for sentence in report_a.findings:
        assert html.escape(sentence) in report_a.html
    assert "\n- " + report_a.findings[0] in report_a.markdown


def _number_tokens(sentence: str) -> list[str]:
    """Numeric tokens of a sentence, after removing category labels that contain digits."""
    # "<0.1%" is a formatting floor (a share too small to print), not a figure.
    text = re.sub(
        r"Period-1|\b\d+-\d+\b|\b\d+\+|[A-Z][a-z]{2} \d{4}|Q\d \d{4}|<0\.1%", " ", sentence
    )
    return re.findall(r"-?\d+(?:,\d{3})*(?:\.\d+)?", text)


def _printed_forms(value: float) -> set[str]:
    return {
        f"{value * 100:.1f}",
        f"{value:,.0f}",
        f"{value:.2f}",
        f"{value:.1f}",
    }


@pytest.mark.parametrize("report_name", ["report_a", "report_b", "report_c"])
def test_no_number_is_baked_into_the_text(report_name, request):
    """Every number in findings and recommendations is a printed value of Report.numbers."""
    report = request.getfixturevalue(report_name)
    printed = set().union(*(_printed_forms(v) for v in report.numbers.values()))
    for sentence in report.findings + report.recommendations:
        for token in _number_tokens(sentence):
            assert token in printed, f"{token!r} in {sentence!r} is not from Report.numbers"


def test_findings_follow_the_data(report_a, report_b, tables_b):
    a, b = parse_findings(report_a.findings), parse_findings(report_b.findings)
    want_b = expected_numbers(tables_b)
    for name, value in want_b.items():
        assert_close(name, b[name], value)
    for name in (
        "one_time_customer_share",
        "repeat_customers",
        "active_revenue_share",
        "top_n_cities",
        "top_n_cities_revenue_share",
        "mean_monthly_revenue",
        "peak_monthly_revenue",
        "delivery_review_correlation",
        "period1_retention_quarter",
    ):
        assert a[name] != b[name], name
    assert a["top_n_cities"] == 7 and b["top_n_cities"] == 5  # N is counted from is_top_n
    # Revenue scaled by 2.5 with fewer customers: the monthly mean moves the same way.
    assert b["mean_monthly_revenue"] > a["mean_monthly_revenue"]


def test_recommendations_are_chosen_by_rules(report_a, report_b, report_c):
    one_time = {
        r.numbers["one_time_customer_share"]: r.recommendations[0]
        for r in (report_a, report_b, report_c)
    }
    for share, first in one_time.items():
        if share > 0.90:
            assert first.startswith("Launch a second-purchase program"), (share, first)
        elif share > 0.70:
            assert first.startswith("Add repeat-purchase nudges"), (share, first)
        else:
            assert first.startswith("Repeat buying is healthy"), (share, first)
    assert len({first.split(":")[0] for first in one_time.values()}) == 3  # all three branches
    # The fixture's slow deliveries hurt reviews in every variant: the delivery rule fires.
    for r in (report_a, report_b, report_c):
        assert any("delivery-time targets" in x for x in r.recommendations)
        assert r.numbers["delivery_review_correlation"] <= -0.2
    for rec in report_a.recommendations:
        assert rec in report_a.html


# --- robustness ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tables", [empty_kpi_tables(), {}], ids=["empty", "missing"])
def test_empty_tables_render_no_data_sections(tables):
    report = build_report(tables, generated_at=GENERATED_AT)
    for title in SECTIONS.values():
        assert f"<h2>{title}</h2>" in report.html
        assert f"## {title}" in report.markdown
    assert report.charts == [] and "<img" not in report.html
    assert report.findings == [] and report.numbers == {} and report.recommendations == []
    assert report.html.count("No data") >= 12
    assert report.chart_markdown(["monthly_revenue"]) == ""
    # The appendix never depends on data.
    assert "Lifecycle stage" in report.html


def test_nan_values_and_empty_categories(tables_a):
    t = {k: v.copy() for k, v in tables_a.items()}
    t["northstar"].loc[0, ["avg_review_score", "on_time_rate", "aov"]] = np.nan
    t["delivery_vs_review"]["correlation"] = np.nan
    t["delivery_vs_review"].loc[0, "avg_review_score"] = np.nan
    # A category with no customers, as the KPI layer emits it: zero counts, NULL shares.
    empty_stage = {c: np.nan for c in schema.KPI_TABLES["lifecycle_revenue"]}
    empty_stage.update(lifecycle_stage="Lapsed", customers=0, revenue=0.0)
    t["lifecycle_revenue"] = pd.concat(
        [t["lifecycle_revenue"], pd.DataFrame([empty_stage])], ignore_index=True
    )
    t["monthly_revenue"].loc[3, "revenue"] = np.nan
    t["city_concentration"]["top_n_revenue_share"] = np.nan
    # Nullable integer and boolean columns, as DuckDB hands them over.
    t["city_concentration"]["customers"] = t["city_concentration"]["customers"].astype("Int64")
    t["city_concentration"]["is_top_n"] = t["city_concentration"]["is_top_n"].astype("boolean")
    report = build_report(t, generated_at=GENERATED_AT)
    text = visible_text(report.html).lower()
    assert not re.search(r"\bnan\b|\binf\b", text)
    assert "n/a" in text
    assert not any("nan" in f.lower() for f in report.findings)
    assert all(np.isfinite(v) for v in report.numbers.values())
    assert "delivery_review_correlation" not in report.numbers
    # The top-N share is recomputed from the rows when the headline column is NULL.
    city = t["city_concentration"]
    want = city.loc[city["is_top_n"], "revenue"].sum() / city["revenue"].sum()
    assert report.numbers["top_n_cities_revenue_share"] == pytest.approx(want)
    assert len(report.charts) == len(EXPECTED_CHARTS)


def test_contract_violation_is_an_error(tables_a):
    t = dict(tables_a)
    t["northstar"] = t["northstar"].drop(columns=["total_revenue"])
    with pytest.raises(ValueError, match="total_revenue"):
        build_report(t)


def test_output_is_deterministic(tables_a, report_a):
    again = build_report(tables_a, generated_at=GENERATED_AT)
    assert again.html == report_a.html
    assert again.markdown == report_a.markdown


# --- files and UI metadata ---------------------------------------------------------------------


def test_write_report(report_a, tmp_path):
    paths = write_report(report_a, tmp_path / "out")
    assert paths == {
        "html": tmp_path / "out" / HTML_FILE,
        "markdown": tmp_path / "out" / MARKDOWN_FILE,
    }
    assert paths["html"].read_text(encoding="utf-8") == report_a.html
    assert paths["markdown"].read_text(encoding="utf-8") == report_a.markdown
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [HTML_FILE, MARKDOWN_FILE]
    )


def test_chart_markdown(report_a):
    md = report_a.chart_markdown(["monthly_revenue", "city_concentration"])
    assert md.count("](data:image/svg+xml;base64,") == 2
    assert md.startswith("**Monthly revenue**\n\n![Monthly revenue](data:image/svg+xml;base64,")
    assert report_a.chart_markdown("repeat_funnel").count("![") == 1
    with pytest.raises(KeyError):
        report_a.chart_markdown(["no_such_chart"])


def test_kpi_chart_markdown(tables_a):
    for name, df in tables_a.items():
        md = kpi_chart_markdown(name, df)
        if name == "northstar":
            assert md is None  # tiles, not a chart
            continue
        assert md is not None and md.startswith("![") and "(data:image/svg+xml;base64," in md, name
        # The chart drawn for the asset is the chart the report draws from the same table.
        src = md.split("(data:image/svg+xml;base64,")[1].split(")")[0]
        svg = base64.b64decode(src).decode("utf-8")
        assert ET.fromstring(svg).get("width") in ("800", "900"), name
        assert kpi_chart_markdown(name, df.iloc[0:0]) is None, name
    assert kpi_chart_markdown("cohort_retention", tables_a["cohort_retention"]).count("![") == 2
    assert kpi_chart_markdown("no_such_table", tables_a["northstar"]) is None


# --- in a real browser -------------------------------------------------------------------------


@pytest.mark.browser
@requires_chromium
def test_report_renders_in_chromium(report_a, tmp_path):
    paths = write_report(report_a, tmp_path)
    shot = tmp_path / "report.png"
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        blocked = block_external_requests(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(paths["html"].as_uri(), wait_until="load")
        loaded = page.evaluate(
            "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        )
        natural = page.evaluate(
            "Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight])"
        )
        text = page.inner_text("body")
        page.screenshot(path=str(shot), full_page=True)
    assert blocked == [] and errors == []
    assert loaded == [True] * len(EXPECTED_CHARTS)
    # Chromium decoded every SVG at its declared size.
    assert natural == [[c.width, c.height] for c in report_a.charts]
    for title in SECTIONS.values():
        assert title in text, title
    for sentence in report_a.findings[:3]:
        assert sentence in text
    png = shot.read_bytes()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert png.startswith(b"\x89PNG") and len(png) > 200_000
    assert width == 1280 and height > 5_000  # the whole long page, not a blank viewport


# --- margins: a group is singled out only when it stands apart (settings.ReportMargins) --------
# Each rule on a small hand-made table, on both sides of its threshold. Defaults: 5 points for
# the lapsed gap, 2x for VIP / High Value revenue per customer, 10% for the top cities' revenue
# per customer over the average, 1% of customers for a group worth naming.


def _with(tables: dict[str, pd.DataFrame], **replaced: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {**tables, **replaced}


def _health(high_value_lapsed: int) -> pd.DataFrame:
    """High Value: ``high_value_lapsed`` of 100 At Risk; VIP: 10 of 20 Dormant (so 30 + hv of
    120 lapsed); Low and Medium Value: 50 of 100 each lapsed (50% of the others)."""
    cells = {
        ("Low Value", "Active"): 50,
        ("Low Value", "Dormant"): 50,
        ("Medium Value", "Warm"): 50,
        ("Medium Value", "At Risk"): 50,
        ("High Value", "Active"): 100 - high_value_lapsed,
        ("High Value", "At Risk"): high_value_lapsed,
        ("VIP", "Active"): 10,
        ("VIP", "Dormant"): 10,
    }
    sizes = {"Low Value": 100, "Medium Value": 100, "High Value": 100, "VIP": 20}
    rows = [
        (v, s, cells.get((v, s), 0), cells.get((v, s), 0) / sizes[v])
        for v in schema.VALUE_SEGMENTS
        for s in schema.LIFECYCLE_STAGES
    ]
    return pd.DataFrame(rows, columns=list(schema.KPI_TABLES["health_by_value"]))


def _finding(report, start: str) -> str:
    (hit,) = [f for f in report.findings if f.startswith(start)]
    return hit


@pytest.mark.parametrize(
    ("hv_lapsed", "fires"),
    [
        # (58 + 10) / 120 = 56.7% against 50%: 6.7 points, above the 5-point margin.
        (58, True),
        # (55 + 10) / 120 = 54.2%: 4.2 points, under it.
        (55, False),
    ],
)
def test_reactivate_high_value_first_needs_the_lapsed_margin(tables_a, hv_lapsed, fires):
    report = build_report(_with(tables_a, health_by_value=_health(hv_lapsed)))
    share = (hv_lapsed + 10) / 120
    assert report.numbers["high_value_lapsed_share"] == pytest.approx(share)
    assert report.numbers["other_lapsed_share"] == pytest.approx(0.5)
    assert report.numbers["lapsed_gap"] == pytest.approx(share - 0.5)
    rec = [r for r in report.recommendations if r.startswith("Re-activate lapsed high-value")]
    finding = _finding(report, f"{share * 100:.1f}% of High Value and VIP customers")
    assert f"against 50.0% of the other customers (+{(share - 0.5) * 100:.1f} points)" in finding
    if fires:
        assert rec == [
            f"Re-activate lapsed high-value customers first: {share * 100:.1f}% of High Value and "
            f"VIP customers are At Risk or Dormant, +{(share - 0.5) * 100:.1f} points against the "
            "other customers."
        ]
        assert "no more common" not in finding
    else:
        assert rec == []
        assert finding.endswith(
            ": lapsing is no more common among high-value customers than among the others "
            "(the margin is 5.0 points)."
        )


def test_the_lapsed_margin_comes_from_the_settings(tables_a):
    # 4.2 points clears a 4-point margin (GOODPULSE_REPORT_LAPSED_MARGIN_PP=4).
    margins = report_margins_from_env({"GOODPULSE_REPORT_LAPSED_MARGIN_PP": "4"})
    assert margins.lapsed_margin == pytest.approx(0.04)
    report = build_report(_with(tables_a, health_by_value=_health(55)), margins=margins)
    assert any(r.startswith("Re-activate lapsed high-value") for r in report.recommendations)


def _value(vip_revenue: float) -> pd.DataFrame:
    """20 Low (R$ 40 each), 60 Medium (R$ 100), 15 High Value (R$ 300), 5 VIP customers whose
    revenue totals ``vip_revenue``."""
    rows = [
        ("Low Value", 20, 800.0),
        ("Medium Value", 60, 6000.0),
        ("High Value", 15, 4500.0),
        ("VIP", 5, vip_revenue),
    ]
    total = sum(r for _, _, r in rows)
    return pd.DataFrame(
        [(v, n, r, r / total, r / n, n / 100) for v, n, r in rows],
        columns=list(schema.KPI_TABLES["value_concentration"]),
    )


@pytest.mark.parametrize(
    ("vip_revenue", "fires"),
    [
        (3050.0, True),  # R$ 610 a VIP against R$ 300: 2.03x, above the 2x floor
        (2950.0, False),  # R$ 590: 1.97x, under it (still 5% of customers, ~20% of revenue)
    ],
)
def test_vip_care_tier_needs_vips_to_stand_apart_from_high_value(tables_a, vip_revenue, fires):
    report = build_report(_with(tables_a, value_concentration=_value(vip_revenue)))
    multiple = vip_revenue / 5 / 300
    assert report.numbers["vip_to_high_value_multiple"] == pytest.approx(multiple)
    rec = [r for r in report.recommendations if r.startswith("Protect VIPs")]
    finding = _finding(report, "VIP customers")
    assert f"a VIP spends R$ {vip_revenue / 5:,.0f} on average, {multiple:.2f}x a High Value" in (
        finding
    )
    if fires:
        assert rec == [
            "Protect VIPs with a care tier (priority delivery, dedicated support): a VIP spends "
            f"{multiple:.2f}x what a High Value customer does."
        ]
        assert "do not stand out" not in finding
    else:
        assert rec == []
        assert finding.endswith(
            "under the 2.00x that would set them apart: VIPs do not stand out beyond what the "
            "top-spender cut guarantees."
        )


def _cities(top_revenue: float) -> pd.DataFrame:
    """Two cities; the top one (N = 1) holds 40 of 100 customers and ``top_revenue`` of R$ 100."""
    rows = [("big city", "SP", 40, top_revenue, 1), ("rest", "RJ", 60, 100.0 - top_revenue, 2)]
    return pd.DataFrame(
        [(c, s, n, r, r / 100, k, k == 1, top_revenue / 100) for c, s, n, r, k in rows],
        columns=list(schema.KPI_TABLES["city_concentration"]),
    )


@pytest.mark.parametrize(
    ("top_revenue", "fires"),
    [
        (45.0, True),  # 45% of revenue from 40% of customers: 1.125x, above the 10% margin
        (43.0, False),  # 43% from 40%: 1.075x, within 10% of the average customer
    ],
)
def test_city_focus_needs_the_top_cities_to_spend_more(tables_a, top_revenue, fires):
    report = build_report(_with(tables_a, city_concentration=_cities(top_revenue)))
    ratio = top_revenue / 40
    assert report.numbers["top_n_cities_rpc_ratio"] == pytest.approx(ratio)
    finding = _finding(report, "The top 1 cities")
    focus = [r for r in report.recommendations if r.startswith("Focus retention marketing")]
    assert f"their customers spend {ratio:.2f}x the average customer" in finding
    if fires:
        assert focus == [
            "Focus retention marketing and fast-delivery offers on the top 1 cities, which "
            f"generate {top_revenue:.1f}% of revenue; their customers spend {ratio:.2f}x the "
            "average customer."
        ]
    else:
        assert focus == []
        assert finding.endswith("within 10.0% of it: the top cities do not stand out.")
        # Concentrated (43% >= 30%) but not richer: no city recommendation of either kind.
        assert not any("cities" in r for r in report.recommendations)


def _funnel(power_users: int) -> pd.DataFrame:
    row = (1000, 100, power_users, 0.1, power_users / 100)
    return pd.DataFrame([row], columns=list(schema.KPI_TABLES["repeat_funnel"]))


@pytest.mark.parametrize(
    ("power_users", "negligible"),
    [(9, True), (11, False)],  # 0.9% and 1.1% of 1,000 customers, either side of 1%
)
def test_a_group_under_the_minimum_share_is_called_negligible(tables_a, power_users, negligible):
    northstar = tables_a["northstar"].copy()
    northstar["total_customers"] = 1000
    northstar["power_users"] = power_users
    report = build_report(_with(tables_a, repeat_funnel=_funnel(power_users), northstar=northstar))
    finding = _finding(report, "10.0% of customers placed a second order")
    tile = re.search(r"\| Power users \| [\d,]+ \| ([^|]*) \|", report.markdown).group(1)
    share = f"{power_users / 10:.1f}%"
    if negligible:
        assert finding.endswith(
            f"; Power Users are a negligible group ({power_users}, {share} of customers, under "
            "1.0%)."
        )
        assert tile == f"{share} of customers (negligible)"
    else:
        assert "negligible" not in finding and tile == f"{share} of customers"


def test_tiny_shares_print_as_under_a_tenth_of_a_percent():
    assert fmt_pct(0.0004) == "<0.1%"  # 5 of 12,500 would print as 0.0%: not an empty group
    assert fmt_pct(0.0006) == "0.1%"
    assert fmt_pct(0.0) == "0.0%"  # nobody is nobody
    assert fmt_pct(0.00004, decimals=2) == "<0.01%"


def test_report_margins_from_env_reads_percentages():
    margins = report_margins_from_env(
        {
            "GOODPULSE_REPORT_LAPSED_MARGIN_PP": "7.5",
            "GOODPULSE_REPORT_VIP_MIN_MULTIPLE": "3",
            "GOODPULSE_REPORT_CITY_RPC_MARGIN_PCT": "20",
            "GOODPULSE_REPORT_MIN_GROUP_PCT": "0.5",
        }
    )
    assert margins == ReportMargins(
        lapsed_margin=0.075, vip_min_multiple=3.0, city_rpc_margin=0.2, min_group_share=0.005
    )
    assert report_margins_from_env({}) == ReportMargins()
    with pytest.raises(UserSettingsError, match="GOODPULSE_REPORT_VIP_MIN_MULTIPLE"):
        report_margins_from_env({"GOODPULSE_REPORT_VIP_MIN_MULTIPLE": "0.5"})
    with pytest.raises(UserSettingsError, match="GOODPULSE_REPORT_LAPSED_MARGIN_PP"):
        report_margins_from_env({"GOODPULSE_REPORT_LAPSED_MARGIN_PP": "five"})


# --- complete periods in the report --------------------------------------------------------


def test_a_month_without_orders_is_named_in_the_monthly_finding(report_a, tables_a):
    """kpi.monthly_revenue lists months with a completed order only: with a complete month
    missing from the table, the finding counts the months it averages and names the gap."""
    monthly = tables_a["monthly_revenue"]
    complete = monthly[monthly["is_complete"]]
    gap = complete["month"].iloc[3]  # a month inside the complete range
    assert f"{int(complete['is_complete'].sum())} complete months (" in report_a.markdown
    report = build_report(_with(tables_a, monthly_revenue=monthly[monthly["month"] != gap]))
    finding = _finding(report, "Monthly revenue averaged")
    first, last = complete["month"].iloc[0], complete["month"].iloc[-1]
    expected = (
        f"over {len(complete) - 1} complete months with orders ({first:%b %Y} to {last:%b %Y}; "
        "1 month without a completed order)"
    )
    assert expected in finding, finding


def test_partial_periods_are_marked_and_left_out(report_a, tables_a):
    monthly = tables_a["monthly_revenue"]
    partial = monthly[~monthly["is_complete"]]["month"].map(lambda m: m.strftime("%b %Y"))
    assert list(partial) == ["Jan 2017", "Aug 2018"]  # the fixture data runs Jan 5 to Aug 20
    section = report_a.markdown.split("## Monthly revenue trend")[1].split("\n## ")[0]
    complete = int(monthly["is_complete"].sum())
    assert f"mean of the {complete} complete months" in section
    assert "Hollow markers on a dashed line: partial months" in section
    assert "(Jan 2017, Aug 2018); they are left out of the mean." in section
    assert section.count("| partial |") == 2
    # KPI 1 names the cohorts it pools; the heatmap caption says blank is not 0%.
    p1 = tables_a["period1_retention"]
    last_q = p1[~p1["is_headline"] & p1["is_complete"] & (p1["grain"] == "quarter")]["cohort"].max()
    assert f"to Q{(last_q.month - 1) // 3 + 1} {last_q.year}" in report_a.markdown
    assert "never a 0%" in report_a.markdown
    assert "log scale" in report_a.markdown.split("### KPI 2: repeat funnel")[1]


def test_national_channels_under_the_concentration_threshold(tables_a):
    # 25% of revenue from 40% of customers: under the 30% concentration threshold, and the top
    # city's customers spend less than the average (0.62x).
    report = build_report(_with(tables_a, city_concentration=_cities(25.0)))
    assert [r for r in report.recommendations if "cities" in r] == [
        "Favour national channels over city campaigns: the top 1 cities generate only 25.0% of "
        "revenue, and their customers spend 0.62x the average customer."
    ]


# --- golden files: the exact bytes of the report from the hand-made input ----------------------


@pytest.fixture(scope="module")
def golden_report():
    return build_report(golden_tables(), generated_at=GOLDEN_GENERATED_AT)


def test_html_report_matches_its_golden_file(golden_report):
    check_golden(GOLDEN_DIR / "report.html", golden_report.html)


def test_markdown_report_matches_its_golden_file(golden_report):
    check_golden(GOLDEN_DIR / "report.md", golden_report.markdown)


# --- templates: escaping and packaging -----------------------------------------------------------


def test_text_from_the_data_is_escaped_in_the_html(tables_a):
    # An acquisition channel whose name is markup: it must show as text, never as a tag.
    name = """<b onclick="x()">Tom & Jerry's</b>"""
    channels = tables_a["channel_revenue"].copy()
    channels["acquisition_channel"] = channels["acquisition_channel"].replace("email", name)
    report = build_report(_with(tables_a, channel_revenue=channels), generated_at=GENERATED_AT)
    assert "<b onclick" not in report.html
    escaped = "&lt;b onclick=&quot;x()&quot;&gt;Tom &amp; Jerry&#x27;s&lt;/b&gt;"
    section = report.html.split('id="channels"')[1].split("</section>")[0]
    assert f"<td>{escaped}</td>" in section  # the channel table's first column


def test_an_unknown_block_is_an_error():
    from goodpulse_dagster.report.render_html import template_of

    with pytest.raises(TypeError, match="unknown block str"):
        template_of("not a block")


def test_templates_and_stylesheet_are_package_data():
    """Every file of the report package that is not Python matches a package-data pattern of
    pyproject.toml, so it ships in the wheel (the templates are read at render time)."""
    import fnmatch
    import tomllib
    from pathlib import Path

    import goodpulse_dagster

    root = Path(goodpulse_dagster.__file__).parent
    config = tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["goodpulse_dagster"]
    data = [
        p.relative_to(root).as_posix()
        for p in (root / "report").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc")
    ]
    assert "report/report.css" in data and "report/templates/page.html.j2" in data
    for path in data:
        # "**/" also matches no folder at all (setuptools' glob does).
        assert any(
            fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/"))
            for p in patterns
        ), path

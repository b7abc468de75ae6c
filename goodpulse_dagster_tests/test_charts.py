"""The SVG charts (goodpulse_dagster/charts), drawn from the fixture KPI tables.

Each chart is parsed as XML and read back: its bars, cells, labels and texts are compared with
values computed here from the fixture tables. The drawing blocks name their groups (``<g
class="bars">``, ``"bar-labels"``, ``"cells"``, ...), which is how the tests find them.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from goodpulse_dagster import charts, schema
from goodpulse_dagster.charts import PREDICTION_CHARTS
from goodpulse_dagster.report import CHART_SPECS, normalise_table
from goodpulse_dagster_tests.fixtures.kpi_tables import build_kpi_tables
from goodpulse_dagster_tests.golden import CHARTS_DIR, UPDATE_ENV, check_golden, golden_tables

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {name: normalise_table(name, df) for name, df in build_kpi_tables().items()}


@pytest.fixture(scope="module")
def drawn(tables) -> dict[str, str]:
    return {key: spec.render(tables[spec.table]) for key, spec in CHART_SPECS.items()}


@pytest.fixture(scope="module")
def drawn_large() -> dict[str, str]:
    """The charts of a bigger business (revenues in the R$ 100M): wide money labels."""
    big = build_kpi_tables(n_customers=1500, revenue_scale=3000.0, seed=5)
    t = {name: normalise_table(name, df) for name, df in big.items()}
    return {key: spec.render(t[spec.table]) for key, spec in CHART_SPECS.items()}


@pytest.fixture(scope="module", params=["fixture", "large"])
def every_chart(request, drawn, drawn_large) -> dict[str, str]:
    return drawn if request.param == "fixture" else drawn_large


def label_box(t: ET.Element) -> tuple[float, float]:
    """The estimated left and right edge of a level <text>."""
    w = charts.text_width(text_of(t), float(t.get("font-size")), t.get("font-weight") == "bold")
    x = num(t, "x")
    left = {"start": x, "middle": x - w / 2, "end": x - w}[t.get("text-anchor", "start")]
    return left, left + w


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == NS + "svg"
    return root


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(NS + "g") if g.get("class") == cls]


def rects(root: ET.Element, cls: str) -> list[ET.Element]:
    return [r for g in groups(root, cls) for r in g.iter(NS + "rect")]


def text_of(el: ET.Element) -> str:
    """A <text>'s content, its <tspan> lines joined by newlines."""
    spans = list(el.iter(NS + "tspan"))
    return "\n".join(s.text or "" for s in spans) if spans else el.text or ""


def texts_el(root: ET.Element, cls: str) -> list[ET.Element]:
    return [t for g in groups(root, cls) for t in g.iter(NS + "text")]


def texts(root: ET.Element, cls: str | None = None) -> list[str]:
    where = groups(root, cls) if cls else [root]
    return [text_of(t) for g in where for t in g.iter(NS + "text")]


def num(el: ET.Element, attr: str) -> float:
    return float(el.get(attr))


# --- every chart -----------------------------------------------------------------------------


def test_every_chart_is_a_sized_svg_with_a_white_background(drawn):
    assert set(drawn) == set(CHART_SPECS) and all(svg is not None for svg in drawn.values())
    for key, svg in drawn.items():
        root = parse(svg)
        width, height = int(root.get("width")), int(root.get("height"))
        assert charts.svg_size(svg) == (width, height), key
        assert root.get("viewBox") == f"0 0 {width} {height}", key
        assert root.get("font-family") == charts.FONT_FAMILY, key
        background = root.find(NS + "rect")
        assert (background.get("width"), background.get("height")) == (str(width), str(height))
        assert background.get("fill") == "#FFFFFF"
        assert root.find(NS + "title").text == texts(root, "title")[0], key
        assert "<script" not in svg and "href" not in svg, key
    sizes = {key: charts.svg_size(svg) for key, svg in drawn.items()}
    assert sizes["frequency_tiers"] == charts.SIZE == (800, 400)
    assert sizes["channel_value"] == sizes["period1_retention"] == charts.WIDE_SIZE == (900, 420)
    assert sizes["top_segments"] == (800, 460)
    assert sizes["repeat_funnel"] == (800, 320)
    assert sizes["health_by_value"] == (800, 360)


def test_same_table_same_bytes(tables, drawn):
    for key, spec in CHART_SPECS.items():
        again = spec.render(tables[spec.table].copy())
        assert again == drawn[key], key
    assert not re.search(r'id="(?!heat-scale")', "".join(drawn.values()))  # no generated ids


def test_text_stays_on_the_canvas(every_chart):
    """Every level label, measured with the renderer's own width table, lies inside the canvas:
    margins were sized to the labels and long ones shortened."""
    for key, svg in every_chart.items():
        root = parse(svg)
        width, height = charts.svg_size(svg)
        for t in root.iter(NS + "text"):
            if t.get("transform"):
                continue
            left, right = label_box(t)
            assert left >= 0 and right <= width + 0.5, (key, text_of(t), left, right)
            assert 0 < num(t, "y") <= height, (key, text_of(t))


def test_value_tick_labels_clear_the_axis_title(every_chart):
    """The left margin is sized to the widest tick label: none reaches the upright axis title."""
    for key, svg in every_chart.items():
        root = parse(svg)
        upright = [t for t in texts_el(root, "axis-titles") if t.get("transform")]
        if not upright:
            continue
        title_right = num(upright[0], "x") + charts.FONT_SIZE * charts.LINE_HEIGHT
        ticks = [label_box(t)[0] for t in texts_el(root, "axis-y")]
        assert min(ticks) >= title_right, (key, min(ticks), title_right)


def test_x_tick_labels_stay_apart(every_chart):
    """Level labels along an x axis keep at least 8 px between them."""
    for key, svg in every_chart.items():
        for g in groups(parse(svg), "axis-x"):
            boxes = sorted(
                label_box(t)
                for t in g.iter(NS + "text")
                if not t.get("transform") and t.get("text-anchor") == "middle"
            )
            for (_, right), (left, _) in zip(boxes, boxes[1:], strict=False):
                assert left - right >= 8, (key, boxes)


def test_bar_labels_near_the_edge_stay_on_the_canvas(tables):
    """Six tiers (three unknown ones, appended in alphabetical order): narrow bands, so the last
    bar's label is wider than its band; it is moved in rather than cut off at the edge."""
    freq = tables["frequency_distribution"]
    extra = freq.assign(frequency_tier=["X tier", "Y tier", "Z tier"])
    svg = charts.frequency_tier_chart(pd.concat([freq, extra], ignore_index=True))
    root = parse(svg)
    assert texts(root, "axis-x")[-1] == "Z tier" and len(rects(root, "bars")) == 6
    last_bar = rects(root, "bars")[-1]
    label = texts_el(root, "bar-labels")[-1]
    left, right = label_box(label)
    assert right <= 800 and right - left > num(last_bar, "width") + 20  # wider than the bar
    # Labels wider than their band are set smaller first.
    assert {float(t.get("font-size")) for t in texts_el(root, "bar-labels")} == {
        charts.MIN_FONT_SIZE
    }


# --- bar charts: bars and labels are the table's rows ----------------------------------------


def test_frequency_tiers(tables, drawn):
    df = tables["frequency_distribution"].set_index("frequency_tier")
    root = parse(drawn["frequency_tiers"])
    tiers = list(schema.FREQUENCY_TIERS)
    assert texts(root, "axis-x") == tiers  # canonical order, whatever the row order
    bars = rects(root, "bars")
    assert len(bars) == len(df) == 3
    assert texts(root, "bar-labels") == [
        f"{df.at[t, 'customers']:,.0f} customers\n"
        f"{df.at[t, 'revenue_share'] * 100:.1f}% of revenue · "
        f"{charts.money_short(df.at[t, 'revenue_per_customer'])}/customer"
        for t in tiers
    ]
    assert [b.get("fill") for b in bars] == [charts.FREQUENCY_COLORS[t] for t in tiers]
    # Bar heights are proportional to the customer counts.
    heights = np.array([num(b, "height") for b in bars])
    counts = df.loc[tiers, "customers"].to_numpy()
    assert np.allclose(heights / heights[0], counts / counts[0], rtol=0.01)
    assert texts(root, "title") == ["Customers by frequency tier"]
    assert texts(root, "axis-titles") == ["customers"]
    # Nice ticks: evenly spaced, step 1, 2 or 5 times a power of ten, thousands separated.
    ticks = [float(t.replace(",", "")) for t in texts(root, "axis-y")]
    steps = np.diff(ticks)
    assert ticks[0] == 0 and np.allclose(steps, steps[0])
    assert steps[0] / 10 ** math.floor(math.log10(steps[0])) in (1, 2, 5)
    assert ticks[-1] >= counts.max()


def test_value_segment_revenue_per_customer(tables, drawn):
    df = tables["value_concentration"].set_index("value_segment")
    root = parse(drawn["value_segment_rpc"])
    segs = list(schema.VALUE_SEGMENTS)
    assert texts(root, "axis-x") == segs
    assert texts(root, "bar-labels") == [
        charts.money_short(df.at[s, "revenue_per_customer"]) for s in segs
    ]
    assert all(t.startswith("R$ ") for t in texts(root, "axis-y"))  # a money axis
    assert texts(root, "axis-titles") == ["revenue per customer"]


@pytest.mark.parametrize(
    ("key", "table", "col", "order"),
    [
        ("value_concentration", "value_concentration", "value_segment", schema.VALUE_SEGMENTS),
        ("lifecycle_revenue", "lifecycle_revenue", "lifecycle_stage", schema.LIFECYCLE_STAGES),
    ],
)
def test_share_pairs(tables, drawn, key, table, col, order):
    df = tables[table].set_index(col)
    cats = [c for c in order if c in df.index]
    root = parse(drawn[key])
    customers, revenue = groups(root, "bars")  # two series, side by side
    assert len(customers) == len(revenue) == len(cats)
    assert {r.get("fill") for r in customers} == {charts.LIGHT}
    assert {r.get("fill") for r in revenue} == {charts.PRIMARY}
    want = [f"{df.at[c, 'customer_share'] * 100:.1f}%" for c in cats] + [
        f"{df.at[c, 'revenue_share'] * 100:.1f}%" for c in cats
    ]
    assert texts(root, "bar-labels") == want
    assert texts(root, "legend") == ["share of customers", "share of revenue"]
    assert all(t.endswith("%") for t in texts(root, "axis-y"))


def test_delivery_review(tables, drawn):
    df = tables["delivery_vs_review"].sort_values("bucket_order")
    root = parse(drawn["delivery_review"])
    assert texts(root, "axis-x") == list(df["delivery_bucket"])
    assert texts(root, "bar-labels") == [
        f"{s:.2f}\n{o:,.0f} orders"
        for s, o in zip(df["avg_review_score"], df["orders"], strict=True)
    ]
    assert texts(root, "axis-y") == ["0", "1", "2", "3", "4", "5"]
    r = df["correlation"].iloc[0]
    assert texts(root, "title") == [f"Review score by delivery time (correlation r = {r:.2f})"]


def test_channel_revenue(tables, drawn):
    totals = tables["channel_revenue"][tables["channel_revenue"]["value_segment"].isna()]
    totals = totals.sort_values("revenue", ascending=False)
    root = parse(drawn["channel_revenue"])
    assert texts(root, "axis-y") == list(totals["acquisition_channel"])  # largest first
    assert texts(root, "bar-labels") == [
        f"{charts.money_short(r)} · {s * 100:.1f}%"
        for r, s in zip(totals["revenue"], totals["revenue_share"], strict=True)
    ]
    bars = rects(root, "bars")
    assert [b.get("fill") for b in bars] == list(charts.QUALITATIVE[: len(totals)])
    widths = np.array([num(b, "width") for b in bars])
    assert np.allclose(widths / widths[0], totals["revenue"] / totals["revenue"].iloc[0], atol=0.01)


def test_channel_value_two_panels(tables, drawn):
    d = tables["channel_revenue"].dropna(subset=["value_segment"])
    root = parse(drawn["channel_value"])
    channels = d.groupby("acquisition_channel")["revenue"].sum().sort_values(ascending=False)
    assert texts(root, "axis-y") == list(channels.index)  # once, for both panels
    n_segments = d["value_segment"].nunique()
    pieces = rects(root, "bars")
    assert len(pieces) == 2 * n_segments * len(channels)  # every channel x segment, twice
    assert texts(root, "legend") == [
        s for s in schema.VALUE_SEGMENTS if s in set(d["value_segment"])
    ]
    assert texts(root, "axis-titles") == ["revenue", "mix within channel"]
    mix_ticks = texts(root, "axis-x")
    assert mix_ticks[-1] == "100%" and mix_ticks[0] == "R$ 0"


def test_city_concentration(tables, drawn):
    city = tables["city_concentration"].sort_values("rank")
    shown = city.head(max(charts.TOP_CITIES_SHOWN, int(city["is_top_n"].sum())))
    root = parse(drawn["city_concentration"])
    bars = rects(root, "bars")
    assert len(bars) == len(shown)
    assert sum(b.get("fill") == charts.PRIMARY for b in bars) == int(city["is_top_n"].sum())
    assert texts(root, "axis-y") == [
        f"{c}, {s}" for c, s in zip(shown["customer_city"], shown["customer_state"], strict=True)
    ]
    assert texts(root, "bar-labels") == [f"{v * 100:.1f}%" for v in shown["revenue_share"]]
    head = city["top_n_revenue_share"].iloc[0]
    n = int(city["is_top_n"].sum())
    assert texts(root, "title") == [f"Top {n} cities generate {head * 100:.1f}% of revenue"]
    assert charts.svg_size(drawn["city_concentration"])[1] == max(360, 27 * len(shown) + 120)


def test_top_segments(tables, drawn):
    seg = tables["customer_segmentation"].sort_values(
        ["customers", "segment_label"], ascending=[False, True]
    )
    top = seg.head(charts.TOP_SEGMENTS)
    root = parse(drawn["top_segments"])
    assert texts(root, "axis-y") == list(top["segment_label"])
    assert texts(root, "bar-labels") == [
        f"{c:,.0f} · {s * 100:.1f}% of revenue"
        for c, s in zip(top["customers"], top["revenue_share"], strict=True)
    ]
    stages = [s for s in schema.LIFECYCLE_STAGES if s in set(top["lifecycle_stage"])]
    assert texts(root, "legend") == ["lifecycle stage", *stages]
    assert [b.get("fill") for b in rects(root, "bars")] == [
        charts.LIFECYCLE_COLORS[s] for s in top["lifecycle_stage"]
    ]


def test_repeat_funnel_on_a_log_axis(tables, drawn):
    row = tables["repeat_funnel"].iloc[0]
    root = parse(drawn["repeat_funnel"])
    # The log scale is said, in the title and on the axis: bar lengths are not proportional.
    assert texts(root, "title") == ["Repeat funnel (log scale)"]
    assert "customers (log scale)" in texts(root)
    assert texts(root, "axis-y") == ["1+ orders", "2+ orders", "5+ orders"]
    assert texts(root, "bar-labels") == [
        f"{row['customers_1_plus']:,.0f}",
        f"{row['customers_2_plus']:,.0f} ({row['conversion_1_to_2_plus'] * 100:.1f}% of the "
        "previous step)",
        f"{row['customers_5_plus']:,.0f} ({row['conversion_2_plus_to_5_plus'] * 100:.1f}% of the "
        "previous step)",
    ]
    # Powers of ten, and bar lengths in proportion to the logarithms.
    ticks = [int(t.replace(",", "")) for t in texts(root, "axis-x")]
    assert all(math.log10(t).is_integer() for t in ticks) and len(ticks) >= 2
    widths = [num(b, "width") for b in rects(root, "bars")]
    counts = [row["customers_1_plus"], row["customers_2_plus"], row["customers_5_plus"]]
    lo = ticks[0]
    ratio = math.log10(counts[0] / lo) / math.log10(counts[1] / lo)
    assert widths[0] / widths[1] == pytest.approx(ratio, rel=0.01)


def test_health_by_value_stacks_to_the_full_width(tables, drawn):
    d = tables["health_by_value"]
    root = parse(drawn["health_by_value"])
    pieces = rects(root, "bars")
    assert len(pieces) == len(schema.VALUE_SEGMENTS) * len(schema.LIFECYCLE_STAGES) == len(d)
    assert texts(root, "axis-y") == list(schema.VALUE_SEGMENTS)
    # Each segment's pieces add up to the same total width (100%).
    by_row: dict[str, float] = {}
    for p in pieces:
        by_row[p.get("y")] = by_row.get(p.get("y"), 0.0) + num(p, "width")
    assert len(by_row) == 4 and max(by_row.values()) - min(by_row.values()) < 0.5
    # Shares of 6% or more are printed inside their piece (rounded to whole percents).
    labelled = sorted(f"{v * 100:.0f}%" for v in d["share_within_segment"] if v >= 0.06)
    assert sorted(texts(root, "segment-labels")) == labelled


def test_period1_retention_panels(tables, drawn):
    d = tables["period1_retention"]
    root = parse(drawn["period1_retention"])
    per = d[~d["is_headline"].astype(bool)]
    # Only the cohorts whose period 1 is complete get a bar (the fixture's last quarter and
    # month cohorts have a partial next period), the ones the pooled headline covers.
    assert (~per["is_complete"]).sum() == 2
    per = per[per["is_complete"]]
    assert len(rects(root, "bars")) == len(per)
    pooled = d[d["is_headline"].astype(bool)].set_index("grain")["period1_retention"]
    assert texts(root, "subtitle") == [
        f"Quarterly cohorts · pooled {pooled['quarter'] * 100:.1f}%",
        f"Monthly cohorts · pooled {pooled['month'] * 100:.1f}%",
    ]
    assert texts(root, "title") == [
        "Period-1 retention, cohorts with a complete period 1 (dashed: pooled)"
    ]
    assert len(groups(root, "reference")) == 2  # one dashed headline per panel
    # Many monthly cohorts: their labels are turned so they do not overlap.
    month_axis = groups(root, "axis-x")[1]
    assert all(t.get("transform", "").startswith("rotate(-") for t in month_axis.iter(NS + "text"))
    assert len(list(month_axis.iter(NS + "text"))) == (per["grain"] == "month").sum()


def test_monthly_revenue_line(tables, drawn):
    m = tables["monthly_revenue"].sort_values("month")
    root = parse(drawn["monthly_revenue"])
    (line,) = groups(root, "line")
    dots = list(line.iter(NS + "circle"))
    assert len(dots) == len(m)  # a dot per month
    # The fixture's data starts on 2017-01-05 and ends on 2018-08-20: the first and last months
    # are partial, drawn hollow, the line to and from them dashed.
    partial = (~m["is_complete"]).tolist()
    assert partial == [True] + [False] * (len(m) - 2) + [True]
    assert [d.get("fill") == charts.BACKGROUND for d in dots] == partial
    dashed = [p for p in line.iter(NS + "path") if p.get("stroke-dasharray")]
    assert len(dashed) == 2 and len(list(line.iter(NS + "path"))) == 3
    # The mean is of the complete months only (the fixture computes it so).
    mean = m["mean_monthly_revenue"].iloc[0]
    assert mean == pytest.approx(m.loc[m["is_complete"], "revenue"].mean())
    assert texts(root, "legend") == [
        "revenue",
        "partial month",
        f"mean of complete months {charts.money_short(mean)}",
    ]
    months = texts(root, "axis-x")
    assert all(re.fullmatch(r"[A-Z][a-z]{2}\n\d{4}", t) for t in months)
    first = m["month"].iloc[0]
    assert f"{charts.MONTH_NAMES[first.month - 1]}\n{first.year}" in months or len(months) < len(m)
    assert len(groups(root, "area")) == 1 and len(groups(root, "reference")) == 1
    # Every month complete: one solid line, no hollow marker, no "partial month" key.
    whole = m[m["is_complete"]]
    root = parse(charts.monthly_revenue_chart(whole))
    (line,) = groups(root, "line")
    assert [p.get("stroke-dasharray") for p in line.iter(NS + "path")] == [None]
    assert all(d.get("fill") == charts.PRIMARY for d in line.iter(NS + "circle"))
    assert "partial month" not in texts(root, "legend")


# --- heatmaps ---------------------------------------------------------------------------------


def test_quarterly_cohort_heatmap(tables, drawn):
    q = tables["cohort_retention"]
    q = q[q["grain"] == "quarter"]
    root = parse(drawn["cohort_quarter"])
    cells = rects(root, "cells")
    # One cell per complete (cohort, period index) row; the partial first quarter (2017 Q1, the
    # data starts on Jan 5) and last one (2018 Q3) are blank cells, not 0%.
    done = q[q["is_complete"]]
    assert set(q.loc[~q["is_complete"], "period"]) == {
        pd.Timestamp("2017-01-01"),
        pd.Timestamp("2018-07-01"),
    }
    assert len(cells) == len(done) < len(q)
    grey = [c for c in cells if c.get("fill") == charts.MASKED]
    assert len(grey) == (done["period_index"] == 0).sum()  # index 0 is outside the colour scale
    labels = texts(root, "cell-labels")
    assert labels.count("100%") >= len(grey) and len(labels) == len(cells)
    later = done[done["period_index"] > 0]["retention_rate"]
    best = later.max()
    assert f"{best * 100:.1f}%" in labels
    assert charts.heat_color(1.0) in {c.get("fill") for c in cells}  # the maximum is darkest
    cohorts = sorted(q["cohort"].unique())
    assert texts(root, "axis-y") == [f"{c.year}-Q{(c.month - 1) // 3 + 1}" for c in cohorts]
    assert texts(root, "axis-x") == [str(i) for i in sorted(q["period_index"].astype(int).unique())]
    assert all(t.endswith("%") for t in texts(root, "colorbar"))


def test_monthly_cohort_heatmap_is_not_annotated(tables, drawn):
    m = tables["cohort_retention"]
    m = m[m["grain"] == "month"]
    assert m["period_index"].nunique() > charts.ANNOTATE_MAX_COLUMNS
    root = parse(drawn["cohort_month"])
    assert len(rects(root, "cells")) == m["is_complete"].sum()
    assert groups(root, "cell-labels") == []


def test_recency_value_heatmap(tables, drawn):
    p = tables["recency_value_pivot"]
    root = parse(drawn["recency_value"])
    cells = rects(root, "cells")
    assert len(cells) == len(p) == 16
    labels = texts(root, "cell-labels")
    want = p.set_index(["value_segment", "lifecycle_stage"])["revenue"]
    assert labels == [
        charts.money_short(want[(v, s)])
        for v in schema.VALUE_SEGMENTS
        for s in schema.LIFECYCLE_STAGES
    ]
    biggest = labels.index(charts.money_short(p["revenue"].max()))
    assert cells[biggest].get("fill") == charts.heat_color(1.0) == charts.BLUES[-1]
    assert all(t.startswith("R$ ") for t in texts(root, "colorbar"))


def test_heat_colors_follow_matplotlibs_blues():
    # The bottom of the scale is Blues at HEATMAP_FLOOR, the top its darkest colour; darker with t.
    assert charts.heat_color(0.0) == "#E3EEF9"
    assert charts.heat_color(1.0) == "#08306B"
    lightness = [sum(charts.rgb(charts.heat_color(t / 20))) for t in range(21)]  # noqa: SLF001
    assert all(a > b for a, b in zip(lightness, lightness[1:], strict=False))
    assert charts.heat_color(-1) == charts.heat_color(0) and charts.heat_color(2) == "#08306B"


# --- text, escaping and empty input -----------------------------------------------------------


def test_labels_from_data_are_escaped(tables):
    name = "a<b> & \"c\" 'd'\x01"
    df = tables["channel_revenue"].copy()
    df.loc[df["acquisition_channel"] == "email", "acquisition_channel"] = name
    svg = charts.channel_revenue_chart(df)
    assert "a&lt;b&gt; &amp; &quot;c&quot; &#x27;d&#x27;" in svg
    assert "<b>" not in svg and "\x01" not in svg
    root = parse(svg)  # still well-formed XML
    assert name.replace("\x01", "") in texts(root, "axis-y")


def test_long_category_labels_are_shortened(tables):
    city = tables["city_concentration"].copy()
    city.loc[city["rank"] == 1, "customer_city"] = "a very long city name " * 6
    svg = charts.city_concentration_chart(city)
    root = parse(svg)
    first = texts(root, "axis-y")[0]
    assert first.endswith("…") and first.startswith("a very long city name")
    assert charts.text_width(first, charts.LABEL_SIZE) <= 800 * charts.MAX_LABEL_SHARE
    plot_left = min(num(r, "x") for r in rects(root, "bars"))
    (axis,) = groups(root, "axis-y")
    for t in axis.iter(NS + "text"):  # right-aligned labels end before the bars start
        assert num(t, "x") < plot_left and t.get("text-anchor") == "end"


def test_text_width_table():
    assert charts.text_width("iiii", 10) < charts.text_width("WWWW", 10)
    assert charts.text_width("0123456789", 10) == pytest.approx(10 * 6.36)
    assert charts.text_width("são paulo", 12) == charts.text_width("sao paulo", 12)
    assert charts.text_width("ab", 12, bold=True) > charts.text_width("ab", 12)
    assert charts.text_width("a\nlonger line", 10) == charts.text_width("longer line", 10)


def test_nice_ticks():
    assert charts.nice_ticks(0, 116e6, 7) == [0, 20e6, 40e6, 60e6, 80e6, 100e6, 120e6]
    assert charts.nice_ticks(0, 0.022, 6) == [0, 0.005, 0.01, 0.015, 0.02, 0.025]
    assert charts.nice_ticks(0, 3, 9, min_step=1) == [0, 1, 2, 3]  # counts: no 0.5
    assert charts.nice_ticks(0, 0.0012, 9, min_step=0.001) == [0, 0.001, 0.002]
    assert charts.nice_ticks(0, 0, 5) == [0, 0.5, 1.0]  # nothing to scale: a unit axis


SINGLE_TABLE_CHARTS = [(spec.render, spec.table) for spec in CHART_SPECS.values()]


@pytest.mark.parametrize(("render", "table"), SINGLE_TABLE_CHARTS, ids=list(CHART_SPECS))
def test_nothing_to_draw_gives_none(render, table, tables):
    assert render(tables[table].iloc[0:0]) is None
    assert render(normalise_table(table, None)) is None


def test_no_data_cases_that_have_rows(tables):
    # Only channel totals, no channel x segment rows: no stacked chart, but a totals chart.
    cr = tables["channel_revenue"]
    assert charts.channel_value_chart(cr[cr["value_segment"].isna()]) is None
    assert charts.channel_revenue_chart(cr[cr["value_segment"].isna()]) is not None
    # A grain without cohorts.
    cohorts = tables["cohort_retention"]
    assert charts.cohort_month_chart(cohorts[cohorts["grain"] == "quarter"]) is None
    # Unreadable months, unknown counts.
    monthly = tables["monthly_revenue"].assign(month=pd.NaT)
    assert charts.monthly_revenue_chart(monthly) is None
    funnel = tables["repeat_funnel"].copy()
    funnel[["customers_1_plus", "customers_2_plus", "customers_5_plus"]] = np.nan
    assert charts.repeat_funnel_chart(funnel) is None


def test_one_to_three_rows(tables):
    """Tiny tables still give a complete chart: every row drawn, labelled, on the canvas."""
    freq = tables["frequency_distribution"].head(1)
    root = parse(charts.frequency_tier_chart(freq))
    assert len(rects(root, "bars")) == 1 and len(texts(root, "bar-labels")) == 1
    bar = rects(root, "bars")[0]
    assert num(bar, "width") <= charts.MAX_COLUMN_WIDTH  # one bar is not a wall
    cr = tables["channel_revenue"]
    one = cr[(cr["acquisition_channel"] == "email")]
    root = parse(charts.channel_value_chart(one))
    assert texts(root, "axis-y") == ["email"]
    assert all(num(r, "height") <= charts.MAX_BAR_HEIGHT for r in rects(root, "bars"))
    monthly = tables["monthly_revenue"].head(1)
    root = parse(charts.monthly_revenue_chart(monthly))
    assert len(list(groups(root, "line")[0].iter(NS + "circle"))) == 1
    q = tables["cohort_retention"]
    # The first cohort whose own quarter is complete (2017 Q1 is partial), indexes 0 and 1.
    q = q[(q["grain"] == "quarter") & q["is_complete"]]
    q = q[q["cohort"] == q.loc[q["period_index"] == 0, "cohort"].min()].head(2)
    root = parse(charts.cohort_quarter_chart(q))
    assert len(rects(root, "cells")) == 2 and texts(root, "cell-labels")[0] == "100%"


# --- golden files: the exact bytes of each chart from the hand-made input ----------------------


@pytest.fixture(scope="module")
def golden_input() -> dict[str, pd.DataFrame]:
    return {name: normalise_table(name, df) for name, df in golden_tables().items()}


GOLDEN_CHARTS = {
    **{key: (spec.table, spec.render) for key, spec in CHART_SPECS.items()},
    **{table: (table, render) for table, render in PREDICTION_CHARTS.items()},
}


@pytest.mark.parametrize("key", sorted(GOLDEN_CHARTS))
def test_chart_matches_its_golden_file(golden_input, key):
    table, render = GOLDEN_CHARTS[key]
    svg = render(golden_input[table])
    assert svg is not None, key  # the hand-made input has rows for every chart
    check_golden(CHARTS_DIR / f"{key}.svg", svg)


def test_regenerating_a_golden_file_writes_it_and_fails(tmp_path, monkeypatch):
    target = tmp_path / "chart.svg"
    monkeypatch.setenv(UPDATE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="wrote chart.svg"):
        check_golden(target, "<svg/>\n")
    assert target.read_bytes() == b"<svg/>\n"
    monkeypatch.delenv(UPDATE_ENV)
    check_golden(target, "<svg/>\n")  # now it compares, and passes
    with pytest.raises(AssertionError, match="differs from its golden file"):
        check_golden(target, "<svg></svg>\n")

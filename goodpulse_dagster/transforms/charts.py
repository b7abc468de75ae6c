"""Charts of the executive report and of the KPI assets' UI metadata, as PNG bytes.

matplotlib on the Agg raster backend: it renders offline with the DejaVu fonts it ships, fetches
nothing, and is a dependency every Python data stack already carries. Figures are built with the
object API (``matplotlib.figure.Figure``), not pyplot: pyplot keeps a global registry of open
figures that leaks memory when a figure is not closed and is not safe under Dagster's threaded
executors; a bare ``Figure`` is garbage collected like any object, so there is nothing to close.

Every chart function takes the one table it draws (with the columns of ``schema.py``) and returns
a ``Figure``, or ``None`` when the table has nothing to draw; ``render_png`` turns a figure into
deterministic PNG bytes (no timestamp or software tag in the PNG metadata, fixed size and dpi).
No Dagster imports: the report module and the tests call these directly.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import dates as mdates
from matplotlib import patches as mpatches
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from goodpulse_dagster.schema import FREQUENCY_TIERS, LIFECYCLE_STAGES, VALUE_SEGMENTS

# Headless everywhere: if anything in the process later imports pyplot, it gets Agg too.
matplotlib.use("Agg")

# --- look and feel: the one place for sizes and colours ---------------------------------------

DPI = 100
FIGSIZE = (8.0, 4.0)  # inches: 800 x 400 px at DPI
WIDE_FIGSIZE = (9.0, 4.2)
CURRENCY = "R$"

TEXT = "#1A202C"
MUTED = "#4A5568"
GRID = "#E2E8F0"
PRIMARY = "#2B6CB0"
ACCENT = "#DD6B20"
NEUTRAL = "#A0AEC0"
LIGHT = "#BEE3F8"

FREQUENCY_COLORS = dict(zip(FREQUENCY_TIERS, ("#A0AEC0", "#4299E1", "#2C5282"), strict=True))
VALUE_COLORS = dict(zip(VALUE_SEGMENTS, ("#CBD5E0", "#90CDF4", "#3182CE", "#1A365D"), strict=True))
LIFECYCLE_COLORS = dict(
    zip(LIFECYCLE_STAGES, ("#38A169", "#D69E2E", "#DD6B20", "#718096"), strict=True)
)
# Qualitative palette for open-ended categories (acquisition channels).
QUALITATIVE = (
    "#2B6CB0",
    "#DD6B20",
    "#38A169",
    "#805AD5",
    "#D53F8C",
    "#319795",
    "#D69E2E",
    "#718096",
    "#E53E3E",
    "#4A5568",
)
HEATMAP_CMAP = "Blues"
HEATMAP_FLOOR = 0.1  # fraction of the colormap skipped at the low end

# Applied with rc_context around each chart, so importing this module changes no global style.
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 11.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 10,
    "axes.labelsize": 9.5,
    "axes.labelcolor": MUTED,
    "axes.edgecolor": "#CBD5E0",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",  # value gridlines only; horizontal-bar charts switch to x
    "axes.axisbelow": True,
    "grid.color": GRID,
    "grid.linewidth": 0.8,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.hashsalt": "goodpulse",  # deterministic ids, should anyone save these as SVG
}

TOP_SEGMENTS = 10  # bars in the top-segments chart
TOP_CITIES_SHOWN = 15  # bars in the city chart (top-N highlighted within them)
ANNOTATE_MAX_COLUMNS = 12  # cohort heatmaps print values in cells up to this many columns
UNKNOWN_CATEGORY_COLOR = "#718096"


@contextmanager
def _style():
    with matplotlib.rc_context(STYLE):
        yield


def render_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig``: fixed dpi and no Software tag, so the output is reproducible."""
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    # A bare Figure has no pyplot manager to close; dropping our references frees it.
    fig.clear()
    return buf.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, read from the PNG header (IHDR is always the first chunk)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# --- formatting helpers ------------------------------------------------------------------------


def money_short(x: float) -> str:
    """Compact currency for axes and labels: R$ 1.2M, R$ 35k, R$ 940."""
    if x is None or not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 1e9:
        return f"{CURRENCY} {x / 1e9:.1f}B"
    if ax >= 1e6:
        return f"{CURRENCY} {x / 1e6:.1f}M"
    if ax >= 1e4:
        return f"{CURRENCY} {x / 1e3:.0f}k"
    if ax >= 1e3:
        return f"{CURRENCY} {x / 1e3:.1f}k"
    return f"{CURRENCY} {x:.0f}"


def _money_axis(axis) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: money_short(v)))


def _pct_tick(v: float) -> str:
    """A share as a percentage with at most one decimal and no trailing zero: 40%, 2.5%."""
    text = f"{v * 100:.1f}".rstrip("0").rstrip(".")
    return "0%" if text in ("0", "-0") else text + "%"


def _pct_axis(axis) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _pct_tick(v)))


def _ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    """Known categories in their canonical order, then any others alphabetically (never dropped)."""
    present = [v for v in dict.fromkeys(values) if isinstance(v, str)]
    return [c for c in order if c in present] + sorted(c for c in present if c not in order)


def _color(mapping: dict[str, str], key: str) -> str:
    return mapping.get(key, UNKNOWN_CATEGORY_COLOR)


def _figure(figsize: tuple[float, float] = FIGSIZE, **subplots) -> tuple[Figure, object]:
    with _style():
        fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
        axes = fig.subplots(**subplots)
    return fig, axes


def _finite(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Rows where every named column is a finite number (NaN/None/inf dropped)."""
    if df is None or df.empty:
        return pd.DataFrame(columns=list(df.columns) if df is not None else list(cols))
    out = df.copy()
    for c in cols:
        out[c] = pd.to_numeric(out[c], errors="coerce")
    mask = np.isfinite(out[list(cols)].astype(float)).all(axis=1)
    return out[mask]


def _bar_labels(ax, bars, labels: Sequence[str], *, horizontal: bool = False) -> None:
    ax.bar_label(bars, labels=list(labels), padding=3, fontsize=8.5, color=TEXT)
    # Leave room for the labels past the longest bar.
    if horizontal:
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, hi * 1.18 if hi > 0 else hi)
    else:
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * 1.15 if hi > 0 else hi)


def _percent(x: float, decimals: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x * 100:.{decimals}f}%"


# --- charts ------------------------------------------------------------------------------------


def frequency_tier_chart(df: pd.DataFrame) -> Figure | None:
    """Customers per frequency tier, bars labelled with revenue share and revenue per customer."""
    d = _finite(df, "customers")
    if d.empty:
        return None
    d = d.set_index("frequency_tier")
    tiers = _ordered(d.index, FREQUENCY_TIERS)
    fig, ax = _figure()
    with _style():
        bars = ax.bar(
            tiers, d.loc[tiers, "customers"], color=[_color(FREQUENCY_COLORS, t) for t in tiers]
        )
        labels = [
            f"{d.at[t, 'customers']:,.0f} customers\n"
            f"{_percent(d.at[t, 'revenue_share'])} of revenue · "
            f"{money_short(d.at[t, 'revenue_per_customer'])}/customer"
            for t in tiers
        ]
        _bar_labels(ax, bars, labels)
        ax.set_title("Customers by frequency tier")
        ax.set_ylabel("customers")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    return fig


def value_segment_rpc_chart(df: pd.DataFrame) -> Figure | None:
    """Revenue per customer by value segment."""
    d = _finite(df, "revenue_per_customer")
    if d.empty:
        return None
    d = d.set_index("value_segment")
    segs = _ordered(d.index, VALUE_SEGMENTS)
    fig, ax = _figure()
    with _style():
        vals = d.loc[segs, "revenue_per_customer"]
        bars = ax.bar(segs, vals, color=[_color(VALUE_COLORS, s) for s in segs])
        _bar_labels(ax, bars, [money_short(v) for v in vals])
        ax.set_title("Revenue per customer by value segment")
        ax.set_ylabel("revenue per customer")
        _money_axis(ax.yaxis)
    return fig


def _share_pairs_chart(d: pd.DataFrame, order: Sequence[str], title: str, xlabel: str) -> Figure:
    """Grouped bars: share of customers (light) vs share of revenue (dark) per category."""
    cats = _ordered(d.index, order)
    x = np.arange(len(cats))
    w = 0.38
    fig, ax = _figure()
    with _style():
        cust = d.loc[cats, "customer_share"].astype(float).fillna(0)
        rev = d.loc[cats, "revenue_share"].astype(float).fillna(0)
        b1 = ax.bar(x - w / 2, cust, w, color=LIGHT, label="share of customers")
        b2 = ax.bar(x + w / 2, rev, w, color=PRIMARY, label="share of revenue")
        ax.bar_label(b1, labels=[_percent(v) for v in cust], padding=2, fontsize=8, color=MUTED)
        ax.bar_label(b2, labels=[_percent(v) for v in rev], padding=2, fontsize=8, color=TEXT)
        ax.set_xticks(x, cats)
        ax.set_xlabel(xlabel)
        _pct_axis(ax.yaxis)
        lo, hi = ax.get_ylim()
        ax.set_ylim(0, hi * 1.12)
        ax.legend(loc="upper left", ncols=2)
        ax.set_title(title)
    return fig


def value_concentration_chart(df: pd.DataFrame) -> Figure | None:
    """KPI 4: share of customers vs share of revenue per value segment."""
    d = _finite(df, "customer_share", "revenue_share")
    if d.empty:
        return None
    return _share_pairs_chart(
        d.set_index("value_segment"),
        VALUE_SEGMENTS,
        "Revenue concentration by value segment",
        "value segment",
    )


def lifecycle_revenue_chart(df: pd.DataFrame) -> Figure | None:
    """KPI 3: share of customers vs share of revenue per lifecycle stage."""
    d = _finite(df, "customer_share", "revenue_share")
    if d.empty:
        return None
    return _share_pairs_chart(
        d.set_index("lifecycle_stage"),
        LIFECYCLE_STAGES,
        "Revenue and customers by lifecycle stage",
        "lifecycle stage",
    )


def recency_value_heatmap(df: pd.DataFrame) -> Figure | None:
    """Revenue by value segment (rows) x lifecycle stage (columns), for the KPI asset's metadata."""
    d = _finite(df, "revenue")
    if d.empty:
        return None
    grid = d.pivot_table(
        index="value_segment", columns="lifecycle_stage", values="revenue", aggfunc="sum"
    )
    rows = _ordered(grid.index, VALUE_SEGMENTS)
    cols = _ordered(grid.columns, LIFECYCLE_STAGES)
    grid = grid.reindex(index=rows, columns=cols)
    fig, ax = _figure()
    with _style():
        _heatmap(ax, grid.to_numpy(dtype=float), rows, cols, money_short, fig=fig, pct=False)
        ax.set_title("Revenue by value segment and lifecycle stage")
        ax.set_xlabel("lifecycle stage")
    return fig


def monthly_revenue_chart(df: pd.DataFrame) -> Figure | None:
    """Revenue per month as a line, with the mean monthly revenue as a dashed line."""
    d = _finite(df, "revenue")
    if d.empty:
        return None
    d = d.assign(month=pd.to_datetime(d["month"], errors="coerce")).dropna(subset=["month"])
    if d.empty:
        return None
    d = d.sort_values("month")
    mean = pd.to_numeric(d["mean_monthly_revenue"], errors="coerce").dropna()
    mean_value = float(mean.iloc[0]) if len(mean) else float(d["revenue"].mean())
    fig, ax = _figure()
    with _style():
        ax.plot(
            d["month"],
            d["revenue"],
            color=PRIMARY,
            marker="o",
            markersize=3.5,
            lw=2,
            label="revenue",
        )
        ax.fill_between(d["month"], d["revenue"], color=PRIMARY, alpha=0.08)
        ax.axhline(
            mean_value, color=ACCENT, ls="--", lw=1.5, label=f"mean {money_short(mean_value)}"
        )
        ax.set_title("Monthly revenue")
        _money_axis(ax.yaxis)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=10))
    return fig


def delivery_review_chart(df: pd.DataFrame) -> Figure | None:
    """Average review score per delivery-days bucket; the title carries the correlation."""
    d = _finite(df, "avg_review_score")
    if d.empty:
        return None
    d = d.assign(bucket_order=pd.to_numeric(d["bucket_order"], errors="coerce")).sort_values(
        "bucket_order"
    )
    corr = pd.to_numeric(d["correlation"], errors="coerce").dropna()
    fig, ax = _figure()
    with _style():
        bars = ax.bar(d["delivery_bucket"].astype(str), d["avg_review_score"], color=PRIMARY)
        labels = [
            f"{s:.2f}\n{o:,.0f} orders" if np.isfinite(o) else f"{s:.2f}"
            for s, o in zip(
                d["avg_review_score"], pd.to_numeric(d["orders"], errors="coerce"), strict=True
            )
        ]
        ax.bar_label(bars, labels=labels, padding=3, fontsize=8.5, color=TEXT)
        ax.set_ylim(0, 5.9)
        ax.set_yticks([0, 1, 2, 3, 4, 5])
        ax.set_xlabel("delivery days (purchase to delivery)")
        ax.set_ylabel("average review score")
        r = f" (correlation r = {corr.iloc[0]:.2f})" if len(corr) else ""
        ax.set_title(f"Review score by delivery time{r}")
    return fig


def top_segments_chart(df: pd.DataFrame, top: int = TOP_SEGMENTS) -> Figure | None:
    """The ``top`` segments by customers (gold customer_segmentation), coloured by stage."""
    d = _finite(df, "customers")
    if d.empty:
        return None
    d = d.sort_values(["customers", "segment_label"], ascending=[False, True]).head(top)
    d = d.iloc[::-1]  # largest at the top of a horizontal bar chart
    fig, ax = _figure((8.0, 4.6))
    with _style():
        colors = [_color(LIFECYCLE_COLORS, s) for s in d["lifecycle_stage"]]
        bars = ax.barh(d["segment_label"].astype(str), d["customers"], color=colors)
        labels = [
            f"{c:,.0f} · {_percent(s)} of revenue"
            for c, s in zip(
                d["customers"], pd.to_numeric(d["revenue_share"], errors="coerce"), strict=True
            )
        ]
        _bar_labels(ax, bars, labels, horizontal=True)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.set_xlabel("customers")
        ax.tick_params(axis="y", labelsize=8.5)
        stages = _ordered(d["lifecycle_stage"], LIFECYCLE_STAGES)
        handles = [mpatches.Patch(color=_color(LIFECYCLE_COLORS, s), label=s) for s in stages]
        ax.legend(handles=handles, loc="lower right", title="lifecycle stage", title_fontsize=8)
        ax.set_title(f"Top {len(d)} segments by customers")
    return fig


def _channel_totals(df: pd.DataFrame) -> pd.DataFrame:
    """Channel total rows of channel_revenue (value_segment NULL), largest revenue first."""
    d = _finite(df, "revenue")
    d = d[d["value_segment"].isna()] if "value_segment" in d else d
    return d.sort_values(["revenue", "acquisition_channel"], ascending=[False, True])


def channel_value_chart(df: pd.DataFrame) -> Figure | None:
    """Revenue by acquisition channel stacked by value segment: absolute (left) and mix (right)."""
    d = _finite(df, "revenue")
    d = d[d["value_segment"].notna()]
    if d.empty:
        return None
    grid = d.pivot_table(
        index="acquisition_channel", columns="value_segment", values="revenue", aggfunc="sum"
    ).fillna(0.0)
    grid = grid.loc[grid.sum(axis=1).sort_values(ascending=True).index]  # largest at the top
    segs = _ordered(grid.columns, VALUE_SEGMENTS)
    mix = grid.div(grid.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    fig, (ax1, ax2) = _figure(WIDE_FIGSIZE, ncols=2, sharey=True, width_ratios=(3, 2))
    with _style():
        channels = grid.index.astype(str)
        left1 = np.zeros(len(grid))
        left2 = np.zeros(len(grid))
        for s in segs:
            ax1.barh(channels, grid[s], left=left1, color=_color(VALUE_COLORS, s), label=s)
            ax2.barh(channels, mix[s], left=left2, color=_color(VALUE_COLORS, s))
            left1 += grid[s].to_numpy()
            left2 += mix[s].to_numpy()
        for ax in (ax1, ax2):
            ax.grid(axis="y", visible=False)
            ax.grid(axis="x", visible=True)
        _money_axis(ax1.xaxis)
        _pct_axis(ax2.xaxis)
        ax2.set_xlim(0, 1)
        ax1.set_xlabel("revenue")
        ax2.set_xlabel("mix within channel")
        ax1.set_title("Revenue by acquisition channel and value segment")
        fig.legend(loc="outside lower center", ncols=len(segs))
    return fig


def channel_revenue_chart(df: pd.DataFrame) -> Figure | None:
    """Revenue per acquisition channel (channel totals), labelled with revenue share."""
    d = _channel_totals(df)
    if d.empty:
        return None
    d = d.iloc[::-1]
    fig, ax = _figure()
    with _style():
        colors = [QUALITATIVE[i % len(QUALITATIVE)] for i in range(len(d))][::-1]
        bars = ax.barh(d["acquisition_channel"].astype(str), d["revenue"], color=colors)
        labels = [
            f"{money_short(r)} · {_percent(s)}"
            for r, s in zip(
                d["revenue"], pd.to_numeric(d["revenue_share"], errors="coerce"), strict=True
            )
        ]
        _bar_labels(ax, bars, labels, horizontal=True)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        _money_axis(ax.xaxis)
        ax.set_xlabel("revenue")
        ax.set_title("Revenue by acquisition channel")
    return fig


def _period_label(ts: pd.Timestamp, grain: str) -> str:
    if grain == "quarter":
        return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"
    return ts.strftime("%Y-%m")


def _heatmap(
    ax,
    values: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    fmt: Callable[[float], str] | None,
    *,
    fig: Figure,
    pct: bool,
    vmax: float | None = None,
    mask: np.ndarray | None = None,
) -> None:
    """Draw a heatmap: NaN cells white, ``mask`` cells grey; annotate cells when ``fmt`` is set."""
    shown = np.ma.masked_invalid(values if mask is None else np.where(mask, np.nan, values))
    # Start the ramp above white so a 0% cell stays visibly different from an unobserved (NaN) one.
    base = matplotlib.colormaps[HEATMAP_CMAP]
    cmap = mcolors.ListedColormap(base(np.linspace(HEATMAP_FLOOR, 1.0, 256))).with_extremes(
        bad="white"
    )
    finite = shown.compressed()
    top = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    im = ax.imshow(shown, cmap=cmap, vmin=0, vmax=top if top > 0 else 1.0, aspect="auto")
    if mask is not None:
        grey = np.ma.masked_where(~mask, np.ones_like(values))
        ax.imshow(grey, cmap=mcolors.ListedColormap(["#EDF2F7"]), aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    if fmt is not None:
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                if not np.isfinite(v):
                    continue
                masked = mask is not None and mask[i, j]
                dark = not masked and top > 0 and v / top > 0.6
                ax.text(
                    j,
                    i,
                    fmt(v),
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white" if dark else TEXT,
                )
    bar = fig.colorbar(im, ax=ax, shrink=0.8, pad=0.01)
    bar.outline.set_visible(False)
    bar.ax.tick_params(labelsize=8)
    if pct:
        _pct_axis(bar.ax.yaxis)
    else:
        _money_axis(bar.ax.yaxis)


def cohort_heatmap_chart(df: pd.DataFrame, grain: str) -> Figure | None:
    """Retention rate by cohort (rows) and period index (columns) for one grain of cohort_retention.

    Index 0 is always 100% and would flatten the colour scale, so it is greyed out and the scale
    runs from 0 to the highest retention at index 1 or later.
    """
    d = _finite(df, "retention_rate", "period_index")
    d = d[d["grain"] == grain]
    if d.empty:
        return None
    d = d.assign(cohort=pd.to_datetime(d["cohort"], errors="coerce")).dropna(subset=["cohort"])
    if d.empty:
        return None
    grid = d.pivot_table(
        index="cohort", columns="period_index", values="retention_rate", aggfunc="mean"
    )
    grid = grid.sort_index().reindex(columns=sorted(grid.columns))
    values = grid.to_numpy(dtype=float)
    col_idx = np.array(grid.columns, dtype=int)
    mask = np.broadcast_to(col_idx == 0, values.shape) & np.isfinite(values)
    later = values[:, col_idx > 0]
    later = later[np.isfinite(later)]
    vmax = float(later.max()) if later.size and later.max() > 0 else 1.0
    rows = [_period_label(c, grain) for c in grid.index]
    cols = [str(c) for c in col_idx]
    height = min(9.0, max(3.2, 0.26 * len(rows) + 1.6))
    fig, ax = _figure((8.0, height))
    annotate = len(cols) <= ANNOTATE_MAX_COLUMNS
    with _style():
        _heatmap(
            ax,
            values,
            rows,
            cols,
            (lambda v: f"{v * 100:.0f}%" if v >= 0.995 else f"{v * 100:.1f}%")
            if annotate
            else None,
            fig=fig,
            pct=True,
            vmax=vmax,
            mask=mask,
        )
        if not annotate:
            ax.tick_params(axis="x", labelsize=7.5)
            ax.tick_params(axis="y", labelsize=7.5)
        ax.set_xlabel(f"{grain}s since first purchase (period index)")
        ax.set_ylabel(f"cohort ({grain} of first purchase)")
        ax.set_title(f"{grain.capitalize()}ly cohort retention")
    return fig


def cohort_quarter_chart(df: pd.DataFrame) -> Figure | None:
    """Quarterly cohort retention heatmap."""
    return cohort_heatmap_chart(df, "quarter")


def cohort_month_chart(df: pd.DataFrame) -> Figure | None:
    """Monthly cohort retention heatmap."""
    return cohort_heatmap_chart(df, "month")


def period1_retention_chart(df: pd.DataFrame) -> Figure | None:
    """KPI 1: per-cohort period-1 retention, one panel per grain, headline as a dashed line."""
    d = _finite(df, "period1_retention")
    if d.empty:
        return None
    grains = [g for g in ("quarter", "month") if (d["grain"] == g).any()]
    if not grains:
        return None
    fig, axes = _figure(
        WIDE_FIGSIZE, ncols=len(grains), squeeze=False, width_ratios=[1, 2][: len(grains)]
    )
    with _style():
        for ax, grain in zip(axes[0], grains, strict=True):
            g = d[d["grain"] == grain]
            head = g[g["is_headline"].fillna(False).astype(bool)]
            per = g[~g["is_headline"].fillna(False).astype(bool)].copy()
            per["cohort"] = pd.to_datetime(per["cohort"], errors="coerce")
            per = per.dropna(subset=["cohort"]).sort_values("cohort")
            labels = [_period_label(c, grain) for c in per["cohort"]]
            ax.bar(
                labels, per["period1_retention"], color=PRIMARY if grain == "quarter" else "#4299E1"
            )
            title = f"{grain.capitalize()}ly cohorts"
            if len(head):
                h = float(head["period1_retention"].iloc[0])
                ax.axhline(h, color=ACCENT, ls="--", lw=1.5)
                title += f" · pooled {_percent(h)}"
            _pct_axis(ax.yaxis)
            ax.tick_params(axis="x", rotation=90, labelsize=7.5)
            ax.set_title(title, fontsize=10)
            ax.set_ylim(bottom=0)
        fig.suptitle(
            "Period-1 retention (dashed: pooled over cohorts)",
            x=0.01,
            ha="left",
            fontweight="bold",
            fontsize=11.5,
        )
    return fig


def repeat_funnel_chart(df: pd.DataFrame) -> Figure | None:
    """KPI 2: customers with 1+, 2+ and 5+ completed orders (log scale) and the conversions."""
    if df is None or df.empty:
        return None
    row = df.iloc[0]
    steps = [
        ("1+ orders", row.get("customers_1_plus")),
        ("2+ orders", row.get("customers_2_plus")),
        ("5+ orders", row.get("customers_5_plus")),
    ]
    vals = pd.to_numeric(pd.Series([v for _, v in steps]), errors="coerce")
    if not np.isfinite(vals).any():
        return None
    convs = [None, row.get("conversion_1_to_2_plus"), row.get("conversion_2_plus_to_5_plus")]
    names = [n for n, _ in steps][::-1]
    vals_r = vals.fillna(0).to_numpy()[::-1]
    fig, ax = _figure((8.0, 3.2))
    with _style():
        plotted = np.where(vals_r > 0, vals_r, np.nan)  # log scale cannot show zero
        bars = ax.barh(names, plotted, color=[PRIMARY, "#4299E1", LIGHT])
        labels = []
        for v, c in zip(vals_r, convs[::-1], strict=True):
            conv = pd.to_numeric(pd.Series([c]), errors="coerce").iloc[0]
            suffix = f"  ({_percent(conv)} of the previous step)" if np.isfinite(conv) else ""
            labels.append(f"{v:,.0f}{suffix}")
        ax.bar_label(bars, labels=labels, padding=3, fontsize=8.5, color=TEXT)
        ax.set_xscale("log")
        lo, hi = ax.get_xlim()
        ax.set_xlim(max(lo, 0.5), hi * 4)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True, which="major")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
        ax.set_xlabel("customers (log scale)")
        ax.set_title("Repeat funnel")
    return fig


def city_concentration_chart(df: pd.DataFrame, shown: int = TOP_CITIES_SHOWN) -> Figure | None:
    """Revenue share of the largest cities; the top-N cities of the KPI headline highlighted."""
    d = _finite(df, "revenue_share")
    if d.empty:
        return None
    d = d.assign(rank=pd.to_numeric(d["rank"], errors="coerce")).sort_values(
        ["rank", "customer_city"]
    )
    top_mask = d["is_top_n"].fillna(False).astype(bool)
    n_top = int(top_mask.sum())
    share = pd.to_numeric(d["top_n_revenue_share"], errors="coerce").dropna()
    head = float(share.iloc[0]) if len(share) else float(d.loc[top_mask, "revenue_share"].sum())
    d = d.head(max(shown, n_top)).iloc[::-1]
    fig, ax = _figure((8.0, max(3.6, 0.27 * len(d) + 1.2)))
    with _style():
        labels = [f"{c}, {s}" for c, s in zip(d["customer_city"], d["customer_state"], strict=True)]
        colors = [PRIMARY if t else NEUTRAL for t in d["is_top_n"].fillna(False).astype(bool)]
        bars = ax.barh(labels, d["revenue_share"], color=colors)
        _bar_labels(ax, bars, [_percent(v) for v in d["revenue_share"]], horizontal=True)
        _pct_axis(ax.xaxis)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.tick_params(axis="y", labelsize=8.5)
        ax.set_xlabel("share of revenue")
        ax.set_title(f"Top {n_top} cities generate {_percent(head)} of revenue")
    return fig


def health_by_value_chart(df: pd.DataFrame) -> Figure | None:
    """Lifecycle-stage mix within each value segment, as 100% stacked horizontal bars."""
    d = _finite(df, "share_within_segment")
    if d.empty:
        return None
    grid = d.pivot_table(
        index="value_segment",
        columns="lifecycle_stage",
        values="share_within_segment",
        aggfunc="sum",
    ).fillna(0.0)
    rows = _ordered(grid.index, VALUE_SEGMENTS)[::-1]  # VIP at the top
    stages = _ordered(grid.columns, LIFECYCLE_STAGES)
    grid = grid.reindex(index=rows, columns=stages).fillna(0.0)
    fig, ax = _figure((8.0, 3.6))
    with _style():
        left = np.zeros(len(rows))
        for s in stages:
            vals = grid[s].to_numpy()
            bars = ax.barh(rows, vals, left=left, color=_color(LIFECYCLE_COLORS, s), label=s)
            labels = [_percent(v, 0) if v >= 0.06 else "" for v in vals]
            ax.bar_label(bars, labels=labels, label_type="center", fontsize=8, color="white")
            left += vals
        ax.set_xlim(0, 1)
        _pct_axis(ax.xaxis)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.set_xlabel("share of the segment's customers")
        fig.legend(loc="outside lower center", ncols=len(stages))
        ax.set_title("Lifecycle stage mix by value segment")
    return fig

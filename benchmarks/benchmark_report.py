"""The benchmark's results as Markdown (``<out>/README.md``): the machine, a table per scale
(time per layer, memory, the floors), the disk used, the ratios across scales, the incremental
refresh, the failures, and the targets of issues 7 and 17 against what was measured.

Pure formatting of ``benchmark.json``'s dictionary (``run_benchmark.py`` builds it): a scale or
step that failed or was not run shows as "-" or in the failures list, never as an error here.
"""

from __future__ import annotations

# Targets on the reference machine (2 cores, 24 GB): issue 7 (the first round) and issue 17
# (bounded memory at any scale).
TARGETS = {
    "issue_7": {
        "run_100k_seconds": 30,
        "run_1m_seconds": 120,
        "rss_1m_gb": 4,
        "rss_3m_gb": 10,
        "ratio_1m_over_100k": 10,
        "incremental_share": 0.35,
    },
    "issue_17": {
        "run_rss_gb": 3,  # at 1M, 3M, 10M and 30M alike
        "generator_rss_gb": 1,  # at any size
        "linear_ratio": 11,  # 10M / 1M and 30M / 3M
        "run_over_full_floor": 8,  # at 1M and 10M
        "incremental_share_10m": 0.20,
    },
}
ISSUE_17_RSS_SCALES = (1_000_000, 3_000_000, 10_000_000, 30_000_000)
# (bigger, smaller): time linear in the data.
LINEAR_PAIRS = ((10_000_000, 1_000_000), (30_000_000, 3_000_000))
FLOOR_RATIO_SCALES = (1_000_000, 10_000_000)


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def _runs(results: dict) -> dict[int, dict]:
    """The completed runs by scale."""
    return {s["orders"]: s["run"] for s in results["scales"] if s.get("run")}


def ratio_key(measured: str, big: int, small: int) -> str:
    """The name of a ratio between scales: ``run_30000k_over_3000k``, ``floor_...``."""
    return f"{measured}_{big // 1000}k_over_{small // 1000}k"


def _wall_ratios(by_scale: dict[int, dict], measured: str, pairs) -> dict[str, float]:
    """Wall-time ratios of ``by_scale``'s measurements between the ``pairs`` it holds both of."""
    return {
        ratio_key(measured, big, small): round(
            by_scale[big]["wall_seconds"] / by_scale[small]["wall_seconds"], 2
        )
        for big, small in pairs
        if big in by_scale and small in by_scale
    }


def cross_scale_ratios(results: dict) -> dict[str, float]:
    """Whole-run time ratios between scales (1M / 100k, 10M / 1M, 30M / 3M) as measured."""
    return _wall_ratios(_runs(results), "run", ((1_000_000, 100_000), *LINEAR_PAIRS))


def floor_scale_ratios(results: dict) -> dict[str, float]:
    """The full floor's time ratios between the scales of ``LINEAR_PAIRS``: how the same analysis
    scales as plain DuckDB SQL in one process under the same budget, against which the run's
    ratios read."""
    floors = {s["orders"]: s["full_floor"] for s in results["scales"] if s.get("full_floor")}
    return _wall_ratios(floors, "floor", LINEAR_PAIRS)


def generator_peak(results: dict) -> dict | None:
    """The generator measurement with the highest peak RSS (not a reused data set)."""
    gens = [
        s["generator"]
        for s in results["scales"]
        if s.get("generator") and not s["generator"].get("reused")
    ]
    return max(gens, key=lambda g: g["peak_rss_mb"]) if gens else None


# --- the targets --------------------------------------------------------------------------------


def targets_issue_7(results: dict) -> list[str]:
    """Issue 7's targets against this run's figures (only those the run measured)."""
    t = TARGETS["issue_7"]
    runs = _runs(results)
    rows = []

    def row(target: str, value: str, met: bool) -> None:
        rows.append(f"| {target} | {value} | {_yes(met)} |")

    big = generator_peak(results)
    if big:
        row(
            "generator: bounded memory (peak < 4 GB)",
            f"{big['orders']:,} orders: {_fmt(big['wall_seconds'])} s, {big['peak_rss_mb']:,} MB",
            big["peak_rss_mb"] < 4096,
        )
    if 100_000 in runs:
        wall = runs[100_000]["wall_seconds"]
        row(f"100,000 orders end to end <= {t['run_100k_seconds']} s", f"{_fmt(wall)} s",
            wall <= t["run_100k_seconds"])  # fmt: skip
    if 1_000_000 in runs:
        run = runs[1_000_000]
        row(f"1,000,000 orders <= {t['run_1m_seconds']} s", f"{_fmt(run['wall_seconds'])} s",
            run["wall_seconds"] <= t["run_1m_seconds"])  # fmt: skip
        row(f"1,000,000 orders peak RSS <= {t['rss_1m_gb']} GB", f"{run['peak_rss_mb']:,} MB",
            run["peak_rss_mb"] <= t["rss_1m_gb"] * 1024)  # fmt: skip
    if 3_000_000 in runs:
        run = runs[3_000_000]
        row(
            f"3,000,000 orders complete, peak RSS <= {t['rss_3m_gb']} GB",
            f"{_fmt(run['wall_seconds'])} s, {run['peak_rss_mb']:,} MB",
            run["peak_rss_mb"] <= t["rss_3m_gb"] * 1024,
        )
    ratio = cross_scale_ratios(results).get("run_1000k_over_100k")
    if ratio is not None:
        row(f"1M run <= {t['ratio_1m_over_100k']} x the 100k run", f"{ratio:.1f}x",
            ratio <= t["ratio_1m_over_100k"])  # fmt: skip
    inc = results.get("incremental") or {}
    if "refresh_share_of_full_run" in inc:
        share = inc["refresh_share_of_full_run"]
        row(
            f"refresh of one new quarter <= {t['incremental_share']:.0%} of the full run "
            f"({inc['orders']:,})",
            f"{_fmt(inc['refresh']['wall_seconds'])} s = {share * 100:.0f}%",
            share <= t["incremental_share"],
        )
    return _table("Against the targets of issue 7:", rows)


def targets_issue_17(results: dict) -> list[str]:
    """Issue 17's targets against this run's figures (only those the run measured; a scale whose
    run failed shows the failure)."""
    t = TARGETS["issue_17"]
    by_scale = {s["orders"]: s for s in results["scales"]}
    runs = _runs(results)
    rows = []

    def row(target: str, value: str, met: bool | None) -> None:
        rows.append(f"| {target} | {value} | {'-' if met is None else _yes(met)} |")

    for orders in ISSUE_17_RSS_SCALES:
        scale = by_scale.get(orders)
        if scale is None:
            continue
        target = f"`goodpulse run` peak RSS <= {t['run_rss_gb']} GB at {orders:,} orders"
        if orders in runs:
            rss = runs[orders]["peak_rss_mb"]
            row(target, f"{rss:,} MB", rss <= t["run_rss_gb"] * 1024)
        else:
            failed = next((f for f in scale["failures"] if f["step"] == "run"), None)
            if failed:
                row(target, f"failed at {_fmt(failed.get('wall_seconds'))} s, "
                    f"{_fmt(failed.get('peak_rss_mb'))} MB so far", False)  # fmt: skip
    big = generator_peak(results)
    if big:
        row(
            f"generator peak RSS <= {t['generator_rss_gb']} GB at any size",
            f"{big['peak_rss_mb']:,} MB at {big['orders']:,} orders",
            big["peak_rss_mb"] <= t["generator_rss_gb"] * 1024,
        )
    ratios, floor_ratios = cross_scale_ratios(results), floor_scale_ratios(results)
    for big_n, small_n in LINEAR_PAIRS:
        key = ratio_key("run", big_n, small_n)
        if key in ratios:
            floor = floor_ratios.get(ratio_key("floor", big_n, small_n))
            measured = f"{ratios[key]:.1f}x" + (f" (the full floor: {floor:.1f}x)" if floor else "")
            row(f"time linear: the {big_n // 10**6}M run <= {t['linear_ratio']}x the "
                f"{small_n // 10**6}M run", measured, ratios[key] <= t["linear_ratio"])  # fmt: skip
    for orders in FLOOR_RATIO_SCALES:
        ratio = (by_scale.get(orders) or {}).get("ratios", {}).get("whole_run_over_full_floor")
        if ratio is not None:
            row(f"whole run <= {t['run_over_full_floor']}x the full floor at {orders:,}",
                f"{ratio:.1f}x", ratio <= t["run_over_full_floor"])  # fmt: skip
    inc = results.get("incremental") or {}
    if "refresh_share_of_full_run" in inc:
        share = inc["refresh_share_of_full_run"]
        at_10m = inc["orders"] == 10_000_000
        row(
            f"one-quarter refresh at 10,000,000 <= {t['incremental_share_10m']:.0%} of the full run",
            f"{share * 100:.0f}% at {inc['orders']:,} orders"
            + ("" if at_10m else " (not the target's scale)"),
            share <= t["incremental_share_10m"] if at_10m else None,
        )
    return _table(
        "Against the targets of issue 17 (this machine, ratios measured in the same run):", rows
    )


def _table(title: str, rows: list[str]) -> list[str]:
    if not rows:
        return []
    return [title, "", "| target | measured | met |", "|---|---|---|", *rows, ""]


def incremental_lines(inc: dict) -> list[str]:
    """The incremental refresh, in words."""
    if "failure" in inc:
        f = inc["failure"]
        return [
            "",
            f"Incremental refresh at {inc['orders']:,} orders: **failed** in step {f['step']} "
            f"after {_fmt(f.get('wall_seconds'))} s (peak RSS {_fmt(f.get('peak_rss_mb'))} MB).",
        ]
    lines: list[str] = []
    ref = inc["refresh"]
    lines += [
        "",
        f"Incremental refresh at {inc['orders']:,} orders (per-quarter layout): the initial "
        f"run without quarter {inc['new_quarter']} took {_fmt(inc['initial_run']['wall_seconds'])}"
        f" s; after its drops ({', '.join(inc['new_quarter_files'])}) landed, the refresh "
        "(the lake run the landing-zone sensor requests for those files: the order-grain "
        "bronze and silver tables of that quarter; then analytics_job) took "
        f"{_fmt(ref['wall_seconds'])} s "
        f"wall, {_fmt(ref['cpu_seconds'])} s CPU, peak RSS {ref['peak_rss_mb']:,} MB: "
        f"lake {_fmt(ref['layers']['lake_phase'])} s, analytics "
        f"{_fmt(ref['layers']['analytics_phase'])} s.",
    ]
    if "refresh_share_of_full_run" in inc:
        lines.append(
            f"That is {inc['refresh_share_of_full_run'] * 100:.0f}% of the full run at this "
            f"scale ({_fmt(inc['full_run_seconds'])} s) and "
            f"{inc['refresh_share_of_initial_run'] * 100:.0f}% of the initial run "
            "(target <= 35%)."
        )
    parts, lake_run = inc.get("refresh_parts"), inc.get("one_quarter_lake_run")
    if parts and lake_run:
        lines.append(
            f"The median refresh in parts: process start and exit "
            f"{_fmt(parts['process_start_and_exit'])} s; lake phase "
            f"{_fmt(parts['lake_phase'])} s, of which {_fmt(parts['lake_run_fixed'])} s is what "
            f"any one-quarter lake run costs (the same run for quarter {lake_run['quarter']}, "
            f"{lake_run['orders']:,} orders, took {_fmt(lake_run['median_seconds'])} s: median "
            f"of {', '.join(_fmt(x) for x in lake_run['runs_seconds'])}) and "
            f"{_fmt(parts['lake_for_the_quarter'])} s the quarter's data; analytics phase "
            f"{_fmt(parts['analytics_phase'])} s (a full recompute: as_of and the quantiles "
            "move with every quarter)."
        )
        if "share_without_the_quarter" in inc:
            lines.append(
                "Without the quarter's data (its lake time cut to nothing), the refresh would "
                f"still be {inc['share_without_the_quarter'] * 100:.0f}% of the full run."
            )
    if inc.get("pairs"):
        lines.append(
            f"Measured as {len(inc['pairs'])} pairs, each a refresh from the same state then "
            "a full run at this scale, back to back; the figures above are the median "
            "pair's (the higher middle one for an even count). Pairs (refresh s / full run s = share): "
            + "; ".join(
                f"{_fmt(p['refresh_seconds'])} / {_fmt(p['full_run_seconds'])} = "
                f"{p['share'] * 100:.1f}%"
                for p in inc["pairs"]
            )
            + "."
        )
    return lines


# --- the document -------------------------------------------------------------------------------


def _header(results: dict) -> list[str]:
    m = results["machine"]
    invocations = results.get("invocations") or [
        {"started_at": results["started_at"], "argv": results["argv"]}
    ]
    runs = "; ".join(
        f"{i['started_at']}: `python benchmarks/run_benchmark.py {' '.join(i['argv'])}`"
        for i in invocations
    )
    return [
        "# GoodPulse benchmark",
        "",
        f"Run {runs}" + (" (merged with `--merge`)." if len(invocations) > 1 else "."),
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; "
        f"Python {m['python']}, DuckDB {m['duckdb']}, Dagster {m['dagster']}, "
        f"pyarrow {m['pyarrow']}, pandas {m['pandas']}. Load average at start of each scale in "
        "the tables below (other work on the machine inflates wall times; CPU seconds are less "
        "sensitive to it).",
        "",
    ]


def _time_table(results: dict) -> list[str]:
    lines = [
        "Times in seconds. Layer columns are the sums of the Dagster step durations of that "
        "layer's assets (load inputs, compute, store outputs); checks are the asset-check "
        "steps; overhead is the rest of the two runs (run set-up, event log, step launch); the "
        "whole run also includes process start and imports. The full floor is the whole "
        "analysis as the project's SQL from the CSVs in one DuckDB process (`full_floor.py`; "
        "wall time of its process, start-up included); the customer_360 floor, one query for "
        "customer_360 (`floor_customer_360.sql`), is the floor of earlier rounds.",
        "",
        "| scale (orders) | measured (load) | generator s (orders/s, RSS MB) | bronze | silver | "
        "gold | KPI | report | quarantine | checks | Dagster overhead | whole run wall | "
        "whole run CPU | peak RSS MB | full floor s (RSS MB) | run / full floor | "
        "customer_360 floor s | run / customer_360 floor |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["scales"]:
        g, r, ff, f = (s.get(k) or {} for k in ("generator", "run", "full_floor", "floor"))
        lay, ratios = r.get("layers", {}), s.get("ratios", {})
        when = f"{s.get('measured_at', '-')} ({_fmt((s.get('load_average_at_start') or [None])[0], 2)})"
        if s.get("run_measured_at"):  # --floor-only: the floors now, the run recorded earlier
            when += f"; the run {s['run_measured_at']}"
        gen = (
            f"{_fmt(g.get('wall_seconds'))} ({_fmt(g.get('orders_per_second'))}, "
            f"{_fmt(g.get('peak_rss_mb'))})"
            if g
            else "failed"
        )
        layers = " | ".join(_fmt(lay.get(k)) for k in (*LAYER_COLUMNS, "dagster_overhead"))
        run = (
            f"{_fmt(r.get('wall_seconds'))} | {_fmt(r.get('cpu_seconds'))} | "
            f"{_fmt(r.get('peak_rss_mb'))}"
            if r
            else "failed | - | -"
        )
        floor = (
            f"{_fmt(ff.get('wall_seconds'))} ({_fmt(ff.get('peak_rss_mb'))})" if ff else "failed"
        )
        lines.append(
            f"| {s['orders']:,} | {when} | {gen} | {layers} | {run} | {floor} | "
            f"{_fmt(ratios.get('whole_run_over_full_floor'))} | "
            f"{_fmt(f.get('customer_360_seconds'), 2)} | {_fmt(ratios.get('whole_run_over_floor'))} |"
        )
    return [*lines, ""]


LAYER_COLUMNS = ("bronze", "silver", "gold", "kpi", "report", "quarantine", "checks")


def _disk_table(results: dict) -> list[str]:
    lines = [
        "Disk, MB: the raw CSVs; after the run, the staging cache (parsed copies of the raw "
        "files), the lake by layer and the warehouse file; the spill folder's peak during the "
        "run (polled every 0.5 s); the full floor's spill peak and database file.",
        "",
        "| scale (orders) | raw CSV | staging | lake | lake by layer | run spill peak | "
        "warehouse | floor spill peak | floor database |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["scales"]:
        d, ff = s.get("disk") or {}, s.get("full_floor") or {}
        layers = ", ".join(f"{k} {_fmt(v)}" for k, v in (d.get("lake_by_layer_mb") or {}).items())
        lines.append(
            f"| {s['orders']:,} | {_fmt(d.get('raw_csv_mb'))} | {_fmt(d.get('staging_mb'))} | "
            f"{_fmt(d.get('lake_mb'))} | {layers or '-'} | {_fmt(d.get('spill_peak_mb'))} | "
            f"{_fmt(d.get('warehouse_mb'))} | {_fmt(ff.get('peak_spill_mb'))} | "
            f"{_fmt(ff.get('database_mb'))} |"
        )
    return [*lines, ""]


def _floor_lines(results: dict) -> list[str]:
    lines = ["The full floor, and whether it computed what the pipeline's warehouse holds:", ""]
    for s in results["scales"]:
        ff, wh, agrees = s.get("full_floor"), s.get("warehouse"), s.get("floor_agrees")
        if not ff:
            continue
        phases = ", ".join(f"{k} {_fmt(v)} s" for k, v in ff["phases"].items())
        check = "no warehouse to compare with (the run failed)"
        if wh and agrees:
            check = (
                f"floor {ff['customers']:,} customers, revenue {ff['revenue']} vs warehouse "
                f"{wh['customers']:,}, {wh['revenue']}; northstar row "
                f"{'identical' if agrees['northstar'] else '**differs**'}: "
                f"{'agrees' if agrees['all'] else '**does not agree**'}"
            )
        lines.append(
            f"- {s['orders']:,} orders: {_fmt(ff['seconds'])} s in DuckDB ({phases}); {check}."
        )
    return [*lines, ""] if len(lines) > 2 else []


def _ratio_lines(results: dict) -> list[str]:
    lines = ["Ratios:", ""]
    for s in results["scales"]:
        ratios = s.get("ratios") or {}
        if ratios:
            lines.append(
                f"- {s['orders']:,} orders: whole run / full floor "
                f"{_fmt(ratios.get('whole_run_over_full_floor'))}x; customer_360 through the "
                "pipeline (lake phase + the customer-table step) / customer_360 floor "
                f"{_fmt(ratios.get('customer_360_over_floor'))}x; whole run / customer_360 floor "
                f"{_fmt(ratios.get('whole_run_over_floor'))}x."
            )
    for key, ratio in cross_scale_ratios(results).items():
        big, small = key.removeprefix("run_").split("_over_")
        lines.append(f"- whole run at {big} / at {small}: {ratio:.2f}x.")
    for key, ratio in floor_scale_ratios(results).items():
        big, small = key.removeprefix("floor_").split("_over_")
        lines.append(
            f"- full floor at {big} / at {small}: {ratio:.2f}x (the same analysis as plain DuckDB "
            "SQL in one process, under the same budget)."
        )
    big = generator_peak(results)
    if big:
        lines.append(
            f"- generator peak RSS: {big['peak_rss_mb']:,} MB at {big['orders']:,} orders (the "
            "highest of the scales generated in this benchmark)."
        )
    return [*lines, ""] if len(lines) > 2 else []


def _failure_lines(results: dict) -> list[str]:
    lines = []
    for s in results["scales"]:
        for f in s.get("failures", []):
            first = f["error"].strip().splitlines()[0] if f.get("error") else ""
            lines.append(
                f"- {s['orders']:,} orders, step {f['step']}: after {_fmt(f.get('wall_seconds'))} "
                f"s, peak RSS {_fmt(f.get('peak_rss_mb'))} MB, spill {_fmt(f.get('peak_spill_mb'))}"
                f" MB; last progress: {f.get('last_progress') or '-'}; `{first[:300]}`"
            )
    return ["Failures:", "", *lines, ""] if lines else []


def markdown(results: dict) -> str:
    lines = [
        *_header(results),
        *_time_table(results),
        *_disk_table(results),
        *_floor_lines(results),
        *_ratio_lines(results),
        *_failure_lines(results),
    ]
    if results.get("incremental"):
        lines += [*incremental_lines(results["incremental"]), ""]
    lines += [*targets_issue_17(results), *targets_issue_7(results)]
    slow = [
        f"- {s['orders']:,}: "
        + ", ".join(f"`{k}` {v:.1f}" for k, v in s["run"]["layers"]["slowest_steps"].items())
        for s in results["scales"]
        if (s.get("run") or {}).get("layers")
    ]
    if slow:
        lines += ["Slowest steps per scale:", "", *slow]
    return "\n".join(lines) + "\n"

"""The benchmark at scale (issue 17): the full floor computes what the pipeline computes, and the
benchmark measures, records failures and merges results as it says."""

import sys
from pathlib import Path

import duckdb
import pytest

from goodpulse_dagster import schema
from goodpulse_dagster.cli import run_pipeline
from goodpulse_dagster_tests.pipeline import lake_settings

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import benchmark_report  # noqa: E402
import full_floor  # noqa: E402
import measure  # noqa: E402
import out_of_core  # noqa: E402
import run_benchmark  # noqa: E402

OLIST_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "olist_sample"


@pytest.fixture(scope="module")
def floor_and_warehouse(tmp_path_factory):
    """The real Olist sample through the pipeline and through the full floor, in one DuckDB
    connection: the floor's database, with the warehouse attached as ``wh``."""
    if not OLIST_SAMPLE.is_dir():
        pytest.skip("../shared/olist_sample is not present")
    tmp = tmp_path_factory.mktemp("floor")
    settings = lake_settings(tmp / "home", OLIST_SAMPLE)
    run_pipeline(settings)
    result = full_floor.run_floor(OLIST_SAMPLE, tmp / "floor.duckdb")
    con = duckdb.connect(str(tmp / "floor.duckdb"), read_only=True)
    con.execute(f"ATTACH '{settings.warehouse_path}' AS wh (READ_ONLY)")
    yield result, con
    con.close()


def analysis_tables(con, database: str) -> set[tuple[str, str]]:
    return set(
        con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
            "AND schema_name IN ('gold', 'kpi')",
            [database],
        ).fetchall()
    )


def test_the_full_floor_builds_every_gold_and_kpi_table_as_the_pipeline_does(floor_and_warehouse):
    # Real data: several reviews per order, repeated review_ids, a BOM, every order status. The
    # floor runs the same models minus the orchestration: every row of every table is the same.
    _, con = floor_and_warehouse
    expected = {
        *((schema.GOLD, t) for t in (*schema.GOLD_TABLES, *schema.PREDICTION_GOLD_TABLES)),
        *((schema.KPI, t) for t in (*schema.KPI_TABLES, *schema.PREDICTION_KPI_TABLES)),
    }
    assert analysis_tables(con, "floor") == expected
    assert analysis_tables(con, "wh") >= expected
    for layer, table in sorted(expected):
        columns = comparable_columns(con, layer, table)
        for a, b in (("floor", "wh"), ("wh", "floor")):
            extra = con.execute(
                f"SELECT count(*) FROM (SELECT {columns} FROM {a}.{layer}.{table} "
                f"EXCEPT ALL SELECT {columns} FROM {b}.{layer}.{table})"
            ).fetchone()[0]
            assert extra == 0, f"{layer}.{table}: {extra} rows of {a} not in {b}"


def comparable_columns(con, layer: str, table: str) -> str:
    """Every column of the table, DOUBLEs rounded to 8 decimals: a DuckDB sum of doubles over two
    threads adds in no fixed order, so two runs of the same query can differ in the last bit
    (seen: 45.46587262628383 and 45.46587262628414). Money is DECIMAL, compared exactly."""
    types = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'floor' "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [layer, table],
    ).fetchall()
    return ", ".join(f'round("{c}", 8)' if t == "DOUBLE" else f'"{c}"' for c, t in types)


def test_the_full_floor_reports_the_figures_the_benchmark_compares(floor_and_warehouse):
    result, con = floor_and_warehouse
    # 5,172 delivered orders in the sample (its README), each a completed order of a customer.
    assert result["northstar"][0]["total_orders"] == "5172"
    assert result["rows"]["gold.customer_360"] == result["customers"]
    on_warehouse = con.cursor()
    on_warehouse.execute("USE wh")
    warehouse = full_floor.comparable_figures(on_warehouse)
    assert run_benchmark.floor_agrees(result, warehouse)["all"]
    assert set(result["phases"]) == {"silver", "gold", "predictions", "kpi"}


# --- measuring ---------------------------------------------------------------------------------


def test_a_failed_child_is_raised_with_what_was_measured(tmp_path):
    log = tmp_path / "child.log"
    code = "import sys, time; print('lake: steps 3/9', flush=True); time.sleep(1.5); sys.exit(3)"
    with pytest.raises(measure.MeasuredFailure) as failed:
        measure.run_measured([sys.executable, "-c", code], log=log, say=None)
    partial = failed.value.partial
    assert "exited with 3" in str(failed.value)
    assert partial["wall_seconds"] >= 1.5
    assert partial["peak_rss_mb"] > 0
    assert partial["last_progress"] == "lake: steps 3/9"


def test_a_child_over_the_rss_limit_is_stopped(tmp_path):
    # 400 MB held for 30 s: stopped well before, at a peak above the 200 MB limit.
    code = "import time; b = bytearray(400 * 2**20); time.sleep(30)"
    with pytest.raises(measure.RssLimitExceeded) as failed:
        measure.run_measured([sys.executable, "-c", code], max_rss_mb=200, say=None)
    assert failed.value.partial["peak_rss_mb"] > 200
    assert failed.value.partial["wall_seconds"] < 30


def test_the_spill_folder_peak_is_measured_while_the_child_runs(tmp_path):
    # 8 MiB written into the spill folder, held 1.5 s, removed before the child ends.
    spill = tmp_path / "spill"
    code = (
        f"import os, time; os.makedirs({str(spill)!r}); p = os.path.join({str(spill)!r}, 'f'); "
        "open(p, 'wb').write(b'x' * 8 * 2**20); time.sleep(1.5); os.remove(p)"
    )
    measured = measure.run_measured([sys.executable, "-c", code], spill_dir=spill, say=None)
    assert measured["peak_spill_mb"] == 8.0
    assert measure.folder_bytes(spill) == 0


def test_floor_only_measures_the_floor_again_and_keeps_the_recorded_run(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    common = ["--scales", "3000", "--out", str(out), "--work", str(work)]
    first = run_benchmark.main(common)["scales"][0]
    (work / "run_3000.log").unlink()
    (work / "floor_3000.log").unlink()
    # The data generated again, with the same seed: the floor must agree with the recorded run.
    again = run_benchmark.main([*common, "--merge", "--floor-only", "--regenerate"])
    [scale] = again["scales"]
    assert not (work / "run_3000.log").exists()  # no run this time, a floor measured again
    assert (work / "floor_3000.log").exists()
    assert scale["run"] == first["run"] and scale["warehouse"] == first["warehouse"]
    assert scale["run_measured_at"] == first["measured_at"]
    assert scale["generator"]["reused"] is False
    assert scale["floor_agrees"] == first["floor_agrees"]
    assert all(scale["floor_agrees"].values()) and scale["failures"] == []
    assert scale["ratios"]["whole_run_over_full_floor"] == round(
        first["run"]["wall_seconds"] / scale["full_floor"]["wall_seconds"], 1
    )
    assert f"; the run {first['measured_at']} |" in (out / "README.md").read_text()
    assert len(again["invocations"]) == 2
    # Nothing recorded to keep: refused before anything is measured.
    for argv in ([*common, "--floor-only"], [*common[:1], "4000", *common[2:], "--merge",
                                               "--floor-only"]):  # fmt: skip
        with pytest.raises(SystemExit):
            run_benchmark.main(argv)


def test_the_floor_ratios_between_scales_sit_beside_the_run_ratios():
    results = {"scales": [_scale(3_000_000, 140.0), _scale(30_000_000, 1960.0)]}
    results["scales"][0]["full_floor"] = {"wall_seconds": 60.0}
    results["scales"][1]["full_floor"] = {"wall_seconds": 900.0}
    assert benchmark_report.floor_scale_ratios(results) == {"floor_30000k_over_3000k": 15.0}
    text = "\n".join(benchmark_report.targets_issue_17(results))
    assert "| time linear: the 30M run <= 11x the 3M run | 14.0x (the full floor: 15.0x) |" in text


def test_the_out_of_core_strategies_compute_the_same_aggregate(tmp_path):
    # 20,000 rows on 19,400 keys (i * 7919 mod 19,400: 7919 is prime to 19,400, so every key
    # occurs); revenue i mod 1000 sums to 20 * (0 + ... + 999) = 9,990,000.
    whole, bucketed = (
        out_of_core.measure(20_000, "100MB", strategy, 7, tmp_path, 1)
        for strategy in out_of_core.STRATEGIES
    )
    assert whole["totals"] == bucketed["totals"] == [19_400, 20_000, "9990000.00"]
    assert not (tmp_path / "buckets").exists() and not (tmp_path / "spill").exists()


# --- results -------------------------------------------------------------------------------------


def _scale(orders: int, wall: float, rss: int = 1000, floor: float | None = None) -> dict:
    run = {"wall_seconds": wall, "peak_rss_mb": rss}
    entry = {"orders": orders, "run": run, "failures": [], "ratios": {}}
    if floor:
        entry["ratios"]["whole_run_over_full_floor"] = round(wall / floor, 1)
    return entry


def test_merge_replaces_the_scales_measured_now_and_keeps_the_others():
    previous = {
        "scales": [_scale(1_000_000, 60.0), _scale(30_000_000, 2000.0)],
        "incremental": {"orders": 1_000_000},
        "invocations": [{"started_at": "a", "argv": []}],
    }
    now = {"scales": [_scale(1_000_000, 70.0)], "invocations": [{"started_at": "b", "argv": []}]}
    out = run_benchmark.merged(previous, now)
    assert [(s["orders"], s["run"]["wall_seconds"]) for s in out["scales"]] == [
        (1_000_000, 70.0),
        (30_000_000, 2000.0),
    ]
    assert out["incremental"] == {"orders": 1_000_000}
    assert [i["started_at"] for i in out["invocations"]] == ["a", "b"]


def test_issue_17_targets_read_the_measured_ratios_and_failures():
    failed = {
        "orders": 10_000_000,
        "failures": [{"step": "run", "wall_seconds": 926.0, "peak_rss_mb": 18500}],
    }
    results = {
        "scales": [
            _scale(1_000_000, 60.0, rss=2500, floor=10.0),  # 6x the floor, 2.5 GB
            _scale(3_000_000, 200.0, rss=3500),  # 3.4 GB: over 3 GB
            failed,
            _scale(30_000_000, 2400.0),  # 12x the 3M run
        ]
    }
    assert benchmark_report.cross_scale_ratios(results) == {"run_30000k_over_3000k": 12.0}
    rows = benchmark_report.targets_issue_17(results)
    text = "\n".join(rows)
    assert "| `goodpulse run` peak RSS <= 3 GB at 1,000,000 orders | 2,500 MB | yes |" in text
    assert "| `goodpulse run` peak RSS <= 3 GB at 3,000,000 orders | 3,500 MB | **no** |" in text
    assert "at 10,000,000 orders | failed at 926.0 s, 18,500 MB so far | **no** |" in text
    assert "| time linear: the 30M run <= 11x the 3M run | 12.0x | **no** |" in text
    assert "| whole run <= 8x the full floor at 1,000,000 | 6.0x | yes |" in text
    # The README is written whatever failed.
    markdown = benchmark_report.markdown({**results, "machine": _MACHINE, "started_at": "t",
                                          "argv": []})  # fmt: skip
    assert "10,000,000 orders, step run: after 926.0 s, peak RSS 18,500 MB" in markdown


_MACHINE = dict.fromkeys(("cpu", "cores", "ram_gb", "os", "python", "duckdb", "dagster"), "x")
_MACHINE.update(pyarrow="x", pandas="x")

"""The pipeline under a small DuckDB memory budget (issue 17): on generated data large enough that
its queries need more than the budget, a run with ``GOODPULSE_MEMORY_LIMIT=300MB`` completes by
spilling to disk, and every gold and KPI table is the same, row for row, as a run with the
default budget.

Both runs are ``goodpulse run`` in a child process (the budget is read once per process), measured
by the benchmark's own poller: the peak size of the spill folder shows that the budget bound.
"""

import os
import sys
from pathlib import Path

import duckdb
import pytest

from goodpulse_dagster import lake_layout, schema
from goodpulse_dagster.sample_data import generate

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import measure  # noqa: E402

# Enough orders that the customer tables, cohorts and predictions need more than 300MB of DuckDB
# memory (at 300,000 orders a 300MB run spilled about 90 MB; the default budget spilled nothing).
ORDERS = 300_000
SMALL_BUDGET = "300MB"
GOODPULSE = str(Path(sys.executable).with_name("goodpulse"))


def _run(tmp: Path, raw: Path, name: str, memory_limit: str | None) -> tuple[Path, dict]:
    home = tmp / name
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOODPULSE_")}
    env.update(GOODPULSE_HOME=str(home), GOODPULSE_RAW_DIR=str(raw))
    if memory_limit is not None:
        env["GOODPULSE_MEMORY_LIMIT"] = memory_limit
    measured = measure.run_measured(
        [GOODPULSE, "run"],
        env=env,
        log=tmp / f"{name}.log",
        spill_dir=lake_layout.duckdb_temp_dir(home),
        say=None,
    )
    return home, measured


@pytest.fixture(scope="module")
def bounded_and_default(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bounded")
    raw = tmp / "raw"
    generate(raw, orders=ORDERS, seed=11)
    bounded = _run(tmp, raw, "bounded", SMALL_BUDGET)
    default = _run(tmp, raw, "default", None)
    con = duckdb.connect()
    con.execute(f"ATTACH '{lake_layout.default_warehouse(bounded[0])}' AS bounded (READ_ONLY)")
    con.execute(f"ATTACH '{lake_layout.default_warehouse(default[0])}' AS dflt (READ_ONLY)")
    yield tmp, bounded[1], default[1], con
    con.close()


def test_the_small_budget_is_in_force_and_binds(bounded_and_default):
    tmp, bounded, default, _ = bounded_and_default
    log = (tmp / "bounded.log").read_text()
    assert f"memory_limit {SMALL_BUDGET}" in log
    # The queries needed more than the budget: DuckDB wrote what did not fit to the spill folder,
    # and the run still completed (run_measured raises on a failed run).
    assert bounded["peak_spill_mb"] > 0
    assert f"memory_limit {SMALL_BUDGET}" not in (tmp / "default.log").read_text()


# Empty on the generated data (no customer there is both high-risk and still Active or Warm): it
# is compared all the same, but an empty table cannot show a difference.
EMPTY_ON_GENERATED_DATA = {(schema.KPI, "early_warning")}

ANALYSIS_TABLES = [
    *((schema.GOLD, t) for t in (*schema.GOLD_TABLES, *schema.PREDICTION_GOLD_TABLES)),
    *((schema.KPI, t) for t in (*schema.KPI_TABLES, *schema.PREDICTION_KPI_TABLES)),
]


@pytest.mark.parametrize(("layer", "table"), ANALYSIS_TABLES, ids=lambda v: str(v))
def test_every_figure_is_the_same_as_under_the_default_budget(bounded_and_default, layer, table):
    *_, con = bounded_and_default
    name = f"{layer}.{table}"
    rows = con.execute(f"SELECT count(*) FROM dflt.{name}").fetchall()[0][0]
    assert (rows == 0) == ((layer, table) in EMPTY_ON_GENERATED_DATA), f"{name}: {rows} rows"
    # Every row of each side is in the other, as many times (EXCEPT ALL keeps duplicates): the
    # same table, bit for bit, DOUBLE columns included (the models add in a fixed order).
    for a, b in (("bounded", "dflt"), ("dflt", "bounded")):
        missing = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM {a}.{name} EXCEPT ALL SELECT * FROM {b}.{name})"
        ).fetchall()[0][0]
        assert missing == 0, f"{name}: {missing} rows of the {a} run are not in the {b} run"

"""The same models on Spark give the same tables as on DuckDB (issue 18), row for row.

For the hand-worked fixture and the real sample (``../shared/olist_sample``): the DuckDB pipeline
runs as the other end-to-end tests run it (``cli.run_pipeline``), then gold, KPIs and predictions
run on a local Spark Connect server (``local[2]``, one for the whole test session) from the
silver Parquet files that run wrote. Every gold and KPI table Spark wrote is read back by DuckDB
(as the report would read it) and compared with the DuckDB warehouse's: same columns and types,
rows sorted by the table's key, floats within 1e-9, money (DECIMAL) exact, dates and timestamps
equal.
"""

from __future__ import annotations

import contextlib
import glob
import io
import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from goodpulse_dagster import schema
from goodpulse_dagster.cli import run_pipeline
from goodpulse_dagster.engine import arrow_schema
from goodpulse_dagster_tests.fixtures.handmade_raw import write_handmade_raw
from goodpulse_dagster_tests.fixtures.handmade_silver import HANDMADE_AS_OF
from goodpulse_dagster_tests.pipeline import lake_settings
from goodpulse_dagster_tests.spark_server import skip_without_spark
from goodpulse_dagster_tests.test_pipeline_olist import OLIST_SAMPLE

skip_without_spark()

from goodpulse_dagster.spark.layers import SILVER_INPUTS, SparkBuild  # noqa: E402
from goodpulse_dagster.spark.runner import read_input, write_parquet  # noqa: E402
from goodpulse_dagster.spark.translate import translate_sql  # noqa: E402

pytestmark = pytest.mark.slow

TOLERANCE = 1e-9
# Every table both engines build: gold, the KPIs and the prediction tables.
TABLES = [(schema.GOLD, name) for name in (*schema.GOLD_TABLES, "customer_predictions")] + [
    (schema.KPI, name) for name in (*schema.KPI_TABLES, *schema.PREDICTION_KPI_TABLES)
]


# ``spark``: the one local server of the test session (conftest.py, spark_server.py).


def test_quantiles_and_month_steps_agree_on_both_engines(spark):
    """The hand example of dialect.exact_quantiles and month_intervals, run on both engines:
    over 1, 2, 3, 10 the p20 sits at position 0.6, 1 + 0.6 * (2 - 1) = 1.6, and p80 at 2.4,
    3 + 0.4 * (10 - 3) = 5.8; 2018-01-31 plus one month is 2018-02-28 (clamped)."""
    sql = (
        "SELECT quantile_cont(x, [0.2, 0.8]) AS q, (DATE '2018-01-31' + to_months(1))::DATE AS d "
        "FROM (VALUES (1.0::DOUBLE), (2.0), (3.0), (10.0)) t(x)"
    )
    duck = duckdb.sql(sql).fetchall()[0]
    on_spark = spark.sql(translate_sql(sql)).collect()[0]
    assert duck[0] == pytest.approx([1.6, 5.8], abs=1e-12)
    assert list(on_spark["q"]) == pytest.approx([1.6, 5.8], abs=1e-12)
    assert duck[1] == on_spark["d"] == date(2018, 2, 28)


def test_rewriting_a_quarter_replaces_it_and_keeps_the_others(spark, tmp_path):
    """runner.write_parquet with partition_by: dynamic partition overwrite, never an append."""
    path = str(tmp_path / "orders")
    first = pa.table(
        {"order_id": ["a", "b", "c"], "_partition": ["2017-01-01", "2017-04-01", "2017-04-01"]}
    )
    write_parquet(read_input(spark, first), path, ["_partition"])
    # Re-running 2017-04-01 with one order left: that quarter is replaced, 2017-01-01 is kept.
    rerun = pa.table({"order_id": ["d"], "_partition": ["2017-04-01"]})
    write_parquet(read_input(spark, rerun), path, ["_partition"])
    write_parquet(read_input(spark, rerun), path, ["_partition"])  # twice: still no append
    rows = duckdb.sql(
        f"SELECT _partition::VARCHAR, order_id FROM read_parquet('{path}/*/*.parquet', "
        "hive_partitioning = true) ORDER BY ALL"
    ).fetchall()
    assert rows == [("2017-01-01", "a"), ("2017-04-01", "d")]


def _silver_files(settings) -> dict[str, list[str]]:
    return {
        table: sorted(glob.glob(f"{settings.lake_dir}/silver/{table}/*.parquet"))
        for table in SILVER_INPUTS.values()
    }


def _run_both(spark, settings, out: Path) -> dict[tuple[str, str], str]:
    """The DuckDB pipeline, then gold/KPI/predictions on Spark from its silver Parquet files;
    the Spark tables' paths."""
    with contextlib.redirect_stdout(io.StringIO()):
        run_pipeline(settings)
    build = SparkBuild(spark, _silver_files(settings), str(out), settings.metrics)
    try:
        build.gold()
        build.kpis()
        build.predictions()
    finally:
        build.close()
    return build.written


def _equal(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(
            a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE
        )
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return a == b and type(a) is type(b)  # money: exact, and DECIMAL on both sides
    return a == b and type(a) is type(b)


def _sort_key(row: dict, key: tuple[str, ...]):
    # NULLs last, then the value: a key column may be NULL (channel_revenue's totals row).
    return [(row[c] is None, row[c] if row[c] is not None else 0) for c in key]


def assert_same_tables(warehouse: duckdb.DuckDBPyConnection, written: dict) -> None:
    """Every table of ``TABLES`` in Spark's Parquet equals the DuckDB warehouse's."""
    assert sorted(written) == sorted(TABLES)
    for layer, name in TABLES:
        duck = warehouse.sql(f"SELECT * FROM {layer}.{name}").to_arrow_table()
        spark = warehouse.sql(
            f"SELECT * FROM read_parquet('{written[(layer, name)]}/*.parquet')"
        ).to_arrow_table()
        where = f"{layer}.{name}"
        spec = schema.table_spec(layer, name)
        # Spark writes exactly the declared columns and types. (Compared with the declaration,
        # not the warehouse: an empty kpi.churn_risk_monitor is stored by the DuckDB path with
        # its DATE and VARCHAR columns typed NULL, from an empty pandas frame.)
        assert spark.schema == arrow_schema(spec.column_types), where
        key = spec.primary_key or tuple(duck.column_names)
        duck_rows = sorted(duck.to_pylist(), key=lambda r: _sort_key(r, key))
        spark_rows = sorted(spark.to_pylist(), key=lambda r: _sort_key(r, key))
        assert len(spark_rows) == len(duck_rows), where
        for d, s in zip(duck_rows, spark_rows, strict=True):
            different = {c: (d[c], s[c]) for c in d if not _equal(d[c], s[c])}
            assert not different, f"{where} row {[d[c] for c in key]}: {different}"


def test_handmade_fixture_gives_the_same_tables_on_spark(spark, tmp_path):
    raw = write_handmade_raw(tmp_path / "raw")
    settings = lake_settings(tmp_path / "home", raw, GOODPULSE_AS_OF=HANDMADE_AS_OF.isoformat())
    written = _run_both(spark, settings, tmp_path / "spark")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
        assert_same_tables(warehouse, written)
        # Not a vacuous comparison: the hand-worked customers are there.
        assert warehouse.execute("SELECT count(*) FROM gold.customer_360").fetchone()[0] > 0


def test_olist_sample_gives_the_same_tables_on_spark(spark, tmp_path):
    if not OLIST_SAMPLE.is_dir():
        pytest.skip("../shared/olist_sample is not present")
    settings = lake_settings(tmp_path / "home", OLIST_SAMPLE)
    written = _run_both(spark, settings, tmp_path / "spark")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
        assert_same_tables(warehouse, written)

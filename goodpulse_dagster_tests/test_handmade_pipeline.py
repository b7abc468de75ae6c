"""The hand-made scenario through the WHOLE pipeline: raw Kaggle files -> bronze -> silver -> gold
-> KPI, run by the real Dagster definitions (``cli.run_pipeline``).

fixtures/handmade_raw.py writes the scenario of fixtures/handmade_silver.py as raw files. Here the
silver ``unified_user_lifecycle`` the pipeline builds from them must hold the silver fixture's
order facts, and the warehouse (gold.*, kpi.*) must hold the figures test_gold_kpi.py worked out by
hand for that fixture. Those expected values are imported from fixtures/handmade_expected.py,
where they are written once for both test modules.
"""

from __future__ import annotations

import contextlib
import io

import duckdb
import pandas as pd
import pytest

from goodpulse_dagster import schema
from goodpulse_dagster.cli import run_pipeline
from goodpulse_dagster.gold import transforms as gold
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster_tests.fixtures.handmade_expected import (
    C360,
    C360_ROWS,
    COHORT_RETENTION_ROWS,
    CUSTOMER_SEGMENTATION_ROWS,
    DELIVERY_REVIEW_R,
    DELIVERY_REVIEW_R_BY_HAND,
    KPI_ROWS,
    UNIFIED_LIFECYCLE_EXTRA_COLUMNS,
    UNIFIED_LIFECYCLE_EXTRA_ROWS,
)
from goodpulse_dagster_tests.fixtures.handmade_raw import write_handmade_raw
from goodpulse_dagster_tests.fixtures.handmade_silver import HANDMADE_AS_OF, build_handmade_silver
from goodpulse_dagster_tests.pipeline import lake_settings
from goodpulse_dagster_tests.test_gold_kpi import assert_frame

pytestmark = pytest.mark.slow


# --- the run -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Write the raw files, run every asset once; (settings, what run_pipeline printed)."""
    tmp_path = tmp_path_factory.mktemp("handmade")
    raw_dir = write_handmade_raw(tmp_path / "raw")
    # The same as_of the hand-worked figures assume (test_gold_kpi's explicit-as_of case).
    settings = lake_settings(tmp_path / "home", raw_dir, GOODPULSE_AS_OF=HANDMADE_AS_OF.isoformat())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_pipeline(settings)
    return settings, out.getvalue()


@pytest.fixture(scope="module")
def settings(run):
    return run[0]


@pytest.fixture(scope="module")
def warehouse(settings):
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def lake(settings):
    """An in-memory DuckDB connection with views over the lake's Parquet files."""
    con = duckdb.connect()
    for layer, table in [
        ("silver", "unified_user_lifecycle"),
        ("silver", "order_reviews"),
        ("silver", "sellers"),
        ("silver", "marketing_qualified_leads"),
        ("bronze", "order_reviews"),
    ]:
        con.execute(
            f"CREATE VIEW {layer}_{table} AS SELECT * FROM read_parquet("
            f"'{settings.lake_dir}/{layer}/{table}/*.parquet')"
        )
    yield con
    con.close()


@pytest.fixture(scope="module")
def lifecycle(lake) -> dict[str, dict]:
    """The silver lifecycle rows by order_id."""
    rows = lake.sql("SELECT * FROM silver_unified_user_lifecycle").to_arrow_table().to_pylist()
    return {row["order_id"]: row for row in rows}


def read(warehouse, table: str, order_by: str | None = None) -> pd.DataFrame:
    """A warehouse table as stored (insertion order is the transform's row order), or sorted
    ``order_by`` for the customer-grain tables, whose rows come in no particular order."""
    order = f" ORDER BY {order_by}" if order_by else ""
    return warehouse.sql(f"SELECT * FROM {table}{order}").df()


def test_every_asset_ran_clean(run, warehouse):
    _, printed = run
    assert "[2/2] gold, KPIs and report" in printed
    assert "checks that did not pass" not in printed, printed
    tables = {
        (s, t)
        for s, t in warehouse.sql(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
    }
    gold = {*schema.GOLD_TABLES, *schema.PREDICTION_GOLD_TABLES}
    assert {t for s, t in tables if s == "gold"} == gold
    assert {t for s, t in tables if s == "kpi"} == {
        *schema.KPI_TABLES,
        *schema.PREDICTION_KPI_TABLES,
    }
    # The raw fixture is clean: bronze and silver set nothing aside.
    for _, table in sorted(t for t in tables if t[0] == "quarantine"):
        (count,) = warehouse.sql(f"SELECT count(*) FROM quarantine.{table}").fetchall()[0]
        assert count == 0, table


# --- silver: what the raw fixture is responsible for -------------------------------------------


def test_lifecycle_reproduces_the_silver_fixture(lifecycle):
    expected = {
        row["order_id"]: row
        for row in build_handmade_silver()["unified_user_lifecycle"].to_pylist()
    }
    # The one adaptation (handmade_raw.py's docstring): o18's item is price 5 + freight 5, not a
    # negative price -5 + freight 15, which silver would quarantine. Revenue is 10 either way.
    expected["o18"].update(merchandise_value=5.0, freight_value=5.0)
    assert sorted(lifecycle) == sorted(expected)
    for order_id, row in expected.items():
        assert lifecycle[order_id] == row, order_id
    assert list(next(iter(lifecycle.values()))) == list(
        schema.silver_table_columns("unified_user_lifecycle")
    )


def test_two_payments_are_summed(lifecycle):
    o06 = lifecycle["o06"]
    # voucher 20 (sequence 1) + credit_card 40 (sequence 2): the larger decides the type.
    assert (o06["payment_count"], o06["order_revenue"], o06["payment_type"]) == (
        2,
        60.0,
        "credit_card",
    )


def test_no_payment_rows_falls_back_to_price_plus_freight(lifecycle):
    o13 = lifecycle["o13"]
    assert (o13["payment_count"], o13["payment_type"], o13["payment_installments"]) == (
        0,
        None,
        None,
    )
    assert (o13["merchandise_value"], o13["freight_value"], o13["order_revenue"]) == (
        60.0,
        15.0,
        75.0,
    )


def test_latest_answered_review_wins(lake, lifecycle):
    # Bronze keeps both reviews of o04; silver keeps rv04 (3, answered 2017-11-30), not rv99
    # (5, answered 2017-11-28), though rv99 has the higher score and the higher id.
    bronze = lake.sql(
        "SELECT review_id, review_score FROM bronze_order_reviews WHERE order_id = 'o04' "
        "ORDER BY review_id"
    ).fetchall()
    assert bronze == [("rv04", 3), ("rv99", 5)]
    silver = lake.sql(
        "SELECT review_id, review_score FROM silver_order_reviews WHERE order_id = 'o04'"
    ).fetchall()
    assert silver == [("rv04", 3)]
    assert lifecycle["o04"]["review_score"] == 3
    # The comment with a comma and quotes survived the CSV round trip.
    (message,) = lake.sql(
        "SELECT review_comment_message FROM silver_order_reviews WHERE order_id = 'o10'"
    ).fetchall()[0]
    assert message == 'atrasou, "muito" ruim'


def test_customer_who_moved_city(lifecycle):
    moves = [
        (
            lifecycle[o]["customer_unique_id"],
            lifecycle[o]["customer_id"],
            lifecycle[o]["customer_city"],
            lifecycle[o]["customer_state"],
            lifecycle[o]["order_status"],
        )
        for o in ("o10", "o11", "o12")
    ]
    assert moves == [
        ("c04", "o10_cust", "sao paulo", "SP", "delivered"),
        ("c04", "o11_cust", "rio de janeiro", "RJ", "delivered"),
        ("c04", "o12_cust", "curitiba", "PR", "shipped"),
    ]


def test_funnel_dimensions(lake):
    # s_other exists in raw (an item with an unknown seller would be quarantined), without a
    # location, so gold finds no seller_state for it, as in the silver fixture.
    sellers = lake.sql(
        "SELECT seller_id, seller_state FROM silver_sellers ORDER BY seller_id"
    ).fetchall()
    assert sellers == [
        ("s_empty", "MG"),
        ("s_fb", "SP"),
        ("s_null_lt", "RJ"),
        ("s_other", None),
        ("s_plain", "PR"),
        ("s_unused", "SC"),
    ]
    # mql_2's empty origin is NULL in silver ('' in the silver fixture; gold: 'unknown' for both).
    origins = lake.sql(
        "SELECT mql_id, origin FROM silver_marketing_qualified_leads ORDER BY mql_id"
    ).fetchall()
    assert origins == [
        ("mql_1", "paid_search"),
        ("mql_2", None),
        ("mql_3", "organic_search"),
        ("mql_4", "social"),
        ("mql_5", "email"),
    ]


def test_derived_as_of_is_the_explicit_one(lake):
    # The run passed GOODPULSE_AS_OF; without it the pipeline would derive the same date (o12).
    table = lake.sql("SELECT * FROM silver_unified_user_lifecycle").to_arrow_table()
    assert gold.compute_as_of(table, MetricParams()) == HANDMADE_AS_OF


# --- gold ----------------------------------------------------------------------------------------


def test_customer_360_every_column(warehouse):
    # c11 has only an 'unavailable' order: not a customer.
    assert_frame(read(warehouse, "gold.customer_360", "customer_unique_id"), C360, C360_ROWS)


def test_customer_segmentation(warehouse):
    assert_frame(
        read(warehouse, "gold.customer_segmentation"),
        schema.CUSTOMER_SEGMENTATION_COLUMNS,
        CUSTOMER_SEGMENTATION_ROWS,
    )


def test_cohort_retention(warehouse):
    assert_frame(
        read(warehouse, "gold.cohort_retention"),
        schema.COHORT_RETENTION_COLUMNS,
        COHORT_RETENTION_ROWS,
    )


def test_customer_unified_lifecycle(warehouse):
    unified = read(warehouse, "gold.customer_unified_lifecycle", "customer_unique_id")
    assert_frame(unified[C360], C360, C360_ROWS)
    extras = UNIFIED_LIFECYCLE_EXTRA_COLUMNS
    assert_frame(unified[extras], extras, UNIFIED_LIFECYCLE_EXTRA_ROWS)


# --- KPI -----------------------------------------------------------------------------------------


def test_delivery_review_correlation_is_the_hand_worked_one():
    assert pytest.approx(DELIVERY_REVIEW_R_BY_HAND, abs=1e-4) == DELIVERY_REVIEW_R


@pytest.mark.parametrize("name", list(schema.KPI_TABLES))
def test_kpi_table(warehouse, name):
    assert_frame(read(warehouse, f"kpi.{name}"), schema.KPI_TABLES[name], KPI_ROWS[name])

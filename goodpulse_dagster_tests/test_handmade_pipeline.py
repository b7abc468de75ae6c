"""The hand-made scenario through the WHOLE pipeline: raw Kaggle files -> bronze -> silver -> gold
-> KPI, run by the real Dagster definitions (``cli.run_pipeline``).

fixtures/handmade_raw.py writes the scenario of fixtures/handmade_silver.py as raw files. Here the
silver ``unified_user_lifecycle`` the pipeline builds from them must hold the silver fixture's
order facts, and the warehouse (gold.*, kpi.*) must hold the figures test_gold_kpi.py worked out by
hand for that fixture. Module-level expected values are imported from test_gold_kpi.py; the ones
written inside its test functions are copied below, marked as the same hand-worked figures.
"""

from __future__ import annotations

import contextlib
import io

import duckdb
import pandas as pd
import pytest

from goodpulse_dagster import schema
from goodpulse_dagster.cli import run_pipeline
from goodpulse_dagster.transforms import gold
from goodpulse_dagster.transforms.params import MetricParams
from goodpulse_dagster_tests.fixtures.handmade_raw import write_handmade_raw
from goodpulse_dagster_tests.fixtures.handmade_silver import HANDMADE_AS_OF, build_handmade_silver
from goodpulse_dagster_tests.pipeline import lake_settings
from goodpulse_dagster_tests.test_gold_kpi import (
    C360,
    C360_ROWS,
    CITIES,
    GRID,
    MONTH_COHORTS,
    QUARTER_ROWS,
    SEGMENT_SIZES,
    assert_frame,
    d,
    pearson,
)

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


def read(warehouse, table: str) -> pd.DataFrame:
    """A warehouse table as stored (insertion order is the transform's row order)."""
    return warehouse.sql(f"SELECT * FROM {table}").df()


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
    assert {t for s, t in tables if s == "gold"} == set(schema.GOLD_TABLES)
    assert {t for s, t in tables if s == "kpi"} == set(schema.KPI_TABLES)
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
    assert_frame(read(warehouse, "gold.customer_360"), C360, C360_ROWS)


def test_customer_segmentation(warehouse):
    # The same hand-worked figures as test_gold_kpi.test_customer_segmentation.
    assert_frame(
        read(warehouse, "gold.customer_segmentation"),
        schema.CUSTOMER_SEGMENTATION_COLUMNS,
        [
            # c06 20 + c10 10
            ("Active | Low Value | One-time", "Active", "Low Value", "One-time", 2, 30.0,
             30 / 2570, 15.0),
            ("Active | Medium Value | One-time", "Active", "Medium Value", "One-time", 1, 75.0,
             75 / 2570, 75.0),
            ("Active | High Value | Power User", "Active", "High Value", "Power User", 1, 500.0,
             500 / 2570, 500.0),
            ("Warm | Medium Value | One-time", "Warm", "Medium Value", "One-time", 1, 35.0,
             35 / 2570, 35.0),
            ("Warm | High Value | Regular", "Warm", "High Value", "Regular", 1, 500.0,
             500 / 2570, 500.0),
            ("At Risk | Medium Value | One-time", "At Risk", "Medium Value", "One-time", 1,
             250.0, 250 / 2570, 250.0),
            ("At Risk | Medium Value | Regular", "At Risk", "Medium Value", "Regular", 1, 150.0,
             150 / 2570, 150.0),
            ("Dormant | Medium Value | One-time", "Dormant", "Medium Value", "One-time", 1, 30.0,
             30 / 2570, 30.0),
            ("Dormant | VIP | One-time", "Dormant", "VIP", "One-time", 1, 1000.0,
             1000 / 2570, 1000.0),
        ],
    )  # fmt: skip


def _month_start(cohort: str, index: int):
    start = d(cohort)
    months = start.year * 12 + start.month - 1 + index
    return d(f"{months // 12:04d}-{months % 12 + 1:02d}-01")


def test_cohort_retention(warehouse):
    rows = [
        ("quarter", d(c), i, d(p), size, active, active / size)
        for c, i, p, size, active in QUARTER_ROWS
    ]
    for cohort, (size, last, actives) in MONTH_COHORTS.items():
        for i in range(last + 1):
            active = actives.get(i, 0)
            rows.append(
                ("month", d(cohort), i, _month_start(cohort, i), size, active, active / size)
            )
    assert_frame(read(warehouse, "gold.cohort_retention"), schema.COHORT_RETENTION_COLUMNS, rows)


def test_customer_unified_lifecycle(warehouse):
    unified = read(warehouse, "gold.customer_unified_lifecycle")
    assert_frame(unified[C360], C360, C360_ROWS)
    extras = list(schema.CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS)[len(C360) :]
    # The same hand-worked figures as test_gold_kpi.test_customer_unified_lifecycle: s_other
    # (c06) has no seller_state; o13 (c05) had no payments; o18 (c10) has no category; o06 (c02)
    # paid 40 credit_card + 20 voucher.
    assert_frame(
        unified[extras],
        extras,
        [
            (d("2017-01-01"), d("2017-01-01"), "o01", "health_beauty", "credit_card", "SP"),
            (d("2017-01-01"), d("2017-02-01"), "o06", "bed_bath_table", "credit_card", "MG"),
            (d("2017-04-01"), d("2017-04-01"), "o08", "sports_leisure", "boleto", "PR"),
            (d("2017-07-01"), d("2017-08-01"), "o10", "electronics", "credit_card", "RJ"),
            (d("2018-04-01"), d("2018-04-01"), "o13", "toys", None, "SP"),
            (d("2018-04-01"), d("2018-06-01"), "o14", "beleza_saude", "debit_card", None),
            (d("2017-10-01"), d("2017-12-01"), "o15", "furniture_decor", "credit_card", "MG"),
            (d("2018-01-01"), d("2018-02-01"), "o16", "health_beauty", "boleto", "SP"),
            (d("2017-04-01"), d("2017-06-01"), "o17", "watches_gifts", "credit_card", "PR"),
            (d("2018-04-01"), d("2018-06-01"), "o18", None, "voucher", "SP"),
        ],
    )


# --- KPI -----------------------------------------------------------------------------------------
# The same hand-worked figures as the KPI tests of test_gold_kpi.py (copied from inside its test
# functions; GRID, SEGMENT_SIZES and CITIES are imported). Total completed revenue: 2570.

_DELIVERY_REVIEW_PAIRS = [
    (5.5, 5), (3.0, 4), (10.25, 5), (21.5, 3), (8.0, 5),  # c01
    (7.0, 4), (11.0, 3),  # c02
    (25.0, 2), (35.0, 1), (3.5, 5), (4.0, 5), (15.0, 4), (9.5, 3), (22.0, 5), (3.0, 2),
]  # fmt: skip
_R = pearson([x for x, _ in _DELIVERY_REVIEW_PAIRS], [y for _, y in _DELIVERY_REVIEW_PAIRS])
_MEAN_MONTHLY = 2570 / 15  # 15 months with a completed order
_CELLS = [(v, s) for v in schema.VALUE_SEGMENTS for s in schema.LIFECYCLE_STAGES]


def _channel(channel, segment, customers, revenue):
    rpc = revenue / customers if customers else None
    return (channel, segment, customers, revenue, customers / 10, revenue / 2570, rpc)


EXPECTED_KPIS = {
    "northstar": [
        # 10 customers, 17 completed orders, 2570 revenue, c01 c02 c04 repeat, c01 power user,
        # reviews 56 / 15, delivery 195.75 / 16, 11 of 16 on time, o09 1 of 20 canceled.
        (10, 17, 2570.0, 2570 / 17, 3 / 10, 1, 56 / 15, 195.75 / 16, 11 / 16, 1 / 20,
         HANDMADE_AS_OF),
    ],
    "frequency_distribution": [
        ("One-time", 7, 1420.0, 1420 / 2570, 1420 / 7, 7 / 10),
        ("Regular", 2, 650.0, 650 / 2570, 325.0, 2 / 10),
        ("Power User", 1, 500.0, 500 / 2570, 500.0, 1 / 10),
    ],
    "value_concentration": [
        ("Low Value", 2, 30.0, 30 / 2570, 15.0, 2 / 10),
        ("Medium Value", 5, 540.0, 540 / 2570, 108.0, 5 / 10),
        ("High Value", 2, 1000.0, 1000 / 2570, 500.0, 2 / 10),
        ("VIP", 1, 1000.0, 1000 / 2570, 1000.0, 1 / 10),
    ],
    "recency_value_pivot": [(v, s, *GRID.get((v, s), (0, 0.0))) for v, s in _CELLS],
    "lifecycle_revenue": [
        ("Active", 4, 605.0, 605 / 2570, 4 / 10),
        ("Warm", 2, 535.0, 535 / 2570, 2 / 10),
        ("At Risk", 2, 400.0, 400 / 2570, 2 / 10),
        ("Dormant", 2, 1030.0, 1030 / 2570, 2 / 10),
    ],
    "repeat_funnel": [(10, 3, 1, 3 / 10, 1 / 3)],
    "period1_retention": [
        ("quarter", None, True, 7, 1, 1 / 7),
        ("quarter", d("2017-01-01"), False, 2, 1, 0.5),
        ("quarter", d("2017-04-01"), False, 2, 0, 0.0),
        ("quarter", d("2017-07-01"), False, 1, 0, 0.0),
        ("quarter", d("2017-10-01"), False, 1, 0, 0.0),
        ("quarter", d("2018-01-01"), False, 1, 0, 0.0),
        ("month", None, True, 8, 1, 1 / 8),
        ("month", d("2017-01-01"), False, 1, 0, 0.0),
        ("month", d("2017-02-01"), False, 1, 1, 1.0),
        ("month", d("2017-04-01"), False, 1, 0, 0.0),
        ("month", d("2017-06-01"), False, 1, 0, 0.0),
        ("month", d("2017-08-01"), False, 1, 0, 0.0),
        ("month", d("2017-12-01"), False, 1, 0, 0.0),
        ("month", d("2018-02-01"), False, 1, 0, 0.0),
        ("month", d("2018-04-01"), False, 1, 0, 0.0),
    ],
    "monthly_revenue": [
        (d("2017-01-01"), 2, 1, 150.0, 75.0, _MEAN_MONTHLY),
        (d("2017-02-01"), 1, 1, 60.0, 60.0, _MEAN_MONTHLY),
        (d("2017-03-01"), 1, 1, 40.0, 40.0, _MEAN_MONTHLY),
        (d("2017-04-01"), 1, 1, 30.0, 30.0, _MEAN_MONTHLY),
        (d("2017-05-01"), 1, 1, 80.0, 80.0, _MEAN_MONTHLY),
        (d("2017-06-01"), 1, 1, 1000.0, 1000.0, _MEAN_MONTHLY),
        (d("2017-08-01"), 1, 1, 200.0, 200.0, _MEAN_MONTHLY),
        (d("2017-09-01"), 1, 1, 50.0, 50.0, _MEAN_MONTHLY),
        (d("2017-11-01"), 1, 1, 120.0, 120.0, _MEAN_MONTHLY),
        (d("2017-12-01"), 1, 1, 250.0, 250.0, _MEAN_MONTHLY),
        (d("2018-01-01"), 1, 1, 300.0, 300.0, _MEAN_MONTHLY),
        (d("2018-02-01"), 1, 1, 35.0, 35.0, _MEAN_MONTHLY),
        (d("2018-04-01"), 1, 1, 75.0, 75.0, _MEAN_MONTHLY),
        (d("2018-05-01"), 1, 1, 150.0, 150.0, _MEAN_MONTHLY),
        (d("2018-06-01"), 2, 2, 30.0, 15.0, _MEAN_MONTHLY),
    ],
    "delivery_vs_review": [
        ("0-3", 1, 3, 11 / 3, _R),
        ("4-7", 2, 3, 14 / 3, _R),
        ("8-14", 3, 5, 4.0, _R),
        ("15-21", 4, 2, 3.5, _R),
        ("22-30", 5, 2, 3.5, _R),
        ("31+", 6, 1, 1.0, _R),
    ],
    "channel_revenue": [
        _channel("organic_search", None, 1, 500.0),
        _channel("organic_search", "Low Value", 0, 0.0),
        _channel("organic_search", "Medium Value", 0, 0.0),
        _channel("organic_search", "High Value", 1, 500.0),
        _channel("organic_search", "VIP", 0, 0.0),
        _channel("paid_search", None, 4, 620.0),
        _channel("paid_search", "Low Value", 1, 10.0),
        _channel("paid_search", "Medium Value", 2, 110.0),
        _channel("paid_search", "High Value", 1, 500.0),
        _channel("paid_search", "VIP", 0, 0.0),
        _channel("unattributed", None, 3, 1050.0),
        _channel("unattributed", "Low Value", 1, 20.0),
        _channel("unattributed", "Medium Value", 1, 30.0),
        _channel("unattributed", "High Value", 0, 0.0),
        _channel("unattributed", "VIP", 1, 1000.0),
        _channel("unknown", None, 2, 400.0),
        _channel("unknown", "Low Value", 0, 0.0),
        _channel("unknown", "Medium Value", 2, 400.0),
        _channel("unknown", "High Value", 0, 0.0),
        _channel("unknown", "VIP", 0, 0.0),
    ],
    # Default top 7 cities: everything but salvador -> 2560 / 2570.
    "city_concentration": [
        (city, state, n, rev, rev / 2570, rank, rank <= 7, 2560 / 2570)
        for rank, (city, state, n, rev) in enumerate(CITIES, start=1)
    ],
    "health_by_value": [
        (v, s, GRID.get((v, s), (0, 0.0))[0], GRID.get((v, s), (0, 0.0))[0] / SEGMENT_SIZES[v])
        for v, s in _CELLS
    ],
}  # fmt: skip


def test_delivery_review_correlation_is_the_hand_worked_one():
    assert pytest.approx(-0.5629, abs=1e-4) == _R


@pytest.mark.parametrize("name", list(schema.KPI_TABLES))
def test_kpi_table(warehouse, name):
    assert_frame(read(warehouse, f"kpi.{name}"), schema.KPI_TABLES[name], EXPECTED_KPIS[name])

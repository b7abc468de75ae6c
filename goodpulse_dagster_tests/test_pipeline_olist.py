"""The whole pipeline on the real Olist sample is internally consistent (issue 3)."""

from pathlib import Path

import duckdb
import pytest

from goodpulse_dagster.cli import run_pipeline
from goodpulse_dagster_tests.pipeline import lake_settings

OLIST_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "olist_sample"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    if not OLIST_SAMPLE.is_dir():
        pytest.skip("../shared/olist_sample is not present")
    home = tmp_path_factory.mktemp("olist_home")
    settings = lake_settings(home, OLIST_SAMPLE)
    run_pipeline(settings)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    # The silver lifecycle, read straight from the lake's Parquet files.
    con.execute(
        f"CREATE TEMP VIEW lifecycle AS SELECT * FROM read_parquet("
        f"'{settings.lake_dir}/silver/unified_user_lifecycle/*.parquet')"
    )
    yield con
    con.close()


def one(con, sql):
    return con.sql(sql).fetchall()[0]


def test_completed_revenue_and_customers_agree_across_layers(warehouse):
    silver_revenue, silver_customers, silver_orders = one(
        warehouse,
        "SELECT sum(order_revenue), count(DISTINCT customer_unique_id), count(*) "
        "FROM lifecycle WHERE order_status = 'delivered'",
    )
    # The sample's README: 5,172 delivered orders.
    assert silver_orders == 5172
    c360 = one(warehouse, "SELECT sum(lifetime_revenue), count(*), sum(total_orders) "
                          "FROM gold.customer_360")  # fmt: skip
    assert c360[0] == silver_revenue  # exact: money is DECIMAL
    assert (c360[1], c360[2]) == (silver_customers, silver_orders)
    northstar = one(warehouse, "SELECT total_revenue, total_customers, total_orders "
                               "FROM kpi.northstar")  # fmt: skip
    assert northstar[0] == silver_revenue  # exact: money is DECIMAL
    assert (northstar[1], northstar[2]) == (silver_customers, silver_orders)
    for table, where in [
        ("frequency_distribution", "TRUE"),
        ("value_concentration", "TRUE"),
        ("lifecycle_revenue", "TRUE"),
        ("channel_revenue", "value_segment IS NULL"),
        ("channel_revenue", "value_segment IS NOT NULL"),
    ]:
        revenue, customers = one(
            warehouse, f"SELECT sum(revenue), sum(customers) FROM kpi.{table} WHERE {where}"
        )
        assert revenue == silver_revenue  # exact: money is DECIMAL, table
        assert customers == silver_customers, table


def test_shares_sum_to_one(warehouse):
    for table, column, where in [
        ("frequency_distribution", "revenue_share", "TRUE"),
        ("frequency_distribution", "customer_share", "TRUE"),
        ("value_concentration", "revenue_share", "TRUE"),
        ("lifecycle_revenue", "revenue_share", "TRUE"),
        ("channel_revenue", "revenue_share", "value_segment IS NULL"),
        ("city_concentration", "revenue_share", "TRUE"),
    ]:
        (total,) = one(warehouse, f"SELECT sum({column}) FROM kpi.{table} WHERE {where}")
        assert total == pytest.approx(1.0, abs=1e-9), (table, column)
    (segments,) = one(warehouse, "SELECT sum(revenue_share) FROM gold.customer_segmentation")
    assert segments == pytest.approx(1.0, abs=1e-9)


def test_retention_index_zero_is_one(warehouse):
    rates = warehouse.sql(
        "SELECT DISTINCT retention_rate FROM gold.cohort_retention WHERE period_index = 0"
    ).fetchall()
    assert rates == [(1.0,)]
    (bad,) = one(
        warehouse,
        "SELECT count(*) FROM gold.cohort_retention WHERE retention_rate NOT BETWEEN 0 AND 1",
    )
    assert bad == 0

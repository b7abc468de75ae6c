"""The whole pipeline on the real Olist sample is internally consistent (issue 3)."""

from pathlib import Path

import duckdb
import pytest

from goodpulse_dagster.cli import run_pipeline
from goodpulse_dagster_tests.pipeline import lake_settings

OLIST_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "olist_sample"


# The Dagster runs of the module's pipeline (their events: metadata, check evaluations).
RUNS: list = []


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    if not OLIST_SAMPLE.is_dir():
        pytest.skip("../shared/olist_sample is not present")
    home = tmp_path_factory.mktemp("olist_home")
    settings = lake_settings(home, OLIST_SAMPLE)
    RUNS.extend(run_pipeline(settings)["results"])
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


def test_prediction_backtest_is_consistent_with_silver(warehouse):
    rows = warehouse.sql(
        "SELECT model, calibration_end, holdout_end, customers, actual_orders, "
        "actual_repeat_orders, expected_repeat_orders, mae, rmse FROM kpi.prediction_backtest "
        "ORDER BY model"
    ).fetchall()
    assert [r[0] for r in rows] == ["MBG/NBD", "Naive baseline"]
    _, cut, end, customers, orders, repeat_days, *_ = rows[0]
    assert all(r[1:6] == rows[0][1:6] for r in rows)
    (as_of,) = one(warehouse, "SELECT as_of FROM kpi.northstar")
    assert end == as_of and (end - cut).days == 180
    # The same figures counted straight from silver's delivered orders.
    silver = one(
        warehouse,
        f"""
        WITH d AS (SELECT customer_unique_id AS c, order_purchase_timestamp::DATE AS day
                   FROM lifecycle WHERE order_status = 'delivered'),
        known AS (SELECT DISTINCT c FROM d WHERE day <= DATE '{cut}')
        SELECT (SELECT count(*) FROM known),
               count(*), count(DISTINCT (c, day))
        FROM d JOIN known USING (c) WHERE day > DATE '{cut}' AND day <= DATE '{end}'
        """,
    )
    assert (customers, orders, repeat_days) == silver
    for _, *_, expected, mae, rmse in rows:
        assert expected >= 0 and 0 <= mae <= rmse


def test_predictions_cover_customer_360_and_feed_the_lists(warehouse):
    (missing,) = one(
        warehouse,
        "SELECT count(*) FROM gold.customer_360 c "
        "FULL JOIN gold.customer_predictions p USING (customer_unique_id) "
        "WHERE c.customer_unique_id IS NULL OR p.customer_unique_id IS NULL",
    )
    assert missing == 0
    (bad,) = one(
        warehouse,
        "SELECT count(*) FROM gold.customer_predictions WHERE NOT (probability_alive "
        "BETWEEN 0 AND 1) OR expected_orders_365d < expected_orders_90d OR predicted_clv_365d < 0",
    )
    assert bad == 0
    listed, expected = one(
        warehouse,
        "SELECT (SELECT count(*) FROM kpi.early_warning), count(*) FROM gold.customer_predictions "
        "WHERE churn_risk = 'High' AND lifecycle_stage IN ('Active', 'Warm')",
    )
    assert listed == expected
    # The monitor's latest date sees every customer and all the revenue of customer_360.
    latest = one(
        warehouse,
        "SELECT sum(customers), sum(revenue) FROM kpi.churn_risk_monitor WHERE is_latest",
    )
    assert latest == one(warehouse, "SELECT count(*), sum(lifetime_revenue) FROM gold.customer_360")


def test_prediction_assets_show_fit_charts_and_findings_in_the_ui(warehouse):
    metadata = {
        m.asset_key.to_user_string(): m.step_materialization_data.materialization.metadata
        for r in RUNS
        for m in r.get_asset_materialization_events()
    }
    fit = metadata["gold/customer_predictions"]
    assert fit["mbg_converged"].value is True and fit["mbg_log_likelihood"].value < 0
    assert all(fit[f"mbg_{p}"].value > 0 for p in ("r", "alpha", "a", "b"))
    for name in ("prediction_backtest", "churn_risk_monitor", "early_warning"):
        shown = metadata[f"kpi/{name}"]
        assert "data:image/svg+xml;base64," in shown["chart"].value, name
        assert shown["findings"].value.startswith("## Predictive customer health"), name
    checks = {
        e.asset_check_key.to_user_string(): e.passed
        for r in RUNS
        for e in r.get_asset_check_evaluations()
        if e.asset_check_key.asset_key.path[-1]
        in ("customer_predictions", "churn_risk_monitor", "prediction_backtest", "early_warning")
    }
    assert checks["gold/customer_predictions:fit_converged"] is True
    assert checks["kpi/churn_risk_monitor:high_value_risk_not_rising"] is True
    assert len(checks) == 10 and all(checks.values()), checks

"""Bronze and silver: record preservation, each silver rule, partition routing, idempotence."""

import math
from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from goodpulse_dagster.bronze.staging import build_bronze
from goodpulse_dagster.landing.zone import LocalLandingZone
from goodpulse_dagster.schema import SOURCE_TABLES
from goodpulse_dagster.silver import cleaning as silver
from goodpulse_dagster_tests.pipeline import lake_settings, materialize_lake, read_lake
from goodpulse_dagster_tests.rawdata import count_csv_records
from goodpulse_dagster_tests.small_lake import write_small_landing_zone

OLIST_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "olist_sample"
NOW = datetime(2026, 1, 1)


@pytest.fixture
def small_zone(tmp_path) -> LocalLandingZone:
    return LocalLandingZone(write_small_landing_zone(tmp_path / "raw"))


def bronze(zone, table, tmp_path):
    return build_bronze(table, zone, tmp_path / "staging").table


def rows_by(table, key):
    return {row[key]: row for row in table.to_pylist()}


# --- bronze ----------------------------------------------------------------------------------


@pytest.mark.skipif(not OLIST_SAMPLE.is_dir(), reason="../shared/olist_sample is not present")
@pytest.mark.parametrize("table", list(SOURCE_TABLES))
def test_bronze_keeps_every_record_of_the_real_sample(table, tmp_path):
    zone = LocalLandingZone(OLIST_SAMPLE)
    build = build_bronze(table, zone, tmp_path / "staging")
    expected = count_csv_records(OLIST_SAMPLE / SOURCE_TABLES[table].file_name)
    assert build.table.num_rows == expected
    assert build.quarantine.num_rows == 0


@pytest.mark.skipif(not OLIST_SAMPLE.is_dir(), reason="../shared/olist_sample is not present")
def test_bronze_keeps_review_text_with_embedded_newlines(tmp_path):
    reviews = bronze(LocalLandingZone(OLIST_SAMPLE), "order_reviews", tmp_path)
    messages = [m for m in reviews.column("review_comment_message").to_pylist() if m]
    assert any("\n" in m for m in messages)


def test_bronze_types_and_ingestion_columns(small_zone, tmp_path):
    orders = bronze(small_zone, "orders", tmp_path)
    assert orders.num_rows == 4  # the duplicate row is kept in bronze
    row = rows_by(orders, "order_id")["o1"]
    assert row["order_purchase_timestamp"] == datetime(2017, 3, 31, 23, 59, 59)
    assert row["_partition"] == date(2017, 1, 1)
    assert row["_source_file"].endswith("olist_orders_dataset.csv")
    assert isinstance(row["_ingested_at"], datetime)
    translation = bronze(small_zone, "category_translation", tmp_path)
    # The byte-order mark does not leak into the first column's name.
    assert translation.column_names[0] == "product_category_name"


def test_children_take_the_quarter_of_their_order(small_zone, tmp_path):
    window = (date(2017, 1, 1), date(2017, 4, 1))
    for table, expected in [
        ("orders", ["o1", "o1"]),
        ("order_items", ["o1", "o1"]),
        ("order_payments", ["o1", "o1"]),
        ("order_reviews", ["o1", "o1"]),
    ]:
        build = build_bronze(table, small_zone, tmp_path / "staging", window)
        assert sorted(build.table.column("order_id").to_pylist()) == expected, table
        assert set(build.table.column("_partition").to_pylist()) == {date(2017, 1, 1)}


# --- silver rules ----------------------------------------------------------------------------


def test_silver_orders_drop_exact_duplicates_and_standardise_status(small_zone, tmp_path):
    customers = silver.clean_source("customers", bronze(small_zone, "customers", tmp_path), NOW)
    result = silver.clean_source(
        "orders",
        bronze(small_zone, "orders", tmp_path),
        NOW,
        {"customer_id": ("customers", customers.table)},
    )
    assert result.counts == {
        "input_rows": 4,
        "exact_duplicates": 1,
        "quarantined": 0,
        "output_rows": 3,
    }
    assert rows_by(result.table, "order_id")["o2"]["order_status"] == "delivered"


def test_silver_customers_zip_city_state(small_zone, tmp_path):
    result = silver.clean_source("customers", bronze(small_zone, "customers", tmp_path), NOW)
    c1 = rows_by(result.table, "customer_id")["c1"]
    assert (c1["customer_zip_code_prefix"], c1["customer_city"], c1["customer_state"]) == (
        "01012",
        "sao paulo",
        "SP",
    )


def test_silver_products_rename_and_translate(small_zone, tmp_path):
    translation = silver.clean_source(
        "category_translation", bronze(small_zone, "category_translation", tmp_path), NOW
    ).table
    result = silver.clean_products(bronze(small_zone, "products", tmp_path), translation, NOW)
    assert "product_name_length" in result.table.column_names
    assert "product_name_lenght" not in result.table.column_names
    products = rows_by(result.table, "product_id")
    assert products["p1"]["product_category_name_english"] == "health_beauty"
    assert products["p1"]["product_name_length"] == 40
    assert products["p2"]["product_category_name_english"] is None


def test_silver_reviews_one_per_order_latest_then_higher_score(small_zone, tmp_path):
    result = silver.clean_order_reviews(bronze(small_zone, "order_reviews", tmp_path), NOW)
    reviews = rows_by(result.table, "order_id")
    assert (reviews["o1"]["review_id"], reviews["o1"]["review_score"]) == ("r2", 5)
    assert reviews["o1"]["review_comment_message"] == 'line one\nline "two"'
    assert (reviews["o2"]["review_id"], reviews["o2"]["review_score"]) == ("r4", 4)
    assert result.counts["superseded"] == 2


def test_silver_geolocation_one_row_per_prefix(small_zone, tmp_path):
    result = silver.clean_geolocation(bronze(small_zone, "geolocation", tmp_path), NOW)
    assert result.table.num_rows == 1
    geo = result.table.to_pylist()[0]
    # '1012' and '01012' are the same prefix; the point in Europe is left out of the median.
    assert geo["geolocation_zip_code_prefix"] == "01012"
    assert geo["geolocation_lat"] == pytest.approx(-23.6)
    assert geo["geolocation_lng"] == pytest.approx(-46.7)
    assert geo["geolocation_city"] == "sao paulo"  # 2 of 3 points
    assert geo["geolocation_points"] == 3
    assert result.quarantine.column("rule").to_pylist() == ["out_of_range"]


def test_silver_duplicate_key_keeps_latest_file_and_quarantines_the_other(small_zone, tmp_path):
    from goodpulse_dagster_tests.rawdata import write_table

    # A later drop changes seller s1's city: the later file wins, the earlier row is quarantined.
    write_table(
        small_zone.root / "sellers" / "2017-Q2.csv",
        "sellers",
        [{"seller_id": "s1", "seller_zip_code_prefix": "13023", "seller_city": "jundiai",
          "seller_state": "SP"}],
    )  # fmt: skip
    import os
    import time

    later = time.time() + 5
    os.utime(small_zone.root / "sellers" / "2017-Q2.csv", (later, later))
    rows = build_bronze("sellers", small_zone, tmp_path / "staging2").table
    result = silver.clean_source("sellers", rows, NOW)
    assert result.table.column("seller_city").to_pylist() == ["jundiai"]
    assert result.quarantine.column("rule").to_pylist() == ["duplicate_key"]
    assert "seller_id=s1" in result.quarantine.column("reason")[0].as_py()


def test_unified_user_lifecycle_values(small_zone, tmp_path):
    b = {t: bronze(small_zone, t, tmp_path) for t in SOURCE_TABLES}
    translation = silver.clean_source("category_translation", b["category_translation"], NOW)
    lifecycle = silver.build_unified_user_lifecycle(
        silver.clean_source("orders", b["orders"], NOW).table,
        silver.clean_source("customers", b["customers"], NOW).table,
        silver.clean_source("order_items", b["order_items"], NOW).table,
        silver.clean_source("order_payments", b["order_payments"], NOW).table,
        silver.clean_order_reviews(b["order_reviews"], NOW).table,
        silver.clean_products(b["products"], translation.table, NOW).table,
    )
    orders = rows_by(lifecycle, "order_id")
    o1, o2, o3 = orders["o1"], orders["o2"], orders["o3"]
    # o1: two payments 8 + 10; two item lines 10+5 and freight 2+1; the voucher is the largest.
    assert (o1["order_revenue"], o1["item_count"]) == (18.0, 2)
    assert (o1["merchandise_value"], o1["freight_value"]) == (15.0, 3.0)
    assert (o1["payment_type"], o1["payment_installments"], o1["payment_count"]) == (
        "voucher",
        1,
        2,
    )
    # 2017-03-31 23:59:59 -> 2017-04-05 11:59:59 is 4 days 12 hours; before the 04-10 estimate.
    assert o1["delivery_days"] == pytest.approx(4.5)
    assert o1["is_on_time"] is True
    assert (o1["review_score"], o1["first_item_category"]) == (5, "health_beauty")
    assert (o1["customer_unique_id"], o1["customer_city"], o1["customer_state"]) == (
        "u1",
        "sao paulo",
        "SP",
    )
    assert (o1["purchase_quarter"], o1["purchase_month"]) == (date(2017, 1, 1), date(2017, 3, 1))
    # o2: no payment rows, so revenue is price + freight = 20 + 3; delivered 5 days late.
    assert (o2["order_revenue"], o2["payment_type"], o2["payment_count"]) == (23.0, None, 0)
    assert (o2["delivery_days"], o2["is_on_time"], o2["review_score"]) == (19.0, False, 4)
    # o3: canceled with neither items nor payments.
    assert (o3["order_revenue"], o3["item_count"], o3["review_score"]) == (0.0, 0, None)
    assert o3["delivery_days"] is None and o3["is_on_time"] is None
    assert not any(math.isnan(r["order_revenue"]) for r in lifecycle.to_pylist())


# --- through Dagster -------------------------------------------------------------------------


def test_partition_routing_and_rematerialization_leave_no_duplicates(tmp_path):
    raw = write_small_landing_zone(tmp_path / "raw")
    settings = lake_settings(tmp_path / "home", raw)
    for _ in range(2):  # materialize the same partition twice
        materialize_lake(settings, "2017-01-01")
    lifecycle = read_lake(settings, "silver/unified_user_lifecycle/2017-01-01.parquet")
    assert lifecycle.column("order_id").to_pylist() == ["o1"]
    for table, expected in [
        ("bronze/orders", ["o1", "o1"]),  # bronze keeps the exact duplicate row
        ("silver/orders", ["o1"]),
        ("silver/order_items", ["o1", "o1"]),
        ("silver/order_payments", ["o1", "o1"]),
        ("silver/order_reviews", ["o1"]),
    ]:
        rows = read_lake(settings, f"{table}/2017-01-01.parquet")
        assert sorted(rows.column("order_id").to_pylist()) == expected, table
    # Dimensions are unpartitioned and replaced, not appended to.
    assert read_lake(settings, "silver/customers/data.parquet").num_rows == 3


def test_empty_quarter_is_an_empty_partition_with_the_schema(tmp_path):
    raw = write_small_landing_zone(tmp_path / "raw")
    settings = lake_settings(tmp_path / "home", raw)
    materialize_lake(settings, "2016-07-01")
    empty = read_lake(settings, "silver/unified_user_lifecycle/2016-07-01.parquet")
    assert empty.num_rows == 0
    assert "order_revenue" in empty.column_names
    assert pq.read_schema(settings.lake_dir / "bronze/orders/2016-07-01.parquet").names[:2] == [
        "order_id",
        "customer_id",
    ]

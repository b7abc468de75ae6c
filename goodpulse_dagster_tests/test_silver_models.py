"""The silver SQL models (models/silver/*.sql): one per silver table, the declared columns, and
what each standardising step does to hand-made values."""

import json
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from goodpulse_dagster.engine import arrow_schema, model_names, model_sql, run_model
from goodpulse_dagster.schema import (
    INGESTED_AT_COLUMN,
    PARTITION_COLUMN,
    SILVER_TABLES,
    SOURCE_FILE_COLUMN,
    SOURCE_TABLES,
    bronze_table_columns,
    silver_columns,
)
from goodpulse_dagster.silver.cleaning import (
    clean_geolocation,
    clean_order_reviews,
    clean_products,
    clean_source,
)
from goodpulse_dagster.silver.rules import standardised_sql

NOW = datetime(2026, 1, 1)
FILE = "raw/export.csv"


def bronze_rows(table_name: str, rows: list[dict]) -> pa.Table:
    """A bronze table of ``table_name``: the given values, every other column NULL; a row's
    file and ingestion time are ``FILE`` and ``NOW`` unless it names its own."""
    schema = arrow_schema(bronze_table_columns(table_name))
    ingestion = {SOURCE_FILE_COLUMN: FILE, INGESTED_AT_COLUMN: NOW}
    full = [{c: r.get(c) for c in schema.names} | {k: r.get(k, v) for k, v in ingestion.items()}
            for r in rows]  # fmt: skip
    return pa.Table.from_pylist(full, schema=schema)


def test_every_silver_table_has_one_model_and_every_model_a_table():
    names = model_names("silver")
    tables = {name.split("__")[0] for name in names}
    assert tables == set(SILVER_TABLES)
    # The two steps after the rules and the lifecycle's steps, named <table>__<step>.
    assert sorted(n for n in names if "__" in n) == [
        "geolocation__by_zip_prefix",
        "products__english_category",
        "unified_user_lifecycle__item_totals",
        "unified_user_lifecycle__order_customers",
        "unified_user_lifecycle__payment_totals",
        "unified_user_lifecycle__rows",
    ]


@pytest.mark.parametrize("table_name", list(SOURCE_TABLES))
def test_standardising_model_gives_the_silver_columns_then_ingestion_columns(table_name):
    table = SOURCE_TABLES[table_name]
    out = run_model(f"silver/{table_name}", {"bronze": bronze_rows(table_name, [])}, {})
    expected = list(silver_columns(table))
    if table.partitioned:
        expected.append(PARTITION_COLUMN)
    expected += [SOURCE_FILE_COLUMN, INGESTED_AT_COLUMN]
    assert out.column_names == expected
    # Typed columns pass through with their bronze type; text stays text.
    bronze_types = arrow_schema(bronze_table_columns(table_name))
    renamed = {v: k for k, v in table.silver_renames.items()}
    for name in expected:
        assert out.schema.field(name).type == bronze_types.field(renamed.get(name, name)).type


def test_model_files_are_plain_sql_without_python_formatting():
    # A later issue translates them to Spark SQL: no {placeholders}, parameters are $named.
    for name in model_names("silver"):
        text = model_sql(f"silver/{name}")
        assert "{" not in text and "}" not in text, name
    # The rules and the reconciliation check standardise with the table's model.
    assert standardised_sql("customers") == model_sql("silver/customers")


def test_customers_are_trimmed_cased_and_zip_padded():
    bronze = bronze_rows(
        "customers",
        [
            {
                "customer_id": "  c1 ",
                "customer_unique_id": "",
                "customer_zip_code_prefix": " 1012",
                "customer_city": "  Sao Paulo ",
                "customer_state": "sp",
            }
        ],
    )
    row = run_model("silver/customers", {"bronze": bronze}, {}).to_pylist()[0]
    assert row["customer_id"] == "c1"
    assert row["customer_unique_id"] is None  # empty text is NULL
    assert row["customer_zip_code_prefix"] == "01012"  # '1012' and '01012' are one prefix
    assert row["customer_city"] == "sao paulo"
    assert row["customer_state"] == "SP"


def test_statuses_payment_types_and_origins_are_lower_case_ids_keep_their_case():
    orders = run_model(
        "silver/orders",
        {"bronze": bronze_rows("orders", [{"order_id": " O1 ", "order_status": " Delivered"}])},
        {},
    ).to_pylist()[0]
    assert (orders["order_id"], orders["order_status"]) == ("O1", "delivered")
    payments = run_model(
        "silver/order_payments",
        {"bronze": bronze_rows("order_payments", [{"payment_type": "Credit_Card "}])},
        {},
    ).to_pylist()[0]
    assert payments["payment_type"] == "credit_card"
    leads = run_model(
        "silver/marketing_qualified_leads",
        {"bronze": bronze_rows("marketing_qualified_leads", [{"origin": "Paid_Search"}])},
        {},
    ).to_pylist()[0]
    assert leads["origin"] == "paid_search"


def test_products_are_renamed_and_gain_the_english_category():
    bronze = bronze_rows(
        "products",
        [
            {"product_id": "p1", "product_category_name": " moveis ", "product_name_lenght": 40},
            {"product_id": "p2", "product_category_name": "sem_traducao"},
        ],
    )
    translation = pa.table(
        {"product_category_name": ["moveis"], "product_category_name_english": ["furniture"]}
    )
    result = clean_products(bronze, translation, NOW)
    rows = {r["product_id"]: r for r in result.table.to_pylist()}
    assert rows["p1"]["product_name_length"] == 40
    assert rows["p1"]["product_category_name_english"] == "furniture"
    assert rows["p2"]["product_category_name_english"] is None  # untranslated


def test_geolocation_folds_points_into_one_row_per_prefix():
    points = [
        # Prefix 01012: three points in Brazil, two of them in 'sao paulo'.
        {"geolocation_zip_code_prefix": "1012", "geolocation_lat": -23.0, "geolocation_lng": -46.0,
         "geolocation_city": "sao paulo", "geolocation_state": "sp"},
        {"geolocation_zip_code_prefix": "01012", "geolocation_lat": -23.2, "geolocation_lng": -46.2,
         "geolocation_city": "Sao Paulo", "geolocation_state": "SP"},
        {"geolocation_zip_code_prefix": "01012", "geolocation_lat": -23.6, "geolocation_lng": -46.6,
         "geolocation_city": "osasco", "geolocation_state": "SP"},
        # Prefix 02000: a tie between two cities goes to the first alphabetically.
        {"geolocation_zip_code_prefix": "02000", "geolocation_lat": -10.0, "geolocation_lng": -50.0,
         "geolocation_city": "zeta", "geolocation_state": "to"},
        {"geolocation_zip_code_prefix": "02000", "geolocation_lat": -12.0, "geolocation_lng": -52.0,
         "geolocation_city": "alfa", "geolocation_state": "to"},
        # Outside Brazil (lat 40): quarantined, not averaged in.
        {"geolocation_zip_code_prefix": "02000", "geolocation_lat": 40.0, "geolocation_lng": -50.0,
         "geolocation_city": "alfa", "geolocation_state": "to"},
    ]  # fmt: skip
    result = clean_geolocation(bronze_rows("geolocation", points), NOW)
    rows = {r["geolocation_zip_code_prefix"]: r for r in result.table.to_pylist()}
    assert rows["01012"] == {
        "geolocation_zip_code_prefix": "01012",
        "geolocation_lat": -23.2,  # the median of -23.0, -23.2, -23.6
        "geolocation_lng": -46.2,
        "geolocation_city": "sao paulo",
        "geolocation_state": "SP",
        "geolocation_points": 3,
    }
    assert rows["02000"]["geolocation_city"] == "alfa"
    assert rows["02000"]["geolocation_lat"] == -11.0
    assert rows["02000"]["geolocation_points"] == 2
    assert result.quarantine.column("rule").to_pylist() == ["out_of_range"]
    # 6 points = 1 quarantined + 5 placed, folded into 2 rows (3 superseded).
    assert result.counts["superseded"] == 3
    assert result.counts["output_rows"] == 2


def test_quarantine_rows_of_one_rule_come_in_a_stable_order():
    rows = [
        {"order_id": "o1", "order_item_id": 1, "product_id": "p", "seller_id": "s",
         "price": Decimal(p), "freight_value": Decimal("1.00")}
        for p in ("-3.00", "-1.00", "-2.00")
    ]  # fmt: skip
    rows = [dict(r, order_item_id=i) for i, r in enumerate(rows, 1)]
    bronze = bronze_rows("order_items", rows)
    first = clean_source("order_items", bronze, NOW).quarantine
    again = clean_source("order_items", bronze.take([2, 0, 1]), NOW).quarantine
    assert first.column("reason").to_pylist() == [
        "price -3.00 < 0",
        "price -1.00 < 0",
        "price -2.00 < 0",
    ]
    assert again.equals(first)


# --- the generic rules on hand-made rows --------------------------------------------------------

EARLIER, LATER = datetime(2025, 12, 1), datetime(2025, 12, 20)
Q1 = datetime(2017, 1, 1).date()


def item(order_id, item_id, price, source_file="items_a.csv", ingested_at=EARLIER, **more):
    return {
        "order_id": order_id,
        "order_item_id": item_id,
        "product_id": more.get("product_id", "p1"),
        "seller_id": more.get("seller_id", "s1"),
        "price": Decimal(price),
        "freight_value": Decimal("1.00"),
        PARTITION_COLUMN: Q1,
        SOURCE_FILE_COLUMN: source_file,
        INGESTED_AT_COLUMN: ingested_at,
    }


def test_composite_key_keeps_the_latest_row_and_quarantines_the_rest():
    """Every way a row of order_items (key order_id, order_item_id) can share a key, worked out
    by hand: the kept rows, the quarantine's rules and reasons, and the counts."""
    rows = [
        item("o1", 1, "10.00"),  # replaced by the later file's row below
        item("o1", 1, "12.00", "items_b.csv", LATER),  # kept: the latest file
        item("o1", 2, "5.00"),  # its key's only row: kept
        item("o2", 1, "7.00"),  # an exact duplicate of the next row (other file): kept once
        item("o2", 1, "7.00", "items_b.csv", LATER),
        item("o3", None, "3.00"),  # empty key part: both quarantined
        item("o3", None, "4.00"),
        item("o5", 1, "20.00", "items_b.csv", LATER),  # same file and time: the lower row wins
        item("o5", 1, "10.00", "items_b.csv", LATER),
    ]
    result = clean_source("order_items", bronze_rows("order_items", rows), NOW)
    kept = {(r["order_id"], r["order_item_id"]): r["price"] for r in result.table.to_pylist()}
    assert kept == {
        ("o1", 1): Decimal("12.00"),
        ("o1", 2): Decimal("5.00"),
        ("o2", 1): Decimal("7.00"),
        ("o5", 1): Decimal("10.00"),
    }
    quarantine = sorted(
        (r["rule"], r["source_file"], r["reason"]) for r in result.quarantine.to_pylist()
    )
    duplicate = "duplicate primary key (order_id={}, order_item_id=1) with different values; "
    duplicate += "kept the row from the latest file"
    assert quarantine == [
        ("duplicate_key", "items_a.csv", duplicate.format("o1")),
        ("duplicate_key", "items_b.csv", duplicate.format("o5")),
        ("null_key", "items_a.csv", "primary key (order_id, order_item_id) is empty"),
        ("null_key", "items_a.csv", "primary key (order_id, order_item_id) is empty"),
    ]
    assert result.counts == {
        "input_rows": 9,
        "exact_duplicates": 1,
        "quarantined": 4,
        "output_rows": 4,
    }


def test_reviews_superseded_are_counted_not_quarantined():
    def review(review_id, answered, score):
        return {
            "review_id": review_id,
            "order_id": "o1",
            "review_score": score,
            "review_answer_timestamp": answered,
            PARTITION_COLUMN: Q1,
        }

    rows = [
        review("r1", datetime(2017, 1, 5), 2),
        review("r2", datetime(2017, 1, 9), 4),  # the latest answer: kept
        review("r3", datetime(2017, 1, 7), 5),
        {"review_id": "r4", "order_id": None, "review_score": 3, PARTITION_COLUMN: Q1},
    ]
    result = clean_order_reviews(bronze_rows("order_reviews", rows), NOW)
    assert [(r["review_id"], r["review_score"]) for r in result.table.to_pylist()] == [("r2", 4)]
    assert result.quarantine.column("rule").to_pylist() == ["null_key"]
    assert result.counts["superseded"] == 2
    assert result.counts["output_rows"] == 1


@pytest.mark.parametrize("parent_rows", [1, 50], ids=["parent-smaller", "parent-larger"])
def test_orphans_are_the_values_no_parent_has_whichever_side_is_larger(parent_rows):
    """An item whose product or seller is unknown is quarantined with one reason per unknown
    reference; the check's answer is the same whether the parent or the child is larger (the
    anti-join builds on either)."""
    products = pa.table({"product_id": [f"p{i}" for i in range(1, parent_rows + 1)]})
    sellers = pa.table({"seller_id": ["s1"]})
    rows = [
        item("o1", 1, "1.00"),
        item("o1", 2, "1.00", product_id="p-unknown"),
        item("o2", 1, "1.00", product_id="p-unknown", seller_id="s-unknown"),
        item("o3", 1, "1.00", product_id=None),  # no product: a malformed key, not an orphan
    ]
    references = {"product_id": ("products", products), "seller_id": ("sellers", sellers)}
    result = clean_source(
        "order_items", bronze_rows("order_items", rows), NOW, references=references
    )
    assert [(r["order_id"], r["order_item_id"]) for r in result.table.to_pylist()] == [("o1", 1)]
    quarantine = sorted(
        (json.loads(r["record"])["order_id"], r["rule"], r["reason"])
        for r in result.quarantine.to_pylist()
    )
    unknown_product = "product_id p-unknown not found in products (see olist_products_dataset.csv "
    unknown_product += "and quarantine.products)"
    unknown_seller = "seller_id s-unknown not found in sellers (see olist_sellers_dataset.csv "
    unknown_seller += "and quarantine.sellers)"
    assert quarantine == [
        ("o1", "orphan", unknown_product),
        ("o2", "orphan", f"{unknown_product}; {unknown_seller}"),
        ("o3", "invalid_key", "product_id is empty"),
    ]

"""Asset checks: every check passes on clean data and fails, with its metadata, on data made to
break it.

Three kinds of tests:
- the pure rules of ``quality/rules.py`` on three-row tables (value-level cases);
- real Dagster runs (``dagster.materialize`` with the resources of ``build_definitions``) over a
  small hand-written landing zone, clean and dirty: checks that real data can fail;
- checks-only runs over a copy of a clean lake / warehouse that a test tampered with: checks that
  the pipeline itself never lets fail (a duplicate key in silver, a negative price in silver, a
  KPI share that no longer sums to 1).
"""

import shutil
import warnings
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    BetaWarning,
    DagsterInstance,
    Definitions,
    PreviewWarning,
    define_asset_job,
    materialize,
)

from goodpulse_dagster import schema
from goodpulse_dagster.automation.freshness_checks import FRESHNESS_CHECK_KEYS
from goodpulse_dagster.definitions import build_checks, build_definitions
from goodpulse_dagster.quality import rules as quality
from goodpulse_dagster.schema import BRONZE, GOLD, KPI, QUARANTINE, SILVER, SOURCE_TABLES
from goodpulse_dagster.settings import Settings, load_settings
from goodpulse_dagster_tests.rawdata import write_landing_zone, write_table

warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
Q1, Q2 = "2017-01-01", "2017-04-01"
WARN, ERROR = AssetCheckSeverity.WARN, AssetCheckSeverity.ERROR

# --- A small landing zone (exact Kaggle headers from schema.SOURCE_TABLES) ------------------------


def _order(oid, customer, status, purchased, approved=None, delivered=None, estimated=None):
    return {
        "order_id": oid,
        "customer_id": customer,
        "order_status": status,
        "order_purchase_timestamp": purchased,
        "order_approved_at": approved or purchased,
        "order_delivered_customer_date": delivered or "",
        "order_estimated_delivery_date": estimated or "2017-12-31 00:00:00",
    }


def _item(oid, line, product, seller, price, freight):
    return {
        "order_id": oid,
        "order_item_id": line,
        "product_id": product,
        "seller_id": seller,
        "shipping_limit_date": "2017-06-30 00:00:00",
        "price": price,
        "freight_value": freight,
    }


def _payment(oid, seq, kind, installments, value):
    return {
        "order_id": oid,
        "payment_sequential": seq,
        "payment_type": kind,
        "payment_installments": installments,
        "payment_value": value,
    }


def _review(rid, oid, score, answered):
    return {
        "review_id": rid,
        "order_id": oid,
        "review_score": score,
        "review_creation_date": answered[:10] + " 00:00:00",
        "review_answer_timestamp": answered,
    }


def clean_tables() -> dict[str, list[dict]]:
    """Five orders over two quarters (Q1: o1, o2; Q2: o3, o4, o5), four customers (u1 twice)."""
    return {
        "orders": [
            _order("o1", "c1", "delivered", "2017-02-10 10:00:00", "2017-02-10 11:00:00",
                   "2017-02-15 10:00:00", "2017-02-20 00:00:00"),
            _order("o2", "c2", "delivered", "2017-03-05 09:00:00", None, "2017-03-12 09:00:00"),
            _order("o3", "c3", "delivered", "2017-04-10 08:00:00", None, "2017-04-20 08:00:00"),
            _order("o4", "c4", "canceled", "2017-05-01 12:00:00"),
            _order("o5", "c5", "delivered", "2017-05-20 16:00:00", None, "2017-05-25 16:00:00"),
        ],
        "customers": [
            {"customer_id": "c1", "customer_unique_id": "u1", "customer_zip_code_prefix": "01001",
             "customer_city": "sao paulo", "customer_state": "SP"},
            {"customer_id": "c2", "customer_unique_id": "u2", "customer_zip_code_prefix": "20010",
             "customer_city": "rio de janeiro", "customer_state": "RJ"},
            {"customer_id": "c3", "customer_unique_id": "u3", "customer_zip_code_prefix": "30110",
             "customer_city": "belo horizonte", "customer_state": "MG"},
            {"customer_id": "c4", "customer_unique_id": "u4", "customer_zip_code_prefix": "01001",
             "customer_city": "sao paulo", "customer_state": "SP"},
            {"customer_id": "c5", "customer_unique_id": "u1", "customer_zip_code_prefix": "01001",
             "customer_city": "sao paulo", "customer_state": "SP"},
        ],
        "order_items": [
            _item("o1", 1, "p1", "s1", "100.00", "10.00"),
            _item("o2", 1, "p2", "s2", "50.00", "5.00"),
            _item("o2", 2, "p1", "s1", "20.00", "2.00"),
            _item("o3", 1, "p1", "s2", "80.00", "8.00"),
            _item("o5", 1, "p2", "s1", "30.00", "3.00"),
        ],
        "order_payments": [
            _payment("o1", 1, "credit_card", 1, "110.00"),
            _payment("o2", 1, "boleto", 1, "77.00"),
            _payment("o3", 1, "credit_card", 3, "88.00"),
            _payment("o5", 1, "voucher", 1, "33.00"),
        ],
        "order_reviews": [
            _review("r1", "o1", 5, "2017-02-16 10:00:00"),
            _review("r2", "o2", 4, "2017-03-13 10:00:00"),
            _review("r3", "o3", 3, "2017-04-21 10:00:00"),
            # A second, later review of o3 supersedes r3 in silver.
            _review("r3b", "o3", 4, "2017-04-25 10:00:00"),
            _review("r5", "o5", 5, "2017-05-26 10:00:00"),
        ],
        "products": [
            {"product_id": "p1", "product_category_name": "beleza_saude"},
            {"product_id": "p2", "product_category_name": "brinquedos"},
        ],
        "sellers": [
            {"seller_id": "s1", "seller_zip_code_prefix": "13010", "seller_city": "campinas",
             "seller_state": "SP"},
            {"seller_id": "s2", "seller_zip_code_prefix": "01001", "seller_city": "sao paulo",
             "seller_state": "SP"},
        ],
        "geolocation": [
            {"geolocation_zip_code_prefix": "01001", "geolocation_lat": -23.55,
             "geolocation_lng": -46.63, "geolocation_city": "sao paulo", "geolocation_state": "SP"},
            {"geolocation_zip_code_prefix": "01001", "geolocation_lat": -23.56,
             "geolocation_lng": -46.64, "geolocation_city": "sao paulo", "geolocation_state": "SP"},
        ],
        "category_translation": [
            {"product_category_name": "beleza_saude",
             "product_category_name_english": "health_beauty"},
            {"product_category_name": "brinquedos", "product_category_name_english": "toys"},
        ],
        "marketing_qualified_leads": [
            {"mql_id": "m1", "first_contact_date": "2017-01-02", "landing_page_id": "lp1",
             "origin": "organic_search"},
        ],
        "closed_deals": [
            {"mql_id": "m1", "seller_id": "s1", "won_date": "2017-01-20 00:00:00",
             "lead_type": "online_medium"},
        ],
    }  # fmt: skip


# The raw-file writers live in rawdata.py; test_bad_input imports them from here too.
write_csv = write_table
write_zone = write_landing_zone


def append_lines(path: Path, *lines: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for line in lines)


# --- Running the real definitions ------------------------------------------------------------


def settings_for(home: Path, raw: Path, **env: str) -> Settings:
    return load_settings({"GOODPULSE_HOME": str(home), "GOODPULSE_RAW_DIR": str(raw), **env})


LAKE = AssetSelection.groups(BRONZE, SILVER)
ANALYTICS = AssetSelection.groups(GOLD, KPI, QUARANTINE)


def run(settings: Settings, selection, instance=None, partition_key=None, partitions=None):
    """Materialize ``selection`` (assets and their checks, or checks only) with the resources of
    ``build_definitions(settings)``: for one partition, or the range ``partitions`` = (first,
    last) in one run (a range of one key reads like a single partition but is not recorded as
    one: its check evaluations carry no partition)."""
    defs = build_definitions(settings)
    instance = instance or DagsterInstance.ephemeral()
    if partition_key is not None:
        # materialize() wants one partitions definition shared by every asset it is given; an
        # asset job infers it from the selected assets (dimensions run unpartitioned within it).
        job = define_asset_job("test_run", selection=selection)
        defs = Definitions.merge(defs, Definitions(jobs=[job]))
        return defs.resolve_job_def("test_run").execute_in_process(
            partition_key=partition_key, instance=instance, run_config=QUIET, raise_on_error=False
        )
    tags = None
    if partitions is not None:
        tags = {
            "dagster/asset_partition_range_start": partitions[0],
            "dagster/asset_partition_range_end": partitions[1],
        }
    return materialize(
        [*defs.assets, *defs.asset_checks],
        selection=selection,
        resources=defs.resources,
        instance=instance,
        tags=tags,
        run_config=QUIET,
        raise_on_error=False,
    )


def run_checks(settings: Settings, asset_keys: list[AssetKey], partition: str | None = None):
    """Run only the data-quality checks of ``asset_keys`` on what the lake / warehouse holds now
    (for one partition, as a range of one: a checks-only job has no asset to infer partitions
    from). Not the freshness checks (test_freshness.py): they read timestamps, not the data."""
    selection = AssetSelection.checks_for_assets(*asset_keys) - AssetSelection.checks(
        *FRESHNESS_CHECK_KEYS
    )
    return run(settings, selection, partitions=(partition, partition) if partition else None)


def evaluations(result) -> dict[tuple[str, str], object]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def meta(evaluation) -> dict:
    return {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}


def materialized(result) -> set[str]:
    return {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}


def failed(evals: dict) -> dict[tuple[str, str], object]:
    return {k: e for k, e in evals.items() if not e.passed}


def check_keys_of(group_prefixes: tuple[str, ...]) -> set[tuple[str, str]]:
    return {
        (key.asset_key.to_user_string(), key.name)
        for c in build_checks()
        for key in c.check_keys
        if key.asset_key.path[0] in group_prefixes
    }


# --- A clean lake and warehouse, built once ----------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The clean zone run through the lake (both quarters in one run) and the analytics."""
    root = tmp_path_factory.mktemp("clean")
    settings = settings_for(root / "home", write_zone(root / "raw", clean_tables()))
    instance = DagsterInstance.ephemeral()
    lake = run(settings, LAKE, instance, partitions=(Q1, Q2))
    analytics = run(settings, ANALYTICS, instance)
    return settings, lake, analytics


def copy_of(settings: Settings, target: Path) -> Settings:
    """A private copy of a built home (lake, staging, warehouse) to tamper with."""
    shutil.copytree(settings.home, target / "home")
    return settings_for(target / "home", settings.raw_dir)


def test_clean_data_passes_every_check(clean):
    _, lake, analytics = clean
    assert lake.success and analytics.success
    lake_evals, analytics_evals = evaluations(lake), evaluations(analytics)
    # Every check of every layer ran, and passed.
    assert set(lake_evals) == check_keys_of((BRONZE, SILVER))
    assert set(analytics_evals) == check_keys_of((GOLD, KPI))
    assert failed(lake_evals) == {} and failed(analytics_evals) == {}
    # Metadata of a few: reconciliation per partition, the reference rate, the revenue figures.
    items = meta(lake_evals[("silver/order_items", "rows_reconcile")])
    assert (items["bronze_rows"], items["silver_rows"], items["partitions"]) == (5, 5, 2)
    reviews = meta(lake_evals[("silver/order_reviews", "rows_reconcile")])
    assert (reviews["bronze_rows"], reviews["superseded"], reviews["silver_rows"]) == (5, 1, 4)
    refs = meta(lake_evals[("silver/orders", "references_customers")])
    assert refs["orphans_quarantined"] == 0 and refs["orphan_error_rate"] == 0.01
    north = meta(analytics_evals[("kpi/northstar", "reconciles_across_layers")])
    # u1 (o1 + o5), u2, u3 are the customers; o4 is canceled.
    assert north["silver_customers"] == north["gold_customers"] == north["kpi_customers"] == 3
    assert north["silver_revenue"] == north["kpi_revenue"] == 110 + 77 + 88 + 33


def test_quarantine_tables_exist_in_warehouse_even_when_empty(clean):
    settings, _, analytics = clean
    assert {f"{QUARANTINE}/{t}" for t in SOURCE_TABLES} <= materialized(analytics)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for table in SOURCE_TABLES:
            assert con.sql(f"SELECT count(*) FROM {QUARANTINE}.{table}").fetchall() == [(0,)]
        columns = con.sql(f"DESCRIBE {QUARANTINE}.orders").fetchall()
    finally:
        con.close()
    assert [(c[0], c[1]) for c in columns] == list(schema.QUARANTINE_COLUMNS.items())


# --- Checks real data can fail ---------------------------------------------------------------


def dirty_zone(raw: Path) -> Path:
    """The clean zone plus one instance of each problem a check reports."""
    tables = clean_tables()
    tables["orders"] += [
        # Customer c9 does not exist: silver quarantines the order; its item stays in silver.
        _order("o6", "c9", "delivered", "2017-05-02 10:00:00", None, "2017-05-09 10:00:00"),
        # A status outside schema.ORDER_STATUSES.
        _order("o7", "c4", "lost_in_transit", "2017-05-03 10:00:00"),
        # Approved before it was purchased.
        _order("o8", "c4", "delivered", "2017-05-04 10:00:00", "2017-05-03 10:00:00",
               "2017-05-10 10:00:00"),
    ]  # fmt: skip
    tables["order_items"].append(_item("o6", 1, "p1", "s1", "10.00", "1.00"))
    # Unknown product and unknown seller on one line: one quarantined row with both reasons.
    tables["order_items"].append(_item("o3", 2, "p9", "s9", "10.00", "1.00"))
    # A negative payment: quarantined in silver, so the silver table stays non-negative.
    tables["order_payments"].append(_payment("o5", 2, "voucher", 1, "-5.00"))
    # Order o99 is in no orders file: bronze quarantines the item as an orphan.
    tables["order_items"].append(_item("o99", 1, "p1", "s1", "10.00", "1.00"))
    tables["order_reviews"].append(_review("r8", "o8", 7, "2017-05-11 10:00:00"))
    write_zone(raw, tables)
    # An export with one column more than the schema: kept, reported.
    header = [*SOURCE_TABLES["orders"].columns, "order_channel"]
    write_csv(raw / SOURCE_TABLES["orders"].file_name, "orders", tables["orders"], header)
    # A line with a field too few, and a payment value that is no number.
    append_lines(
        raw / SOURCE_TABLES["order_items"].file_name, "o5,2,p1,s1,2017-06-30 00:00:00,30.00"
    )
    append_lines(raw / SOURCE_TABLES["order_payments"].file_name, "o5,2,voucher,1,12;50")
    return raw


def test_dirty_data_fails_the_checks_that_report_it(tmp_path):
    settings = settings_for(tmp_path / "home", dirty_zone(tmp_path / "raw"),
                            GOODPULSE_ORPHAN_ERROR_RATE="0.9")  # fmt: skip
    result = run(settings, LAKE, partitions=(Q1, Q2))
    evals = evaluations(result)
    # Every failure is a WARN below the orphan error rate: nothing blocks, the run succeeds.
    assert result.success
    assert {k: e.severity for k, e in failed(evals).items()} == {
        ("bronze/orders", "extra_columns"): WARN,
        ("bronze/order_items", "rows_parseable"): WARN,
        ("bronze/order_payments", "rows_parseable"): WARN,
        ("bronze/order_items", "references_orders"): WARN,
        ("silver/orders", "references_customers"): WARN,
        ("silver/order_items", "references_products"): WARN,
        ("silver/order_items", "references_sellers"): WARN,
        ("silver/order_items", "references_orders"): WARN,
        ("silver/orders", "order_status_known"): WARN,
        ("silver/orders", "timestamps_valid"): WARN,
    }
    assert meta(evals[("bronze/orders", "extra_columns")])["extra_column_names"] == "order_channel"
    malformed = meta(evals[("bronze/order_items", "rows_parseable")])
    assert malformed["rows_malformed"] == 1 and malformed["source_records"] == 9
    assert (
        "olist_order_items_dataset.csv: line 10: Expected Number of Columns: 7 Found: 6"
        in (malformed["examples"])
    )
    unparseable = meta(evals[("bronze/order_payments", "rows_parseable")])
    assert unparseable["rows_unparseable"] == 1 and "12;50" in unparseable["examples"]
    orphan = meta(evals[("bronze/order_items", "references_orders")])
    assert orphan["orphans_quarantined"] == 1 and orphan["orphan_rate"] == pytest.approx(1 / 9)
    assert "order_id o99 not found in orders" in orphan["examples"]
    customers = meta(evals[("silver/orders", "references_customers")])
    assert (customers["orphans_quarantined"], customers["orphans_in_table"]) == (1, 0)
    # o6 was quarantined from silver orders; its item is still in silver, pointing at nothing.
    items = meta(evals[("silver/order_items", "references_orders")])
    assert (items["orphans_quarantined"], items["orphans_in_table"]) == (0, 1)
    assert items["bronze_orphans_quarantined"] == 1
    for parent in ("products", "sellers"):
        refs = meta(evals[("silver/order_items", f"references_{parent}")])
        assert (refs["orphans_quarantined"], refs["orphans_in_table"]) == (1, 0)
    lake = settings.lake_dir / "quarantine"
    [item] = pq.read_table(lake / f"order_items/silver/{Q2}.parquet").to_pylist()
    assert item["rule"] == "orphan"
    assert (
        item["reason"] == "product_id p9 not found in products (see olist_products_dataset.csv "
        "and quarantine.products); seller_id s9 not found in sellers (see "
        "olist_sellers_dataset.csv and quarantine.sellers)"
    )
    [payment] = pq.read_table(lake / f"order_payments/silver/{Q2}.parquet").to_pylist()
    assert (payment["rule"], payment["reason"]) == ("negative_value", "payment_value -5.00 < 0")
    status = meta(evals[("silver/orders", "order_status_known")])
    assert status["violations"] == 1 and "'lost_in_transit': 1 rows" in status["examples"]
    stamps = meta(evals[("silver/orders", "timestamps_valid")])
    assert stamps["order_approved_at_before_purchase"] == 1 and stamps["violations"] == 1
    # The score above 5 was quarantined in silver (issue 14), so the blocking check passes.
    score = meta(evals[("silver/order_reviews", "review_score_in_range")])
    assert (score["above"], score["below"]) == (0, 0)
    [review] = [
        row
        for path in sorted((lake / "order_reviews/silver").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]
    assert (review["rule"], review["reason"]) == ("out_of_range", "review_score 7 is outside 1..5")
    # The blocking checks all passed: keys, reconciliation, non-negative amounts.
    for key in [k for k in evals if k[1] in ("primary_key", "rows_reconcile")]:
        assert evals[key].passed, key
    for table in ("orders", "order_items", "order_payments"):
        assert meta(evals[(f"silver/{table}", "rows_reconcile")])["quarantined"] == 1, table
    assert evals[("silver/order_payments", "values_non_negative")].passed


def test_orphan_rate_above_the_threshold_is_an_error_that_blocks(tmp_path):
    settings = settings_for(tmp_path / "home", dirty_zone(tmp_path / "raw"))  # rate 0.01
    selection = AssetSelection.assets(
        *[AssetKey([layer, t]) for layer in (BRONZE, SILVER)
          for t in ("order_items", "products", "sellers", "category_translation")]
    )  # fmt: skip
    result = run(settings, selection, partition_key=Q2)
    evals = evaluations(result)
    orphans = evals[("bronze/order_items", "references_orders")]
    assert not orphans.passed and orphans.severity == ERROR and orphans.blocking
    # A check of a partitioned asset runs for (and is recorded against) the run's partition.
    assert orphans.partition == Q2 and evals[("bronze/order_items", "expected_columns")].passed
    assert meta(orphans)["orphan_rate"] > meta(orphans)["orphan_error_rate"] == 0.01
    # Blocking: silver/order_items did not run; the other branches did.
    assert not result.success
    assert "silver/order_items" not in materialized(result)
    assert {"silver/products", "silver/sellers", "bronze/order_items"} <= materialized(result)
    assert [m.partition for m in result.get_asset_materialization_events()
            if m.asset_key == AssetKey([BRONZE, "order_items"])] == [Q2]  # fmt: skip


def test_column_schema_change_warns_when_a_column_appears(tmp_path):
    raw = write_zone(tmp_path / "raw", clean_tables())
    settings = settings_for(tmp_path / "home", raw)
    instance = DagsterInstance.ephemeral()
    sellers = AssetSelection.assets(AssetKey([BRONZE, "sellers"]))
    first = evaluations(run(settings, sellers, instance))
    assert first[("bronze/sellers", "column_schema_change")].passed
    header = [*SOURCE_TABLES["sellers"].columns, "seller_phone"]
    write_csv(
        raw / SOURCE_TABLES["sellers"].file_name, "sellers", clean_tables()["sellers"], header
    )
    second = evaluations(run(settings, sellers, instance))
    change = second[("bronze/sellers", "column_schema_change")]
    assert not change.passed and change.severity == WARN
    assert "Added columns: seller_phone" in change.description
    assert meta(second[("bronze/sellers", "extra_columns")])["extra_column_names"] == "seller_phone"


# --- Checks the pipeline never lets fail: tampered copies ------------------------------------


def _rewrite(path: Path, change) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def test_silver_key_value_and_reconciliation_checks_fail_on_tampered_partition(clean, tmp_path):
    settings = copy_of(clean[0], tmp_path)
    lake = settings.lake_dir

    # Q1 of silver orders: o1 twice, and a row without an order_id.
    def break_orders(t: pa.Table) -> pa.Table:
        no_key = t.slice(0, 1).set_column(0, "order_id", pa.array([None], pa.string()))
        return pa.concat_tables([t, t.slice(0, 1), no_key])

    _rewrite(lake / f"silver/orders/{Q1}.parquet", break_orders)
    # Q1 of silver items: a negative price.
    _rewrite(
        lake / f"silver/order_items/{Q1}.parquet",
        lambda t: t.set_column(t.schema.get_field_index("price"), "price", pc.negate(t["price"])),
    )
    orders, items = AssetKey([SILVER, "orders"]), AssetKey([SILVER, "order_items"])
    evals = evaluations(run_checks(settings, [orders, items], Q1))
    pk = evals[("silver/orders", "primary_key")]
    assert not pk.passed and pk.severity == ERROR and pk.blocking
    assert (meta(pk)["null_keys"], meta(pk)["duplicate_rows"]) == (1, 1)
    assert "order_id=o1 (2 rows)" in meta(pk)["examples"]
    reconcile = evals[("silver/orders", "rows_reconcile")]
    assert not reconcile.passed
    counts = meta(reconcile)
    assert (counts["bronze_rows"], counts["silver_rows"], counts["partitions_off"]) == (2, 4, 1)
    assert "| 2017-01-01 | 2 | 0 | 0 | 0 | 4 | 2 |" in counts["per_partition"]
    # The items checks read silver orders: the failed blocking order checks hold them back.
    assert not any(asset == "silver/order_items" for asset, _ in evals)
    negative = evaluations(run_checks(settings, [items], Q1))[
        ("silver/order_items", "values_non_negative")
    ]
    assert not negative.passed and negative.severity == ERROR and negative.blocking
    assert (meta(negative)["price"], meta(negative)["freight_value"]) == (3, 0)
    # Partition-aware: Q2 was not touched, and its checks read Q2 only.
    good = evaluations(run_checks(settings, [orders, items], Q2))
    assert failed(good) == {}
    assert meta(good[("silver/orders", "primary_key")])["rows"] == 3


def test_bronze_expected_columns_fails_on_a_missing_or_retyped_column(clean, tmp_path):
    settings = copy_of(clean[0], tmp_path)
    path = settings.lake_dir / "bronze/customers/data.parquet"
    _rewrite(
        path,
        lambda t: t.drop_columns(["customer_city"]).set_column(
            1, "customer_unique_id", pa.array([1] * t.num_rows, pa.int64())
        ),
    )
    evals = evaluations(
        run(settings, AssetSelection.checks_for_assets(AssetKey([BRONZE, "customers"])))
    )
    check = evals[("bronze/customers", "expected_columns")]
    assert not check.passed and check.severity == ERROR and check.blocking
    assert meta(check)["violations"] == 2
    assert "missing column customer_city" in meta(check)["examples"]
    assert "type customer_unique_id: int64 != string" in meta(check)["examples"]


def _tamper_warehouse(settings: Settings, *statements: str) -> None:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def test_kpi_checks_fail_on_a_tampered_warehouse(clean, tmp_path):
    settings = copy_of(clean[0], tmp_path)
    _tamper_warehouse(
        settings,
        "UPDATE kpi.frequency_distribution SET revenue_share = revenue_share / 2",
        "UPDATE kpi.repeat_funnel SET conversion_1_to_2_plus = 1.5",
        "UPDATE kpi.northstar SET total_revenue = total_revenue + 0.02",
        "UPDATE gold.cohort_retention SET retention_rate = 0.5 WHERE period_index = 0",
    )
    keys = [
        AssetKey([KPI, "frequency_distribution"]),
        AssetKey([KPI, "repeat_funnel"]),
        AssetKey([KPI, "northstar"]),
        AssetKey([GOLD, "cohort_retention"]),
    ]
    off = failed(evaluations(run_checks(settings, keys)))
    assert set(off) == {
        ("kpi/frequency_distribution", "shares_sum_to_one"),
        ("kpi/repeat_funnel", "rates_in_range"),
        ("kpi/northstar", "reconciles_across_layers"),
        ("gold/cohort_retention", "retention_valid"),
    }
    assert all(e.severity == ERROR and e.blocking for e in off.values())
    shares = meta(off[("kpi/frequency_distribution", "shares_sum_to_one")])
    assert shares["revenue_share_populations_off"] == 1
    assert shares["customer_share_populations_off"] == 0
    assert meta(off[("kpi/repeat_funnel", "rates_in_range")])["conversion_1_to_2_plus"] == 1
    north = meta(off[("kpi/northstar", "reconciles_across_layers")])
    assert north["kpi_revenue"] == pytest.approx(308.02) and north["silver_revenue"] == 308.0
    # Money is exact (DECIMAL): the figures are compared and shown to the cent.
    assert north["examples"] == "- kpi revenue 308.02 != silver 308.00"
    assert meta(off[("gold/cohort_retention", "retention_valid")])["index0_not_one"] > 0


def test_gold_customer_360_checks_fail_on_a_duplicated_customer(clean, tmp_path):
    settings = copy_of(clean[0], tmp_path)
    _tamper_warehouse(
        settings, "INSERT INTO gold.customer_360 SELECT * FROM gold.customer_360 LIMIT 1"
    )
    off = failed(evaluations(run_checks(settings, [AssetKey([GOLD, "customer_360"])])))
    assert set(off) == {
        ("gold/customer_360", "primary_key"),
        ("gold/customer_360", "reconciles_with_silver"),
    }
    assert meta(off[("gold/customer_360", "primary_key")])["duplicate_rows"] == 1
    gold = meta(off[("gold/customer_360", "reconciles_with_silver")])
    assert gold["gold_customers"] == 4 and gold["silver_customers"] == 3


# --- Pure rules ------------------------------------------------------------------------------


def test_key_violations():
    clean_keys = pa.table({"a": ["x", "y"], "b": [1, 1]})
    assert quality.key_violations(clean_keys, ["a", "b"]).passed
    dirty = pa.table({"a": ["x", "x", "x", None, "y"], "b": [1, 1, 1, 1, None]})
    finding = quality.key_violations(dirty, ["a", "b"])
    assert finding.violations == 4
    assert finding.counts == {"rows": 5, "null_keys": 2, "duplicate_rows": 2, "duplicate_keys": 1}
    assert finding.samples == ["a=x, b=1 (3 rows)"]


def test_missing_references_and_orphan_severity():
    parent = pa.table({"id": ["a", "b"]})
    assert quality.missing_references(pa.table({"id": ["a", None]}), parent, "id").passed
    finding = quality.missing_references(pa.table({"id": ["a", "z", "z", "y"]}), parent, "id")
    assert (finding.violations, finding.samples) == (3, ["y", "z"])
    # The same answer when the parent is the larger side (with an empty key of its own).
    larger = pa.table({"id": [*(f"k{i}" for i in range(50)), None]})
    finding = quality.missing_references(pa.table({"id": ["k7", "q", None, "q"]}), larger, "id")
    assert (finding.violations, finding.samples, finding.counts["rows"]) == (2, ["q"], 4)
    assert quality.orphan_severity(0, 100, 0.01) is None
    assert quality.orphan_severity(1, 100, 0.01) == quality.SEVERITY_WARN
    assert quality.orphan_severity(2, 100, 0.01) == quality.SEVERITY_ERROR
    assert quality.orphan_severity(1, 0, 0.01) == quality.SEVERITY_ERROR


def test_value_rules():
    orders = pa.table({"order_status": ["delivered", "Lost", "lost", None, "lost"]})
    status = quality.unknown_values(orders, "order_status", schema.ORDER_STATUSES)
    assert status.violations == 3 and status.samples == ["'lost': 2 rows", "'Lost': 1 rows"]
    scores = pa.table({"review_score": [1, 5, 0, 6, None]})
    finding = quality.out_of_range(scores, "review_score", *quality.REVIEW_SCORE_RANGE)
    assert (finding.violations, finding.counts["below"], finding.counts["nulls"]) == (2, 1, 1)
    amounts = pa.table({"price": [1.0, -0.01, 0.0], "freight_value": [-1.0, -2.0, None]})
    negative = quality.negative_values(amounts, ["price", "freight_value"])
    assert negative.violations == 3 and (
        negative.counts["price"],
        negative.counts["freight_value"],
    ) == (1, 2)
    assert quality.negative_values(amounts.slice(2), ["price", "freight_value"]).passed


def _orders(**columns) -> pa.Table:
    n = len(next(iter(columns.values())))
    data = {c: columns.get(c, [None] * n) for c in SOURCE_TABLES["orders"].columns}
    data["_partition"] = columns.get("_partition", [date(2017, 1, 1)] * n)
    return pa.table(data).cast(
        pa.schema([(c, pa.timestamp("us")) if "timestamp" in c or c.endswith(("_at", "_date"))
                   else (c, pa.date32() if c == "_partition" else pa.string()) for c in data])
    )  # fmt: skip


def test_timestamp_violations():
    ts = datetime.fromisoformat
    start, end = ts("2016-07-01"), ts("2020-01-01")
    good = _orders(
        order_purchase_timestamp=[ts("2017-02-01 10:00")],
        order_approved_at=[ts("2017-02-01 10:00")],
        order_delivered_customer_date=[ts("2017-02-05 10:00")],
        order_estimated_delivery_date=[ts("2030-01-01")],  # a promise may lie in the future
    )
    assert quality.timestamp_violations(good, start, end).passed
    bad = _orders(
        order_purchase_timestamp=[ts("2017-02-01 10:00"), ts("2017-05-01"), ts("2017-03-01")],
        order_approved_at=[ts("2017-01-31 10:00"), None, None],
        order_delivered_customer_date=[ts("2017-01-30"), ts("2021-01-01"), None],
    )
    finding = quality.timestamp_violations(bad, start, end)
    assert finding.counts["order_approved_at_before_purchase"] == 1
    assert finding.counts["order_delivered_customer_date_before_purchase"] == 1
    assert finding.counts["order_delivered_customer_date_out_of_range"] == 1
    # The second row is stored in Q1 but purchased in Q2.
    assert finding.counts["purchase_outside_partition"] == 1
    assert finding.violations == 4


def test_silver_reconciliation_counts_each_step():
    bronze = pa.table(
        {
            "review_id": ["r1", "r1", "r2", "r3", "r4"],
            "order_id": ["o1", "o1", "o1", "o2", "o3"],
            "review_score": pa.array([5, 5, 4, 3, 1], pa.int32()),
            "_partition": [date(2017, 1, 1)] * 4 + [date(2017, 4, 1)],
        }
    )
    for column in ("review_comment_title", "review_comment_message"):
        bronze = bronze.append_column(column, pa.array([None] * 5, pa.string()))
    for column in ("review_creation_date", "review_answer_timestamp"):
        bronze = bronze.append_column(column, pa.array([None] * 5, pa.timestamp("us")))
    silver = bronze.slice(2, 2)  # o1 (latest) and o2, Q1; Q2's o3 lost
    quarantine = pa.table({"_partition": pa.array([], pa.date32())})
    rows = quality.silver_reconciliation("order_reviews", bronze, silver, quarantine)
    q1, q2 = rows
    assert (q1["bronze_rows"], q1["exact_duplicates"], q1["superseded"], q1["silver_rows"]) == (
        4,
        1,
        1,
        2,
    )
    assert q1["difference"] == 0
    assert (q2["expected_silver_rows"], q2["silver_rows"], q2["difference"]) == (1, 0, -1)
    finding = quality.reconciliation_finding(rows)
    assert finding.violations == 1 and finding.counts["partitions_off"] == 1
    assert finding.samples[0].startswith("2017-04-01: silver 0 != bronze 1")


def test_row_count_differences():
    orders = pa.table(
        {"order_id": ["a", "b", "c"], "_partition": [date(2017, 1, 1)] * 2 + [date(2017, 4, 1)]}
    )
    assert quality.row_count_differences(orders, orders).passed
    finding = quality.row_count_differences(orders, orders.slice(0, 2))
    assert finding.violations == 1 and finding.samples == ["2017-04-01: expected 1, found 0"]


def test_share_rules():
    fine = pd.DataFrame({"revenue_share": [0.25, 0.75], "customer_share": [0.5, 0.5]})
    assert quality.share_sum_violations(fine, "revenue_share").passed
    off = pd.DataFrame({"revenue_share": [0.25, 0.7]})
    finding = quality.share_sum_violations(off, "revenue_share")
    assert finding.violations == 1 and finding.samples == ["revenue_share [all]: sum 0.95"]
    # A zero total leaves every share NULL: nothing to sum, not a violation.
    assert quality.share_sum_violations(
        pd.DataFrame({"s_share": [None, None]}, dtype=float), "s_share"
    ).passed
    # channel_revenue: channel totals and channel x segment cells each sum to 1.
    channels = pd.DataFrame(
        {
            "value_segment": [None, None, "VIP", "Low Value", "VIP"],
            "revenue_share": [0.6, 0.4, 0.5, 0.1, 0.3],
        }
    )
    grouped = quality.share_sum_violations(
        channels, "revenue_share", quality.SHARE_GROUPS["channel_revenue"]
    )
    assert grouped.violations == 1 and grouped.counts["populations"] == 2
    assert quality.unit_interval_violations(
        pd.DataFrame({"rate": [0.0, 1.0, float("nan")], "conv": [1.2, -0.1, 0.5]}), ["rate", "conv"]
    ).counts == {"rate": 0, "conv": 2}


def test_every_share_and_rate_column_of_the_schema_is_checked():
    tables = {**schema.KPI_TABLES, **schema.GOLD_TABLES}
    shares = {t: quality.share_columns(c) for t, c in tables.items()}
    assert shares["health_by_value"] == ["share_within_segment"]
    assert "top_n_revenue_share" not in shares["city_concentration"]
    assert set(quality.SHARE_GROUPS) <= set(tables)
    for table, groups in quality.SHARE_GROUPS.items():
        assert shares[table], table
        assert all(g.split()[0] in tables[table] for g in groups)
    assert quality.unit_interval_columns(schema.KPI_TABLES["northstar"]) == [
        "repeat_rate",
        "on_time_rate",
        "cancellation_rate",
    ]
    assert quality.unit_interval_columns(schema.KPI_TABLES["period1_retention"]) == [
        "period1_retention"
    ]


def test_retention_and_revenue_rules():
    cohorts = pd.DataFrame(
        {
            "period_index": [0, 1, 0, 1],
            "cohort_size": [10, 10, 0, 0],
            "active_customers": [10, 3, 0, 0],
            "retention_rate": [1.0, 0.3, None, None],
        }
    )
    assert quality.retention_violations(cohorts).passed
    cohorts.loc[0, "retention_rate"] = 0.9
    cohorts.loc[1, ["active_customers", "retention_rate"]] = [11, 1.1]
    finding = quality.retention_violations(cohorts)
    assert finding.counts == {
        "rows_checked": 4,
        "out_of_range": 1,
        "active_above_size": 1,
        "index0_not_one": 1,
    }
    lifecycle = pa.table(
        {
            "customer_unique_id": ["u1", "u1", "u2", "u3"],
            "order_status": ["delivered", "delivered", "delivered", "canceled"],
            "order_revenue": [10.004, 5.0, 2.5, 99.0],
        }
    )
    c360 = pd.DataFrame({"total_orders": [2, 1], "lifetime_revenue": [15.004, 2.5]})
    northstar = pd.DataFrame({"total_customers": [2], "total_orders": [3], "total_revenue": [17.5]})
    finding = quality.revenue_reconciliation(lifecycle, c360, ["delivered"], northstar)
    assert finding.passed and finding.counts["silver_revenue"] == 17.5  # within half a cent
    northstar.loc[0, "total_revenue"] = 17.52
    northstar.loc[0, "total_orders"] = 4
    finding = quality.revenue_reconciliation(lifecycle, c360, ["delivered"], northstar)
    assert finding.violations == 2
    # Float inputs are taken to the cent (silver 17.504 -> 17.50), then compared exactly.
    assert finding.samples == ["kpi orders 4 != silver 3", "kpi revenue 17.52 != silver 17.50"]


def test_column_differences():
    actual = pa.schema([("a", pa.string()), ("b", pa.int64()), ("extra", pa.string())])
    missing, wrong, extra = quality.column_differences(
        actual, {"a": "VARCHAR", "b": "INTEGER", "c": "DOUBLE"}
    )
    assert (missing, wrong, extra) == (["c"], ["b: int64 != int32"], ["extra"])


def test_reference_check_warns_when_the_parent_quarter_is_not_materialized_yet(tmp_path):
    """In an all-asset backfill silver/orders can land in a later run than silver/order_payments:
    the payments' references_orders check cannot look yet, and says so with a non-blocking WARN."""
    settings = settings_for(tmp_path / "home", write_zone(tmp_path / "raw", clean_tables()))
    payments = [AssetKey([BRONZE, "order_payments"]), AssetKey([SILVER, "order_payments"])]
    result = run(settings, AssetSelection.assets(*payments), partition_key="2017-01-01")
    evaluation = evaluations(result)[("silver/order_payments", "references_orders")]
    assert not evaluation.passed
    assert evaluation.severity == WARN
    rows = pq.read_table(settings.lake_dir / "silver/order_payments/2017-01-01.parquet").num_rows
    assert rows > 0
    assert meta(evaluation)["rows_unverified"] == rows
    assert meta(evaluation)["rows_checked"] == 0
    assert "silver/order_payments" in materialized(result)

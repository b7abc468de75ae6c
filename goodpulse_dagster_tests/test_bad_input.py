"""Bad input fails clearly and loses nothing.

- malformed rows (wrong field count, unparseable number or timestamp) go to the quarantine with
  file, line and reason, and the rest loads;
- a missing source file, or a file without a required column, fails that asset only;
- an empty file is a valid empty table; the same file dropped twice is read once;
- rows whose quarter is outside the partitions are quarantined, not silently filtered out;
- a failed run re-run after the input is fixed leaves no duplicates and no leftovers;
- (slow) a messy generated export: every blocking check passes and the quarantine holds exactly
  what the generator injected; a corrupted copy of the real Olist sample: exactly the corrupted
  rows are quarantined, each with its reason.
"""

import json
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity, AssetKey, AssetSelection

from goodpulse_dagster.bronze.parsing import SourceSchemaError
from goodpulse_dagster.bronze.staging import build_bronze
from goodpulse_dagster.landing.zone import LocalLandingZone
from goodpulse_dagster.schema import BRONZE, QUARANTINE, SILVER, SOURCE_TABLES
from goodpulse_dagster.silver.cleaning import BRAZIL_LAT, BRAZIL_LNG
from goodpulse_dagster_tests.test_checks import (
    ANALYTICS,
    LAKE,
    Q1,
    Q2,
    _item,
    _order,
    append_lines,
    clean_tables,
    evaluations,
    failed,
    materialized,
    meta,
    run,
    settings_for,
    write_csv,
    write_zone,
)

OLIST_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "olist_sample"
LAST_QUARTER = "2018-10-01"  # the last quarter with orders, in the sample and the generator


def file_of(table: str) -> str:
    return SOURCE_TABLES[table].file_name


def step_errors(result) -> dict[str, str]:
    """Failed step key -> error message, with the messages of its causes (the user error)."""
    errors = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error, messages = event.event_specific_data.error, []
            while error is not None:
                messages.append(error.message)
                error = error.cause
            errors[event.step_key] = "\n".join(messages)
    return errors


def quarantine_rows(settings, table: str) -> list[dict]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return (
            con.sql(f"SELECT * FROM {QUARANTINE}.{table} ORDER BY layer, rule, reason")
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()


# --- Reading files ---------------------------------------------------------------------------


def test_malformed_rows_are_quarantined_with_file_line_and_reason(tmp_path):
    raw = write_zone(tmp_path / "raw", clean_tables())
    orders = raw / file_of("orders")
    append_lines(
        orders,
        "o8,c1,delivered,2017-05-01 10:00:00,,,,2017-06-01 00:00:00,surplus",  # line 7: 9 fields
        "o9,c1,delivered,2017-02-30 10:00:00,,,,2017-06-01 00:00:00",  # line 8: no such day
    )
    append_lines(raw / file_of("order_payments"), "o3,2,voucher,one,10.00")  # line 6: installments
    zone = LocalLandingZone(raw)
    build = build_bronze("orders", zone, tmp_path / "staging")
    rejected = {r["source_line"]: r for r in build.quarantine.to_pylist()}
    assert set(rejected) == {7, 8}
    assert rejected[7]["rule"] == "malformed" and rejected[7]["source_file"] == str(orders)
    assert "Expected Number of Columns: 8 Found: 9" in rejected[7]["reason"]
    assert rejected[8]["rule"] == "unparseable"
    assert 'Could not convert string "2017-02-30 10:00:00"' in rejected[8]["reason"]
    assert rejected[8]["record"].startswith("o9,c1,delivered")
    # The rest loads; every record of the file is either in bronze or in the quarantine.
    assert sorted(build.table.column("order_id").to_pylist()) == ["o1", "o2", "o3", "o4", "o5"]
    assert sum(f.records for f in build.files) == 7
    payments = build_bronze("order_payments", zone, tmp_path / "staging")
    [bad] = payments.quarantine.to_pylist()
    assert (bad["rule"], bad["source_line"]) == ("unparseable", 6)
    assert 'column "payment_installments"' in bad["reason"]
    assert payments.table.num_rows == 4


def test_the_same_file_dropped_twice_is_read_once(tmp_path):
    raw = write_zone(tmp_path / "raw", clean_tables())
    again = raw / "orders" / "2017-Q1.csv"
    again.parent.mkdir()
    shutil.copyfile(raw / file_of("orders"), again)
    build = build_bronze("orders", LocalLandingZone(raw), tmp_path / "staging")
    assert build.table.num_rows == 5
    assert len(build.files) == 1 and build.duplicate_files == [str(again)]


EMPTY = ("closed_deals", "order_reviews")


def test_an_empty_file_is_a_valid_empty_table(tmp_path):
    raw = write_zone(tmp_path / "raw", clean_tables())
    (raw / file_of("closed_deals")).write_bytes(b"")  # zero bytes
    write_csv(raw / file_of("order_reviews"), "order_reviews", [])  # header only
    settings = settings_for(tmp_path / "home", raw)
    keys = [AssetKey([layer, t]) for layer in (BRONZE, SILVER) for t in EMPTY]
    # Silver orders and customers run too: the checks of silver reviews read silver orders.
    parents = [AssetKey([layer, t]) for layer in (BRONZE, SILVER) for t in ("orders", "customers")]
    result = run(
        settings,
        AssetSelection.assets(*keys, *parents, AssetKey([QUARANTINE, "closed_deals"])),
        partitions=(Q1, Q2),
    )
    assert result.success and failed(evaluations(result)) == {}
    for key in keys:
        rows = [
            m.step_materialization_data.materialization.metadata["dagster/row_count"].value
            for m in result.get_asset_materialization_events()
            if m.asset_key == key
        ]
        assert rows and set(rows) == {0}, key
    for quarter in (Q1, Q2):
        assert (
            pq.read_table(settings.lake_dir / f"silver/order_reviews/{quarter}.parquet").num_rows
            == 0
        )
    assert quarantine_rows(settings, "closed_deals") == []


def test_rows_outside_the_partitions_are_quarantined_not_lost(tmp_path):
    tables = clean_tables()
    tables["orders"].append(_order("o0", "c1", "delivered", "2015-05-01 10:00:00"))
    tables["order_items"].append(_item("o0", 1, "p1", "s1", "10.00", "1.00"))
    zone = LocalLandingZone(write_zone(tmp_path / "raw", tables))
    for table in ("orders", "order_items"):
        build = build_bronze(table, zone, tmp_path / "staging")
        assert "o0" not in build.table.column("order_id").to_pylist()
        [row] = build.quarantine.to_pylist()
        assert row["rule"] == "unroutable"
        assert row["reason"].startswith(
            "order o0: quarter 2015-04-01 of its purchase time is outside"
        )


# --- Failing clearly, one asset at a time ------------------------------------------------------


def test_missing_file_or_column_fails_only_that_asset(tmp_path):
    raw = write_zone(tmp_path / "raw", clean_tables())
    (raw / file_of("sellers")).unlink()
    customers = [c for c in SOURCE_TABLES["customers"].columns if c != "customer_unique_id"]
    write_csv(raw / file_of("customers"), "customers", clean_tables()["customers"], customers)
    result = run(settings_for(tmp_path / "home", raw), LAKE, partitions=(Q1, Q2))
    errors = step_errors(result)
    assert set(errors) == {"bronze__sellers", "bronze__customers"}
    assert f"no source file for table 'sellers' in {raw}" in errors["bronze__sellers"]
    assert file_of("sellers") in errors["bronze__sellers"]
    assert (
        f"{raw / file_of('customers')}: missing required column(s) customer_unique_id"
        in errors["bronze__customers"]
    )
    # Everything that does not need sellers or customers still ran.
    blocked = {
        "bronze/sellers", "bronze/customers", "silver/sellers", "silver/customers",
        "silver/orders", "silver/order_items", "silver/unified_user_lifecycle",
    }  # fmt: skip
    expected = {f"{layer}/{t}" for layer in (BRONZE, SILVER) for t in SOURCE_TABLES} - blocked
    assert materialized(result) == expected


def test_a_missing_orders_column_also_stops_the_tables_routed_by_orders(tmp_path):
    """Items, payments and reviews take their quarter from the orders files, so an unreadable
    orders file fails them too, with the same message naming the orders file."""
    raw = write_zone(tmp_path / "raw", clean_tables())
    header = [c for c in SOURCE_TABLES["orders"].columns if c != "order_purchase_timestamp"]
    write_csv(raw / file_of("orders"), "orders", clean_tables()["orders"], header)
    with pytest.raises(
        SourceSchemaError, match="missing required column.*order_purchase_timestamp"
    ):
        build_bronze("order_items", LocalLandingZone(raw), tmp_path / "staging")
    assert (
        build_bronze("customers", LocalLandingZone(raw), tmp_path / "staging").table.num_rows == 5
    )


def test_rerun_after_fixing_the_input_leaves_no_duplicates_or_leftovers(tmp_path):
    raw = write_zone(tmp_path / "raw", clean_tables())
    customers = [c for c in SOURCE_TABLES["customers"].columns if c != "customer_unique_id"]
    write_csv(raw / file_of("customers"), "customers", clean_tables()["customers"], customers)
    append_lines(raw / file_of("order_items"), "o5,2,p1,s1,2017-06-30 00:00:00,30.00")
    settings = settings_for(tmp_path / "home", raw)
    selection = LAKE | AssetSelection.assets(AssetKey([QUARANTINE, "order_items"]))
    first = run(settings, selection, partitions=(Q1, Q2))
    assert not first.success and "bronze/customers" not in materialized(first)
    stale = pq.read_table(settings.lake_dir / "quarantine/order_items/bronze.parquet")
    assert stale.column("rule").to_pylist() == ["malformed"]

    write_zone(raw, clean_tables())  # the fixed export replaces the broken files
    second = run(settings, selection, partitions=(Q1, Q2))
    assert second.success and failed(evaluations(second)) == {}
    lake = settings.lake_dir
    counts = {
        (layer, t, q): pq.read_table(lake / f"{layer}/{t}/{q}.parquet").num_rows
        for layer in (BRONZE, SILVER)
        for t in ("orders", "order_items")
        for q in (Q1, Q2)
    }
    assert counts == {
        (layer, t, q): n
        for layer in (BRONZE, SILVER)
        for (t, q), n in {
            ("orders", Q1): 2, ("orders", Q2): 3, ("order_items", Q1): 3, ("order_items", Q2): 2,
        }.items()
    }  # fmt: skip
    assert pq.read_table(lake / "silver/customers/data.parquet").num_rows == 5
    # No leftovers: the quarantine no longer holds the broken line, in the lake or the warehouse,
    # and no half-written object is lying around.
    assert pq.read_table(lake / "quarantine/order_items/bronze.parquet").num_rows == 0
    assert quarantine_rows(settings, "order_items") == []
    assert not [p for p in lake.rglob("*") if p.name.endswith(".part")]


# --- End to end over messy exports (slow) ------------------------------------------------------


def _lake_and_analytics(settings):
    lake = run(settings, LAKE, partitions=("2016-07-01", LAST_QUARTER))
    analytics = run(settings, ANALYTICS)
    return lake, analytics


def _blocking_failures(*results) -> dict:
    return {k: e for r in results for k, e in failed(evaluations(r)).items() if e.blocking}


@pytest.mark.slow
def test_messy_generated_export_quarantines_exactly_what_was_injected(tmp_path):
    from goodpulse_dagster.sample_data import REPORT_FILE_NAME, generate

    raw = tmp_path / "raw"
    generate(raw, orders=3000, seed=11, messy=True)
    injected = json.loads((raw / REPORT_FILE_NAME).read_text())["injected"]
    settings = settings_for(tmp_path / "home", raw)
    lake, analytics = _lake_and_analytics(settings)
    assert lake.success and analytics.success
    # Blocking checks: all pass, except the order references that report the injected orphans
    # as a WARN (below analytics.orphan_error_rate), which does not block.
    blocking = _blocking_failures(lake, analytics)
    assert set(blocking) == {
        ("bronze/order_items", "references_orders"),
        ("bronze/order_payments", "references_orders"),
    }
    assert all(e.severity == AssetCheckSeverity.WARN for e in blocking.values())
    for table in ("order_items", "order_payments"):
        orphans = meta(blocking[(f"bronze/{table}", "references_orders")])
        assert orphans["orphans_quarantined"] == injected["orphan_rows"][table]

    def by_rule(table):
        counts = {}
        for row in quarantine_rows(settings, table):
            counts[(row["layer"], row["rule"])] = counts.get((row["layer"], row["rule"]), 0) + 1
        return counts

    assert by_rule("orders") == {("bronze", "unparseable"): injected["bad_timestamps"]["orders"]}
    assert by_rule("order_items") == {
        ("bronze", "malformed"): injected["malformed_rows"]["order_items"],
        ("bronze", "orphan"): injected["orphan_rows"]["order_items"],
    }
    assert by_rule("order_payments") == {
        ("bronze", "unparseable"): injected["bad_numbers"]["order_payments"],
        ("bronze", "orphan"): injected["orphan_rows"]["order_payments"],
    }
    # Geolocation points placed outside Brazil (part of every generated export) are the only
    # other quarantined rows.
    far = duckdb.sql(
        f"""SELECT count(*) FROM read_csv('{raw / file_of("geolocation")}')
            WHERE NOT (geolocation_lat BETWEEN {BRAZIL_LAT[0]} AND {BRAZIL_LAT[1]}
                       AND geolocation_lng BETWEEN {BRAZIL_LNG[0]} AND {BRAZIL_LNG[1]})"""
    ).fetchall()[0][0]
    assert by_rule("geolocation") == {("silver", "out_of_range"): far}
    untouched = set(SOURCE_TABLES) - {"orders", "order_items", "order_payments", "geolocation"}
    assert {t: by_rule(t) for t in untouched} == {t: {} for t in untouched}
    # Duplicates are dropped, not quarantined; extra reviews are superseded: the reconciliation
    # checks count exactly the injected numbers.
    evals = evaluations(lake)
    for table, n in injected["duplicate_rows"].items():
        assert meta(evals[(f"silver/{table}", "rows_reconcile")])["exact_duplicates"] == n, table
    reviews = meta(evals[("silver/order_reviews", "rows_reconcile")])
    assert reviews["superseded"] == injected["extra_reviews"]["order_reviews"]


def _corrupt_sample(raw: Path) -> dict[str, str]:
    """Corrupt a copy of the real sample in four places; returns what each corruption targets."""
    shutil.copytree(OLIST_SAMPLE, raw)

    def edit(table, line_no, change):
        path = raw / file_of(table)
        lines = path.read_text(encoding="utf-8").split("\n")
        old = lines[line_no - 1]
        lines[line_no - 1] = change(old)
        path.write_text("\n".join(lines), encoding="utf-8")
        return old

    # Line 3 of the items: truncated after its fifth field (a cut-off export).
    items_line = edit("order_items", 3, lambda s: ",".join(s.split(",")[:5]))
    # Line 4 of the items: a negative price.
    negative = edit(
        "order_items",
        4,
        lambda s: ",".join([*s.split(",")[:5], "-" + s.split(",")[5], s.split(",")[6]]),
    )
    # A review whose answer time is no timestamp.
    review = edit("order_reviews", 2, lambda s: s.rsplit(",", 1)[0] + ",2018-02-31 25:00:00")
    # The customer of the first order disappears from the customers file.
    first_order = (raw / file_of("orders")).read_text().split("\n")[1].split(",")
    customers = raw / file_of("customers")
    kept = [line for line in customers.read_text().split("\n") if first_order[1] not in line]
    customers.write_text("\n".join(kept))
    return {
        "truncated": items_line.split(",")[0].strip('"'),
        "negative": negative.split(",")[0].strip('"'),
        "review": review.split(",")[0],
        "order": first_order[0],
        "customer": first_order[1],
    }


@pytest.mark.slow
@pytest.mark.skipif(not OLIST_SAMPLE.is_dir(), reason="../shared/olist_sample is not present")
def test_corrupted_olist_sample_quarantines_exactly_the_corrupted_rows(tmp_path):
    corrupt = _corrupt_sample(tmp_path / "raw")
    settings = settings_for(tmp_path / "home", tmp_path / "raw")
    lake, analytics = _lake_and_analytics(settings)
    assert lake.success and analytics.success
    rows = {t: quarantine_rows(settings, t) for t in SOURCE_TABLES if t != "geolocation"}
    found = {t: [(r["layer"], r["rule"]) for r in rs] for t, rs in rows.items() if rs}
    assert found == {
        "orders": [("silver", "orphan")],
        "order_items": [("bronze", "malformed"), ("silver", "negative_value")],
        "order_reviews": [("bronze", "unparseable")],
    }
    (order,) = rows["orders"]
    assert order["reason"] == (
        f"customer_id {corrupt['customer']} not found in customers "
        "(see olist_customers_dataset.csv and quarantine.customers)"
    )
    assert f'"order_id":"{corrupt["order"]}"' in order["record"]
    truncated, negative = rows["order_items"]
    assert (
        truncated["source_line"] == 3
        and "Expected Number of Columns: 7 Found: 5" in truncated["reason"]
    )
    assert truncated["source_file"].endswith(file_of("order_items"))
    assert negative["reason"].startswith("price -") and negative["reason"].endswith(" < 0")
    assert corrupt["negative"] in negative["record"]
    (review,) = rows["order_reviews"]
    assert review["source_line"] == 2 and "2018-02-31 25:00:00" in review["reason"]
    # The order without a customer is quarantined; its items and payments stay in silver and are
    # reported (WARN) by the silver reference checks instead of vanishing.
    evals = evaluations(lake)
    for table in ("order_items", "order_payments"):
        check = evals[(f"silver/{table}", "references_orders")]
        assert check.severity == AssetCheckSeverity.WARN and meta(check)["orphans_in_table"] >= 1
    # Every blocking check that fails is one of these references, and only as a WARN.
    blocking = _blocking_failures(lake, analytics)
    assert set(blocking) == {
        ("silver/orders", "references_customers"),
        ("silver/order_items", "references_orders"),
        ("silver/order_payments", "references_orders"),
        ("silver/order_reviews", "references_orders"),
    }
    assert all(e.severity == AssetCheckSeverity.WARN for e in blocking.values())


def test_a_file_with_mixed_line_endings_is_read_whole(tmp_path):
    # Lines ending in \r\n among lines ending in \n (a file edited on two systems) stop DuckDB's
    # strict CSV parser as a whole; bronze reads it again without strict mode instead of failing.
    raw = tmp_path / "raw"
    raw.mkdir()
    header = ",".join(SOURCE_TABLES["sellers"].columns)
    lines = [
        "s1,01001,sao paulo,SP\n",
        "s2,20000,rio de janeiro,RJ\r\n",
        "s3,30100,belo horizonte,MG\n",
    ]
    (raw / file_of("sellers")).write_text(header + "\n" + "".join(lines), newline="")
    build = build_bronze("sellers", LocalLandingZone(raw), tmp_path / "staging")
    assert build.table.select(["seller_id", "seller_city", "seller_state"]).to_pylist() == [
        {"seller_id": "s1", "seller_city": "sao paulo", "seller_state": "SP"},
        {"seller_id": "s2", "seller_city": "rio de janeiro", "seller_state": "RJ"},
        {"seller_id": "s3", "seller_city": "belo horizonte", "seller_state": "MG"},
    ]
    assert build.quarantine.num_rows == 0

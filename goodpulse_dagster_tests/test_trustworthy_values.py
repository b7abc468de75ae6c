"""Trustworthy numbers (issue 14): exact money, absurd values, review scores, keys, as_of.

Each case is reproduced on a damaged copy of the real Olist sample (made in tmp_path) or on a
small hand-made table, and the expected figures come from the undamaged sample's own rows (read
straight from its files or its lake), never from the code under test:

1. money is DECIMAL(18,2) end to end: two runs on the same input give bit-identical gold and KPI
   tables, and revenue reconciles exactly (Decimal equality) across silver, gold and KPI;
2. a non-finite amount is rejected in bronze (DECIMAL does not parse 'NaN'/'inf'); an amount above
   GOODPULSE_MAX_LINE_AMOUNT, and a NaN/inf DOUBLE, is quarantined in silver ('invalid_value');
3. a review score outside 1..5 is quarantined in silver ('out_of_range');
4. a malformed key (empty customer_unique_id, whitespace inside, too long) is quarantined in silver
   ('invalid_key'); the person's orders follow as orphans pointing at the customers file;
5. a mistyped purchase year that would move the derived as_of is refused with a UserInputError.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity

from goodpulse_dagster import schema
from goodpulse_dagster.bronze.staging import build_bronze
from goodpulse_dagster.engine import arrow_schema
from goodpulse_dagster.errors import UserInputError, UserSettingsError
from goodpulse_dagster.gold import transforms as gold
from goodpulse_dagster.landing.zone import LocalLandingZone
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.schema import QUARANTINE, SOURCE_TABLES
from goodpulse_dagster.settings import load_settings
from goodpulse_dagster.silver import cleaning as silver
from goodpulse_dagster_tests.test_checks import (
    ANALYTICS,
    LAKE,
    evaluations,
    failed,
    meta,
    run,
    settings_for,
)

OLIST_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "olist_sample"
FIRST_QUARTER = "2016-07-01"
LAST_QUARTER = "2018-10-01"  # the last quarter with orders in the sample
NOW = datetime(2026, 1, 1)

needs_sample = pytest.mark.skipif(
    not OLIST_SAMPLE.is_dir(), reason="../shared/olist_sample is not present"
)


def file_of(table: str) -> Path:
    return OLIST_SAMPLE / SOURCE_TABLES[table].file_name


def sample_sql(query: str) -> list[tuple]:
    """A query over the undamaged sample files, every column read as text (``{orders}`` etc.)."""
    views = {
        t: f"read_csv('{file_of(t)}', all_varchar = true, header = true)"
        for t in ("orders", "customers", "order_items", "order_payments", "order_reviews")
    }
    con = duckdb.connect()
    try:
        return con.sql(query.format(**views)).fetchall()
    finally:
        con.close()


def rewrite_lines(path: Path, change) -> int:
    """Apply ``change(fields) -> fields | None`` to every single-line CSV record of ``path``
    (files without multi-line fields); returns how many lines changed."""
    lines = path.read_text(encoding="utf-8").split("\n")
    changed = 0
    for i in range(1, len(lines)):
        if not lines[i]:
            continue
        fields = next(csv.reader([lines[i]]))
        new = change(list(fields))
        if new is not None:
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(new)
            lines[i] = out.getvalue()
            changed += 1
    path.write_text("\n".join(lines), encoding="utf-8")
    return changed


def warehouse_rows(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def lake_rows(settings, sql: str) -> list[tuple]:
    """``sql`` over the lake's silver lifecycle (view ``lifecycle``)."""
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE VIEW lifecycle AS SELECT * FROM read_parquet("
            f"'{settings.lake_dir}/silver/unified_user_lifecycle/*.parquet')"
        )
        return con.sql(sql).fetchall()
    finally:
        con.close()


def quarantined(settings, table: str) -> list[dict]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return (
            con.sql(f"SELECT * FROM {QUARANTINE}.{table} WHERE layer = 'silver' ORDER BY reason")
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()


def full_run(home: Path, raw: Path, **env: str):
    settings = settings_for(home, raw, **env)
    lake = run(settings, LAKE, partitions=(FIRST_QUARTER, LAST_QUARTER))
    analytics = run(settings, ANALYTICS)
    return settings, lake, analytics


def all_tables(settings) -> dict[str, pa.Table]:
    """Every gold and KPI table, sorted by every column (a total order: rows are distinct)."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return {
            f"{layer}.{name}": con.sql(
                f"SELECT * FROM {layer}.{name} ORDER BY ALL"
            ).to_arrow_table()
            for layer, names in (("gold", schema.GOLD_TABLES), ("kpi", schema.KPI_TABLES))
            for name in names
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The undamaged sample, run once: (settings, lake result, analytics result)."""
    if not OLIST_SAMPLE.is_dir():
        pytest.skip("../shared/olist_sample is not present")
    tmp = tmp_path_factory.mktemp("baseline")
    settings, lake, analytics = full_run(tmp / "home", OLIST_SAMPLE)
    assert lake.success and analytics.success
    return settings, lake, analytics


# --- 1. Exact money ------------------------------------------------------------------------------


@pytest.mark.slow
@needs_sample
def test_two_runs_on_the_same_input_give_identical_gold_and_kpi_tables(baseline, tmp_path):
    first = all_tables(baseline[0])
    settings, lake, analytics = full_run(tmp_path / "home", OLIST_SAMPLE)
    assert lake.success and analytics.success
    second = all_tables(settings)
    assert list(second) == list(first)
    for name, table in first.items():
        assert table.num_rows > 0, name
        # Exact equality of every column, money and DOUBLE alike: no tolerance.
        assert second[name].equals(table), name


@pytest.mark.slow
@needs_sample
def test_money_is_decimal_in_every_layer_and_reconciles_to_the_cent(baseline):
    settings = baseline[0]
    money = pa.decimal128(18, 2)
    for layer, table, column in [
        ("bronze", "order_payments", "payment_value"),
        ("silver", "order_payments", "payment_value"),
        ("silver", "order_items", "price"),
        ("silver", "order_items", "freight_value"),
        ("silver", "unified_user_lifecycle", "order_revenue"),
        ("silver", "unified_user_lifecycle", "merchandise_value"),
    ]:
        path = next((settings.lake_dir / layer / table).glob("*.parquet"))
        assert pq.read_schema(path).field(column).type == money, (layer, table, column)
    types = dict(
        ((s, t, c), ty)
        for s, t, c, ty in warehouse_rows(
            settings,
            "SELECT table_schema, table_name, column_name, data_type FROM "
            "information_schema.columns WHERE table_schema IN ('gold', 'kpi')",
        )
    )
    for (layer, table, column), ty in types.items():
        declared = {
            **schema.GOLD_TABLES,
            **schema.KPI_TABLES,
            **schema.PREDICTION_GOLD_TABLES,
            **schema.PREDICTION_KPI_TABLES,
        }[table][column]
        if declared == schema.MONEY:
            assert ty == "DECIMAL(18,2)", (layer, table, column)
    # The sum of the source file's payment values (as exact decimals, from the text).
    ((silver_revenue,),) = lake_rows(
        settings, "SELECT sum(order_revenue) FROM lifecycle WHERE order_status = 'delivered'"
    )
    ((gold_revenue, kpi_revenue),) = warehouse_rows(
        settings,
        "SELECT (SELECT sum(lifetime_revenue) FROM gold.customer_360), "
        "(SELECT total_revenue FROM kpi.northstar)",
    )
    assert isinstance(kpi_revenue, Decimal)
    assert silver_revenue == gold_revenue == kpi_revenue
    # The reconciliation check compares exactly now: every layer's revenue the same Decimal.
    check = evaluations(baseline[2])[("gold/customer_360", "reconciles_with_silver")]
    assert check.passed


# --- 2, 3, 4: one damaged copy of the sample -----------------------------------------------------


def _pick_damage() -> dict:
    """Rows of the undamaged sample to damage, chosen so each damage has one clear effect."""
    # A person with one customer_id and one order, delivered: blanking their customer_unique_id
    # removes exactly that person from gold.
    ((cid, uid, blank_order),) = sample_sql(
        """
        SELECT c.customer_id, c.customer_unique_id, o.order_id
        FROM {customers} c JOIN {orders} o USING (customer_id)
        WHERE o.order_status = 'delivered'
          AND c.customer_unique_id IN (SELECT customer_unique_id FROM {customers}
                                        GROUP BY 1 HAVING count(*) = 1)
        ORDER BY c.customer_id LIMIT 1
        """
    )
    # Four payment lines (sequential 2+) of delivered orders with several payment rows, other
    # orders than the blanked customer's: their orders keep a payment, so revenue drops by
    # exactly these lines.
    payments = sample_sql(
        f"""
        SELECT p.order_id, p.payment_sequential, p.payment_value
        FROM {{order_payments}} p JOIN {{orders}} o USING (order_id)
        WHERE o.order_status = 'delivered' AND p.payment_sequential::INT >= 2
          AND p.order_id <> '{blank_order}'
        ORDER BY p.order_id, p.payment_sequential::INT LIMIT 4
        """
    )
    assert len({p[0] for p in payments}) == 4
    # An item line of a delivered order with payments: its revenue is the payments, unchanged.
    ((item_order, item_line, item_price),) = sample_sql(
        f"""
        SELECT i.order_id, i.order_item_id, i.price
        FROM {{order_items}} i JOIN {{orders}} o USING (order_id)
        WHERE o.order_status = 'delivered' AND i.order_id <> '{blank_order}'
          AND i.order_id IN (SELECT order_id FROM {{order_payments}})
          AND i.order_id NOT IN ({", ".join(f"'{p[0]}'" for p in payments)})
        ORDER BY i.order_id, i.order_item_id LIMIT 1
        """
    )
    # Two delivered orders with exactly one review each: scores 0 and 7.
    reviews = sample_sql(
        f"""
        SELECT r.review_id, r.order_id, r.review_score
        FROM {{order_reviews}} r JOIN {{orders}} o USING (order_id)
        WHERE o.order_status = 'delivered' AND r.order_id <> '{blank_order}'
          AND r.order_id IN (SELECT order_id FROM {{order_reviews}} GROUP BY 1 HAVING count(*) = 1)
        ORDER BY r.order_id LIMIT 2
        """
    )
    return {
        "customer_id": cid,
        "customer_unique_id": uid,
        "blank_order": blank_order,
        "payments": payments,
        "item": (item_order, item_line, item_price),
        "reviews": reviews,
    }


def _damage(raw: Path, picks: dict) -> None:
    shutil.copytree(OLIST_SAMPLE, raw)
    cid = picks["customer_id"]
    assert (
        rewrite_lines(
            raw / SOURCE_TABLES["customers"].file_name,
            lambda f: [f[0], "", *f[2:]] if f[0] == cid else None,
        )
        == 1
    )
    # NaN and inf do not parse as DECIMAL (bronze rejects them); 1e12 and a cent above the
    # ceiling parse and are quarantined in silver.
    new_values = dict(
        zip(
            [(p[0], p[1]) for p in picks["payments"]],
            ["NaN", "inf", "1000000000000", "1000000.01"],
            strict=True,
        )
    )
    assert (
        rewrite_lines(
            raw / SOURCE_TABLES["order_payments"].file_name,
            lambda f: [*f[:4], new_values[(f[0], f[1])]] if (f[0], f[1]) in new_values else None,
        )
        == 4
    )
    item_order, item_line, _ = picks["item"]
    assert (
        rewrite_lines(
            raw / SOURCE_TABLES["order_items"].file_name,
            lambda f: (
                [*f[:5], "2000000.00", f[6]] if (f[0], f[1]) == (item_order, item_line) else None
            ),
        )
        == 1
    )
    # Reviews hold multi-line texts: edit by the unique start of the record.
    path = raw / SOURCE_TABLES["order_reviews"].file_name
    text = path.read_text(encoding="utf-8")
    for (review_id, order_id, score), new in zip(picks["reviews"], ("0", "7"), strict=True):
        old = f"\n{review_id},{order_id},{score},"
        assert text.count(old) == 1
        text = text.replace(old, f"\n{review_id},{order_id},{new},")
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def damaged(tmp_path_factory, baseline):
    tmp = tmp_path_factory.mktemp("damaged")
    picks = _pick_damage()
    _damage(tmp / "raw", picks)
    settings, lake, analytics = full_run(tmp / "home", tmp / "raw")
    return picks, settings, lake, analytics


@pytest.mark.slow
@needs_sample
def test_absurd_amounts_never_reach_silver(baseline, damaged):
    picks, settings, lake, analytics = damaged
    assert lake.success and analytics.success
    (nan, inf, huge, cent_above) = picks["payments"]
    # Bronze: 'NaN' and 'inf' are not DECIMAL(18,2) values.
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        bronze = con.sql(
            f"SELECT rule, reason FROM {QUARANTINE}.order_payments WHERE layer = 'bronze' "
            "ORDER BY source_line"
        ).fetchall()
    finally:
        con.close()
    assert [rule for rule, _ in bronze] == ["unparseable", "unparseable"]
    assert sorted(any(v in reason for v in ('"NaN"', '"inf"')) for _, reason in bronze) == [
        True,
        True,
    ]
    assert all("to 'DECIMAL'" in reason for _, reason in bronze)
    # Silver: the amounts above R$ 1,000,000, with file, column, value and reason.
    payments = quarantined(settings, "order_payments")
    assert [(r["rule"], r["reason"]) for r in payments] == [
        (
            "invalid_value",
            "payment_value 1000000.01 is above the line-amount ceiling 1000000.00 "
            "(GOODPULSE_MAX_LINE_AMOUNT)",
        ),
        (
            "invalid_value",
            "payment_value 1000000000000.00 is above the line-amount ceiling 1000000.00 "
            "(GOODPULSE_MAX_LINE_AMOUNT)",
        ),
    ]
    assert all(r["source_file"].endswith("olist_order_payments_dataset.csv") for r in payments)
    assert f'"order_id":"{cent_above[0]}"' in payments[0]["record"]
    assert f'"order_id":"{huge[0]}"' in payments[1]["record"]
    items = [r for r in quarantined(settings, "order_items") if r["rule"] == "invalid_value"]
    assert [r["reason"] for r in items] == [
        "price 2000000.00 is above the line-amount ceiling 1000000.00 (GOODPULSE_MAX_LINE_AMOUNT)"
    ]
    # Revenue: the undamaged total minus exactly the four payment lines and the revenue of the
    # blanked customer's order (quarantined as an orphan, test below), to the cent, exactly.
    ((base_total,),) = warehouse_rows(baseline[0], "SELECT total_revenue FROM kpi.northstar")
    ((blank_revenue,),) = lake_rows(
        baseline[0],
        f"SELECT order_revenue FROM lifecycle WHERE order_id = '{picks['blank_order']}'",
    )
    removed = sum(Decimal(p[2]) for p in picks["payments"])
    ((total, max_month),) = warehouse_rows(
        settings,
        "SELECT total_revenue, (SELECT max(revenue) FROM kpi.monthly_revenue) FROM kpi.northstar",
    )
    assert total == base_total - removed - blank_revenue
    assert max_month < 1_000_000
    # The item line's order keeps its payments' revenue; its merchandise drops by the price.
    item_order, _, item_price = picks["item"]
    ((base_merch,),) = lake_rows(
        baseline[0], f"SELECT merchandise_value FROM lifecycle WHERE order_id = '{item_order}'"
    )
    ((merch,),) = lake_rows(
        settings, f"SELECT merchandise_value FROM lifecycle WHERE order_id = '{item_order}'"
    )
    assert merch == base_merch - Decimal(item_price)
    evals = evaluations(lake)
    assert evals[("silver/order_payments", "values_valid")].passed
    assert evals[("silver/order_items", "values_valid")].passed


@pytest.mark.slow
@needs_sample
def test_review_scores_outside_one_to_five_are_quarantined(baseline, damaged):
    picks, settings, lake, analytics = damaged
    reviews = quarantined(settings, "order_reviews")
    assert [(r["rule"], r["reason"]) for r in reviews] == [
        ("out_of_range", "review_score 0 is outside 1..5"),
        ("out_of_range", "review_score 7 is outside 1..5"),
    ]
    check = evaluations(lake)[("silver/order_reviews", "review_score_in_range")]
    assert check.passed and check.blocking
    # avg_review_score: the undamaged completed orders' scores without the two damaged reviews
    # and without the blanked customer's order.
    excluded = ", ".join(
        f"'{o}'" for o in [picks["blank_order"], *[r[1] for r in picks["reviews"]]]
    )
    ((expected,),) = lake_rows(
        baseline[0],
        f"SELECT sum(review_score)::DOUBLE / count(review_score) FROM lifecycle "
        f"WHERE order_status = 'delivered' AND order_id NOT IN ({excluded})",
    )
    ((avg,),) = warehouse_rows(settings, "SELECT avg_review_score FROM kpi.northstar")
    assert avg == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
@needs_sample
def test_an_empty_customer_unique_id_is_quarantined_and_nothing_else_fails(baseline, damaged):
    picks, settings, lake, analytics = damaged
    assert lake.success and analytics.success
    [customer] = quarantined(settings, "customers")
    assert (customer["rule"], customer["reason"]) == ("invalid_key", "customer_unique_id is empty")
    assert customer["source_file"].endswith("olist_customers_dataset.csv")
    assert f'"customer_id":"{picks["customer_id"]}"' in customer["record"]
    # The person's order no longer resolves: an orphan whose reason points at the customers file.
    [order] = [r for r in quarantined(settings, "orders") if r["rule"] == "orphan"]
    assert order["reason"] == (
        f"customer_id {picks['customer_id']} not found in customers "
        "(see olist_customers_dataset.csv and quarantine.customers)"
    )
    assert f'"order_id":"{picks["blank_order"]}"' in order["record"]
    # Gold: exactly that person fewer; the others untouched.
    ((base_customers,),) = warehouse_rows(baseline[0], "SELECT count(*) FROM gold.customer_360")
    ((customers, missing),) = warehouse_rows(
        settings,
        "SELECT count(*), count(*) FILTER (WHERE customer_unique_id = "
        f"'{picks['customer_unique_id']}') FROM gold.customer_360",
    )
    assert (customers, missing) == (base_customers - 1, 0)
    # Nothing unrelated fails: only the references to the quarantined rows, as WARN, and the
    # bronze rows_parseable WARN of the two unparseable payment values.
    failures = {
        k: e.severity
        for r in (lake, analytics)
        for k, e in failed(evaluations(r)).items()
        # The sample folder also holds files that are not exports (this WARN names them).
        if k[1] != "landing_zone_files_recognised"
    }
    assert failures == {
        ("bronze/order_payments", "rows_parseable"): AssetCheckSeverity.WARN,
        ("silver/orders", "references_customers"): AssetCheckSeverity.WARN,
        ("silver/order_items", "references_orders"): AssetCheckSeverity.WARN,
        ("silver/order_payments", "references_orders"): AssetCheckSeverity.WARN,
        ("silver/order_reviews", "references_orders"): AssetCheckSeverity.WARN,
    }
    refs = meta(evaluations(lake)[("silver/orders", "references_customers")])
    assert (refs["orphans_quarantined"], refs["orphans_in_table"]) == (1, 0)


def _customers_bronze(tmp_path: Path, rows: list[str]) -> pa.Table:
    raw = tmp_path / "raw"
    raw.mkdir()
    header = ",".join(SOURCE_TABLES["customers"].columns)
    (raw / SOURCE_TABLES["customers"].file_name).write_text(header + "\n" + "\n".join(rows) + "\n")
    return build_bronze("customers", LocalLandingZone(raw), tmp_path / "staging").table


def rules_and_reasons(quarantine: pa.Table) -> list[tuple[str, str]]:
    """The (rule, reason) of every quarantined row, sorted."""
    rules = quarantine.column("rule").to_pylist()
    return sorted(zip(rules, quarantine.column("reason").to_pylist(), strict=True))


def test_malformed_keys_are_quarantined_with_their_reason(tmp_path):
    long_id = "u" * 65
    bronze = _customers_bronze(
        tmp_path,
        [
            "c1,u1,01001,sao paulo,SP",
            "c2,   ,01001,sao paulo,SP",
            "c3,u 3,01001,sao paulo,SP",
            f"c4,{long_id},01001,sao paulo,SP",
            '"c5\t5",u5,01001,sao paulo,SP',
            f"c6,{'u' * 64},01001,sao paulo,SP",
        ],
    )
    result = silver.clean_source("customers", bronze, NOW)
    assert result.table.column("customer_id").to_pylist() == ["c1", "c6"]
    reasons = rules_and_reasons(result.quarantine)
    assert reasons == [
        ("invalid_key", 'customer_id "c5\\t5" contains whitespace or a control character'),
        ("invalid_key", 'customer_unique_id "u 3" contains whitespace or a control character'),
        ("invalid_key", f'customer_unique_id "{long_id}" is longer than 64 characters (65)'),
        ("invalid_key", "customer_unique_id is empty"),
    ]
    assert result.counts["quarantined"] == 4 and result.counts["output_rows"] == 2


def _geolocation_bronze(rows: list[tuple]) -> pa.Table:
    cols = schema.bronze_table_columns("geolocation")
    data = {
        "geolocation_zip_code_prefix": [r[0] for r in rows],
        "geolocation_lat": [r[1] for r in rows],
        "geolocation_lng": [r[2] for r in rows],
        "geolocation_city": ["sao paulo"] * len(rows),
        "geolocation_state": ["SP"] * len(rows),
        schema.SOURCE_FILE_COLUMN: ["olist_geolocation_dataset.csv"] * len(rows),
        schema.INGESTED_AT_COLUMN: [NOW] * len(rows),
    }
    return pa.table(data, schema=arrow_schema(cols))


def test_non_finite_doubles_are_quarantined_as_invalid_values():
    result = silver.clean_geolocation(
        _geolocation_bronze(
            [
                ("01001", -23.55, -46.63),
                ("01002", float("nan"), -46.63),
                ("01003", -23.55, float("inf")),
                ("01004", 40.0, -3.7),  # Madrid: outside Brazil, not invalid
            ]
        ),
        NOW,
    )
    assert result.table.column("geolocation_zip_code_prefix").to_pylist() == ["01001"]
    reasons = rules_and_reasons(result.quarantine)
    assert reasons == [
        ("invalid_value", "geolocation_lat nan is not a finite number"),
        ("invalid_value", "geolocation_lng inf is not a finite number"),
        ("out_of_range", "point (40.0, -3.7) is outside Brazil"),
    ]


def test_the_line_amount_ceiling_is_a_setting():
    assert load_settings({}).metrics.max_line_amount == 1_000_000
    env = {"GOODPULSE_MAX_LINE_AMOUNT": "500"}
    assert load_settings(env).metrics.max_line_amount == 500
    with pytest.raises(UserSettingsError, match="GOODPULSE_MAX_LINE_AMOUNT must be a number"):
        load_settings({"GOODPULSE_MAX_LINE_AMOUNT": "lots"})
    with pytest.raises(UserSettingsError, match="positive amount"):
        load_settings({"GOODPULSE_MAX_LINE_AMOUNT": "0"})
    with pytest.raises(UserSettingsError, match="GOODPULSE_AS_OF_MAX_GAP_DAYS"):
        load_settings({"GOODPULSE_AS_OF_MAX_GAP_DAYS": "0"})
    with pytest.raises(UserSettingsError, match="GOODPULSE_AS_OF_OUTLIER_MAX_SHARE"):
        load_settings({"GOODPULSE_AS_OF_OUTLIER_MAX_SHARE": "1.5"})


# --- 5. The reference date -----------------------------------------------------------------------


def _orders(dates: list[datetime]) -> pa.Table:
    """A minimal lifecycle: order ids o0000.. with the given purchase times."""
    return pa.table(
        {
            "order_id": [f"o{i:04d}" for i in range(len(dates))],
            "order_purchase_timestamp": pa.array(dates, pa.timestamp("us")),
        }
    )


DAY0 = datetime(2018, 1, 1, 12, 0)


def test_a_lone_order_far_after_the_rest_stops_a_derived_as_of():
    # 2,000 orders on consecutive days, then one 200 days after the last: 1 / 2,001 = 0.05% of
    # the orders, below the default 0.1%, after a gap of more than 90 days.
    dates = [DAY0 + timedelta(days=i) for i in range(2000)]
    outlier = dates[-1] + timedelta(days=200)
    lifecycle = _orders([*dates, outlier])
    with pytest.raises(UserInputError) as error:
        gold.compute_as_of(lifecycle, MetricParams())
    message = str(error.value)
    assert "order o2000 (purchased " + f"{outlier:%Y-%m-%d %H:%M:%S})" in message
    assert "1 of 2001 orders" in message and "gap of 200 days" in message
    assert f"previous purchase on {dates[-1]:%Y-%m-%d}" in message
    assert "Fix the purchase date in the orders export" in message
    assert "GOODPULSE_AS_OF=" in message
    # An explicit as_of is the way out; so is a share of 0 (the check off).
    assert gold.compute_as_of(lifecycle, MetricParams(as_of=date(2023, 6, 23))) == date(2023, 6, 23)
    assert gold.compute_as_of(lifecycle, MetricParams(as_of_outlier_max_share=0)) == outlier.date()


def test_a_gap_at_the_threshold_or_a_larger_share_is_the_business():
    dates = [DAY0 + timedelta(days=i) for i in range(2000)]
    # Exactly 90 days: not more than the threshold, the date stands.
    at_threshold = dates[-1] + timedelta(days=90)
    assert gold.compute_as_of(_orders([*dates, at_threshold]), MetricParams()) == (
        at_threshold.date()
    )
    # 90 days and one second: refused.
    just_over = dates[-1] + timedelta(days=90, seconds=1)
    with pytest.raises(UserInputError):
        gold.compute_as_of(_orders([*dates, just_over]), MetricParams())
    # Three orders after a 200-day gap: 3 / 2,003 = 0.15% > 0.1%, a real (if quiet) period.
    late = [dates[-1] + timedelta(days=200, hours=h) for h in range(3)]
    assert gold.compute_as_of(_orders([*dates, *late]), MetricParams()) == late[-1].date()
    # Two of them: 2 / 2,002 = 0.0999% <= 0.1%: refused, naming both.
    with pytest.raises(UserInputError, match=r"2 of 2002 orders .*o2000 .*o2001 \("):
        gold.compute_as_of(_orders([*dates, *late[:2]]), MetricParams())


@pytest.mark.slow
@needs_sample
def test_a_mistyped_year_on_the_real_sample_stops_the_analytics(tmp_path):
    # The latest delivered 2018 order of the sample, its purchase year typed 2026.
    ((order_id, purchased),) = sample_sql(
        "SELECT order_id, order_purchase_timestamp FROM {orders} "
        "WHERE order_status = 'delivered' ORDER BY order_purchase_timestamp DESC LIMIT 1"
    )
    typo = "2026" + purchased[4:]
    raw = tmp_path / "raw"
    shutil.copytree(OLIST_SAMPLE, raw)
    assert (
        rewrite_lines(
            raw / SOURCE_TABLES["orders"].file_name,
            lambda f: [f[0], f[1], f[2], typo, *f[4:]] if f[0] == order_id else None,
        )
        == 1
    )
    settings = settings_for(tmp_path / "home", raw)
    lake = run(settings, LAKE, partitions=(FIRST_QUARTER, f"{typo[:4]}-{_quarter(typo)}"))
    assert lake.success
    analytics = run(settings, ANALYTICS)
    assert not analytics.success
    errors = [
        e.event_specific_data.error
        for e in analytics.all_events
        if e.event_type_value == "STEP_FAILURE"
    ]
    messages = []
    for error in errors:
        while error is not None:
            messages.append(error.message)
            error = error.cause
    text = "\n".join(messages)
    assert "UserInputError" in text
    assert f"order {order_id} (purchased {typo})" in text
    assert "1 of 8135 orders" in text
    assert "Fix the purchase date in the orders export, or set GOODPULSE_AS_OF=" in text
    # The second way out: an explicit as_of runs through.
    settings = settings_for(tmp_path / "home", raw, GOODPULSE_AS_OF=purchased[:10])
    assert run(settings, ANALYTICS).success


def _quarter(timestamp: str) -> str:
    month = int(timestamp[5:7])
    return f"{(month - 1) // 3 * 3 + 1:02d}-01"

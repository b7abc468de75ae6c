"""The table specs (goodpulse_dagster/schema/) are the one declaration of every table: what the UI,
the checks and docs/metrics.md show must come from them, and stay equal to them."""

import re
from collections import defaultdict
from pathlib import Path

import pytest
from dagster import AssetKey

from goodpulse_dagster import schema
from goodpulse_dagster.definitions import build_definitions
from goodpulse_dagster.schema.docs import metrics_reference
from goodpulse_dagster.settings import load_settings

METRICS_DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"


@pytest.fixture(scope="module")
def asset_graph():
    settings = load_settings(
        {
            "GOODPULSE_HOME": "/nonexistent-goodpulse-home",
            "GOODPULSE_REGULAR_MIN_ORDERS": "3",
            "GOODPULSE_POWER_USER_MIN_ORDERS": "7",
            "GOODPULSE_LIFECYCLE_DAYS": "30,60,120",
            "GOODPULSE_VALUE_QUANTILES": "0.25,0.75,0.9",
            "GOODPULSE_TOP_N_CITIES": "4",
        }
    )
    return build_definitions(settings).resolve_asset_graph()


def test_every_table_asset_carries_exactly_the_checks_its_spec_names(asset_graph):
    checks = defaultdict(set)
    for check in asset_graph.asset_check_keys:
        checks[tuple(check.asset_key.path)].add(check.name)
    for key, table in schema.TABLE_SPECS.items():
        assert checks[key] == set(table.checks), table.qualified_name


def test_silver_reference_checks_are_the_specs_foreign_keys(asset_graph):
    # orders -> customers, items -> orders/products/sellers, payments and reviews -> orders.
    references = {
        name: {(r.column, r.parent) for r in spec.references}
        for name, spec in schema.SILVER_SPECS.items()
        if spec.references
    }
    assert references == {
        "orders": {("customer_id", "customers")},
        "order_items": {
            ("order_id", "orders"),
            ("product_id", "products"),
            ("seller_id", "sellers"),
        },
        "order_payments": {("order_id", "orders")},
        "order_reviews": {("order_id", "orders")},
    }
    # Silver quarantines the orphans of the references bronze cannot (bronze routes order-grain
    # rows by their order, so it sets aside those of unknown orders).
    assert schema.silver_references("order_items") == {
        "product_id": "products",
        "seller_id": "sellers",
    }
    assert schema.silver_references("order_reviews") == {}
    assert schema.silver_inputs("products") == ("category_translation",)
    assert schema.silver_inputs("order_items") == ("products", "sellers")


def test_asset_descriptions_and_column_schemas_follow_the_settings_in_force(asset_graph):
    customer_360 = asset_graph.get(AssetKey(["gold", "customer_360"]))
    assert "frequency tier (One-time 1, Regular 3-6, Power User 7+)" in customer_360.description
    assert "value segment (p25/p75/p90 of lifetime revenue)" in customer_360.description
    assert "Active <= 30 < Warm <= 60 < At Risk <= 120 < Dormant" in customer_360.description
    columns = {c.name: c for c in customer_360.metadata["dagster/column_schema"].columns}
    assert list(columns) == list(schema.CUSTOMER_360_COLUMNS)
    assert columns["frequency_tier"].description == (
        "One-time: 1 completed order; Regular: 3 to 6; Power User: 7 or more."
    )
    assert columns["lifetime_revenue"].type == "DECIMAL(18,2)"
    city = asset_graph.get(AssetKey(["kpi", "city_concentration"]))
    assert "the top 4 cities" in city.description
    funnel = {
        c.name: c.description
        for c in asset_graph.get(AssetKey(["kpi", "repeat_funnel"]))
        .metadata["dagster/column_schema"]
        .columns
    }
    assert funnel["customers_2_plus"] == "Customers with 3+ completed orders."
    assert funnel["customers_5_plus"] == "Customers with 7+ completed orders."


def test_every_table_asset_is_described_and_every_column_has_a_meaning(asset_graph):
    for key, table in schema.TABLE_SPECS.items():
        node = asset_graph.get(AssetKey(list(key)))
        assert node.description and "{" not in node.description, table.qualified_name
        schema_columns = node.metadata["dagster/column_schema"].columns
        assert [(c.name, c.type) for c in schema_columns] == list(table.column_types.items())
        for column in schema_columns:
            assert column.description and "{" not in column.description, (key, column.name)


def test_docs_metrics_table_reference_is_the_generated_one():
    document = METRICS_DOC.read_text(encoding="utf-8")
    assert metrics_reference(schema.setting_values()) in document, (
        "docs/metrics.md's table reference differs from the specs: run "
        "`python -m goodpulse_dagster.schema.docs`"
    )


def test_docs_metrics_lists_exactly_the_gold_and_kpi_tables_of_the_specs():
    document = METRICS_DOC.read_text(encoding="utf-8")
    summary = document.split("## Table reference")[0]
    listed = set(re.findall(r"^\| `((?:gold|kpi)\.\w+)` \|", summary, flags=re.MULTILINE))
    declared = {
        t.qualified_name
        for specs in (
            schema.GOLD_SPECS,
            schema.PREDICTION_GOLD_SPECS,
            schema.KPI_SPECS,
            schema.PREDICTION_KPI_SPECS,
        )
        for t in specs.values()
    }
    assert listed == declared


def test_column_types_of_the_specs_are_the_declared_mappings():
    # The mappings the transforms conform to are views of the specs, in the same order.
    assert schema.KPI_TABLES.keys() == schema.KPI_COLUMNS.keys()
    assert schema.PREDICTION_KPI_TABLES.keys() == schema.PREDICTION_KPI_COLUMNS.keys()
    for name, table in schema.KPI_SPECS.items():
        assert table.column_types == schema.KPI_COLUMNS[name]
    assert schema.GOLD_TABLES["cohort_retention"] == schema.COHORT_RETENTION_COLUMNS
    assert schema.table_spec("silver", "orders").primary_key == ("order_id",)
    assert schema.table_spec("silver", "order_items").primary_key == ("order_id", "order_item_id")
    with pytest.raises(KeyError, match="no table spec for gold.nope"):
        schema.table_spec("gold", "nope")


def test_keys_and_references_name_columns_that_exist():
    for table in schema.TABLE_SPECS.values():
        assert set(table.primary_key) <= set(table.column_types), table.qualified_name
        for reference in table.references:
            parent = schema.table_spec(table.layer, reference.parent)
            assert reference.column in table.column_types, table.qualified_name
            # A reference points at the parent's key, by the same column name.
            assert parent.primary_key == (reference.column,), table.qualified_name


def test_lake_column_meanings_name_no_setting():
    # Bronze and silver materializations describe their columns with the defaults
    # (assets/common.profile_metadata): no lake column may depend on a setting.
    for table in schema.TABLE_SPECS.values():
        if table.layer in (schema.BRONZE, schema.SILVER, schema.QUARANTINE):
            for column in table.columns:
                assert "{" not in (column.description or schema.GLOSSARY.get(column.name, ""))


def test_the_report_appendix_says_what_the_specs_say_with_the_settings_in_force():
    from goodpulse_dagster.params import MetricParams
    from goodpulse_dagster.report.metric_definitions import SPEC_TERMS, metric_definitions

    params = MetricParams(
        regular_min_orders=3, power_user_min_orders=7, lifecycle_days=(30, 60, 120)
    )
    appendix = dict(metric_definitions(params))
    values = schema.setting_values(params)
    for term, (layer, table, column) in SPEC_TERMS.items():
        assert appendix[term] == schema.table_spec(layer, table).column(column).describe(values)
    assert appendix["Frequency tier"] == (
        "One-time: 1 completed order; Regular: 3 to 6; Power User: 7 or more."
    )
    assert appendix["Lifecycle stage"] == (
        "By days since the last completed order: Active <= 30 < Warm <= 60 < At Risk <= 120 "
        "< Dormant."
    )

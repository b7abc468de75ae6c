"""The SQL model files (goodpulse_dagster/models) and the engine that runs them."""

from datetime import date
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest

from goodpulse_dagster import engine, schema

LAYER_TABLES = {
    "gold": {**schema.GOLD_TABLES, **schema.PREDICTION_GOLD_TABLES},
    "kpi": {**schema.KPI_TABLES, **schema.PREDICTION_KPI_TABLES},
}


def _table_of(model: str) -> str:
    """``customer_predictions__summary`` -> ``customer_predictions``: a step belongs to its table."""
    return model.split("__", 1)[0]


@pytest.mark.parametrize("layer", sorted(LAYER_TABLES))
def test_every_table_has_exactly_one_model_and_every_model_belongs_to_a_table(layer):
    models = engine.model_names(layer)
    table_models = sorted(m for m in models if "__" not in m)
    assert table_models == sorted(LAYER_TABLES[layer])
    assert {_table_of(m) for m in models} <= set(LAYER_TABLES[layer])


@pytest.mark.parametrize("layer", sorted(LAYER_TABLES))
def test_every_table_model_starts_with_a_comment_naming_its_table(layer):
    for table in LAYER_TABLES[layer]:
        text = (engine.MODELS_DIR / layer / f"{table}.sql").read_text(encoding="utf-8")
        assert text.startswith(f"-- {layer}.{table}"), table
        for part in ("Grain:", "Inputs:", "Parameters:"):
            assert part in text, (table, part)


def test_every_include_exists_and_every_shared_file_is_used():
    shared = set(engine.model_names(engine.SHARED)) - {"macros"}
    included = set()
    for path in engine.MODELS_DIR.glob("*/*.sql"):
        included |= set(engine._INCLUDE.findall(path.read_text(encoding="utf-8")))
    assert included == shared
    for layer in LAYER_TABLES:
        for model in engine.model_names(layer):
            assert "-- include:" not in engine.model_sql(f"{layer}/{model}")


def test_models_are_plain_sql_without_python_formatting():
    for path in engine.MODELS_DIR.glob("*/*.sql"):
        text = path.read_text(encoding="utf-8")
        assert "{" not in text and "}" not in text, path.name


def test_a_missing_model_is_named():
    with pytest.raises(KeyError, match="gold/no_such_table"):
        engine.model_sql("gold/no_such_table")


def test_parameters_named_only_in_comments_are_not_bound():
    sql = "-- uses $a\nSELECT $b AS b"
    assert engine.used_params(sql, {"a": 1, "b": 2}) == {"b": 2}


@pytest.mark.parametrize(
    ("first_day", "last_day", "complete"),
    [
        (date(2018, 1, 1), date(2018, 1, 31), True),  # the data covers every day of January
        (date(2018, 1, 1), date(2018, 1, 30), False),  # ends on the 30th
        (date(2018, 1, 2), date(2018, 3, 31), False),  # starts on the 2nd
        (None, None, False),  # no data: FALSE, not NULL
    ],
)
def test_period_is_complete_macro(first_day, last_day, complete):
    result = engine.run_sql(
        "SELECT period_is_complete(DATE '2018-01-01', 1, $first::DATE, $last::DATE) AS c",
        {},
        {"first": first_day, "last": last_day},
    )
    assert result.column("c").to_pylist() == [complete]


def test_value_segment_and_churn_risk_macros_take_the_lower_cut_inclusively():
    result = engine.run_sql(
        "SELECT value_segment_of(x, [10.0, 20.0, 30.0], 'L', 'M', 'H', 'V') AS segment, "
        "churn_risk_of(x / 40, 0.25, 0.5, 'High', 'Medium', 'Low') AS risk "
        "FROM (SELECT unnest([9.99, 10, 20, 30]) AS x) ORDER BY x",
        {},
    )
    assert result.column("segment").to_pylist() == ["L", "M", "H", "V"]
    # 9.99 / 40 < 0.25; 10 / 40 = 0.25 is not below it; 20 / 40 = 0.5 is not below 0.5.
    assert result.column("risk").to_pylist() == ["High", "Medium", "Low", "Low"]


def _unified_rows() -> dict[str, list]:
    """Two customer_unified_lifecycle rows, every column filled (values by column type)."""
    samples = {
        "VARCHAR": ["a", "b"],
        "DOUBLE": [1.5, 2.5],
        "BIGINT": [1, 2],
        "BOOLEAN": [True, False],
        "DATE": [date(2018, 1, 1), date(2018, 2, 1)],
        "TIMESTAMP": [pd.Timestamp("2018-01-01 10:00"), pd.Timestamp("2018-02-01 11:00")],
        schema.MONEY: [Decimal("10.25"), Decimal("0.50")],
    }
    return {c: samples[t] for c, t in schema.CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS.items()}


def test_the_customer_360_projection_is_the_same_from_arrow_and_through_duckdb():
    unified = pa.table(
        _unified_rows(), schema=engine.arrow_schema(schema.CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS)
    )
    columns = schema.CUSTOMER_360_COLUMNS
    from_arrow = engine.run_model(
        "gold/customer_360", {"customer_unified_lifecycle": unified}, {}, columns
    )
    # A DataFrame input is not Arrow: the engine runs the SELECT in DuckDB.
    via_duckdb = engine.run_model(
        "gold/customer_360", {"customer_unified_lifecycle": unified.to_pandas()}, {}, columns
    )
    assert from_arrow.column_names == list(columns)
    assert from_arrow.equals(via_duckdb)
    assert from_arrow.column("customer_unique_id").to_pylist() == ["a", "b"]


def test_a_model_must_return_its_declared_columns_in_order():
    unified = pa.table(
        _unified_rows(), schema=engine.arrow_schema(schema.CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS)
    )
    wrong = {"segment_label": "VARCHAR", **schema.CUSTOMER_360_COLUMNS}
    with pytest.raises(ValueError, match="gold/customer_360"):
        engine.run_model("gold/customer_360", {"customer_unified_lifecycle": unified}, {}, wrong)


def test_one_type_mapping_integer_is_32_bit_and_no_gold_or_kpi_table_declares_it():
    # Source and silver INTEGER columns are int32 (DuckDB's INTEGER); the gold, KPI and prediction
    # tables declare every integer BIGINT, so all their integers are int64.
    assert engine.arrow_type(schema.INTEGER) == pa.int32()
    assert engine.arrow_type(schema.MONEY) == pa.decimal128(18, 2)
    for tables in LAYER_TABLES.values():
        for name, columns in tables.items():
            types = set(engine.arrow_schema(columns).types)
            assert pa.int32() not in types, name

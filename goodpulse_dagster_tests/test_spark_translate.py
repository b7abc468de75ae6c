"""The SQLGlot lint of issue 16/18: every model file translates to Spark SQL, with no exception
left unexplained, and each rewrite of ``spark/dialect.py`` does what its hand example says.

No Spark is needed here: the translated SQL is parsed in SQLGlot's Spark dialect. Running the
models on Spark, and comparing their tables with DuckDB's, is test_spark_portability.py.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest
import sqlglot

from goodpulse_dagster import engine, schema
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.spark import dialect
from goodpulse_dagster.spark.translate import (
    TranslationError,
    inline_macros,
    spark_sql,
    translate_sql,
)
from goodpulse_dagster.sql_params import label_params, metric_sql_params

# A value for every $parameter any model names, of the type its builder binds (the lint binds
# them as the transforms would; the values themselves do not matter to a translation).
SAMPLE_PARAMS: dict[str, object] = {
    **label_params(),
    **metric_sql_params(MetricParams()),
    "as_of": dt.date(2018, 9, 1),
    "cut": dt.date(2018, 3, 5),
    "until": dt.date(2018, 9, 1),
    "holdout_end": dt.date(2018, 9, 1),
    "holdout_days": 180,
    "canceled_status": "canceled",
    "bucket_labels": list(schema.DELIVERY_BUCKETS),
    "bucket_orders": list(range(1, len(schema.DELIVERY_BUCKETS) + 1)),
    "bucket_lows": [0, 4, 8, 15, 22, 31],
    "gg_ok": True,
    "gg_p": 2.5,
    "gg_q": 3.5,
    "gg_v": 10.0,
    "mean_value": 120.0,
    "low_risk": "Low",
    "medium_risk": "Medium",
    "high_risk": "High",
    "high_below": 0.3,
    "medium_below": 0.6,
    "is_latest": True,
    "converged": True,
    "mbg_name": "MBG/NBD",
    "naive_name": "Naive baseline",
    "max_line_amount": 1_000_000.0,
}

# Models translated and linted but NOT run on Spark, each with its reason. Every other model of
# models/ runs on Spark in test_spark_portability.py (spark/layers.py).
NOT_RUN_ON_SPARK: dict[str, str] = {
    **{
        f"silver/{name}": (
            "silver's standardising step: silver/rules.py runs it per quarter inside the DuckDB "
            "bronze/silver step, between the Python quarantine rules (duplicates, keys, orphans, "
            "values); the bronze parsing it follows is per file, which Dagster fans out per "
            "quarter across workers, so that step stays on DuckDB"
        )
        for name in engine.model_names("silver")
    },
}

# DuckDB-only spellings that must not survive a translation (each is a rewrite of dialect.py or
# a construct SQLGlot translates).
DUCKDB_ONLY = re.compile(
    r"\b(LIST_POSITION|LIST_CONTAINS|QUANTILE_CONT|PERCENTILE_CONT|TO_MONTHS|ISFINITE|INT128|"
    r"HUGEINT|GENERATE_SUBSCRIPTS|UNNEST|ARG_MIN|ARG_MAX|QUALIFY|RENAME|EXCLUDE|"
    r"NOT MATERIALIZED|DISTINCT ON)\b|\$\w|\* REPLACE",
    re.IGNORECASE,
)


def _all_models() -> list[str]:
    return [
        f"{layer}/{n}" for layer in ("silver", "gold", "kpi") for n in engine.model_names(layer)
    ]


def _code(sql: str) -> str:
    """The SQL without its comments (a model's header names its $parameters)."""
    return re.sub(r"/\*.*?\*/", "", sql, flags=re.DOTALL)


@pytest.mark.parametrize("model", _all_models())
def test_every_model_translates_to_spark_sql_that_parses(model):
    spark = spark_sql(model, SAMPLE_PARAMS)
    sqlglot.parse_one(spark, read="spark")  # raises on SQL Spark's dialect cannot read
    leftover = DUCKDB_ONLY.findall(_code(spark))
    assert not leftover, f"{model} keeps DuckDB-only constructs {leftover}:\n{spark}"


def test_the_allow_list_names_real_models_and_the_rest_run_on_spark():
    models = set(_all_models())
    assert set(NOT_RUN_ON_SPARK) <= models
    run = models - set(NOT_RUN_ON_SPARK)
    # Every gold and KPI model (tables, their steps, the prediction steps) runs on Spark.
    assert {m.split("/")[0] for m in run} == {"gold", "kpi"}
    assert len(run) == len(engine.model_names("gold")) + len(engine.model_names("kpi"))


def test_an_unbound_parameter_is_an_error_naming_it():
    with pytest.raises(
        TranslationError, match=r"model kpi/northstar: parameter \$\w+ is not bound"
    ):
        spark_sql("kpi/northstar", {})


# --- parameters and macros -----------------------------------------------------------------------


def test_parameters_become_literals_of_their_type():
    sql = translate_sql(
        "SELECT $d AS d, $l AS l, $s AS s, $b AS b, $n AS n, $f AS f",
        {"d": dt.date(2018, 1, 2), "l": ["a", "b"], "s": "it's", "b": False, "n": None, "f": 0.5},
    )
    assert _flat(sql) == (
        "SELECT CAST('2018-01-02' AS DATE) AS d, ARRAY('a', 'b') AS l, 'it\\'s' AS s, "
        "FALSE AS b, NULL AS n, 0.5 AS f"
    )


def test_macros_are_inlined_with_their_arguments_and_spark_list_indexes():
    # value_segment_of(revenue, cuts, ...): DuckDB's cuts[1] is Spark's cuts[0].
    tree = sqlglot.parse_one(
        "SELECT value_segment_of(x + 1, c.q, 'L', 'M', 'H', 'V') AS v FROM t", read="duckdb"
    )
    assert _flat(inline_macros(tree).sql("spark")) == (
        "SELECT CASE WHEN (x + 1) < c.q[0] THEN 'L' WHEN (x + 1) < c.q[1] THEN 'M' "
        "WHEN (x + 1) < c.q[2] THEN 'H' ELSE 'V' END AS v FROM t"
    )
    # A macro calling a macro: clean_lower(v) = lower(clean_text(v)) = lower(nullif(trim(v), '')).
    tree = sqlglot.parse_one("SELECT clean_lower(city) AS c FROM t", read="duckdb")
    assert _flat(inline_macros(tree).sql("spark")) == (
        "SELECT LOWER(NULLIF(TRIM(city), '')) AS c FROM t"
    )


# --- the dialect rewrites, one hand example each --------------------------------------------------


def _flat(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).replace("( ", "(").replace(" )", ")").strip()


def _spark(duckdb_sql: str, step) -> str:
    return _flat(step(sqlglot.parse_one(duckdb_sql, read="duckdb")).sql("spark"))


def test_list_position_is_null_for_an_absent_label():
    assert _spark("SELECT list_position(['a', 'b'], x) FROM t", dialect.list_position) == (
        "SELECT NULLIF(ARRAY_POSITION(ARRAY('a', 'b'), x), 0) FROM t"
    )


def test_quantiles_are_spark_exact_percentile():
    assert _spark("SELECT quantile_cont(x, [0.2, 0.8]) FROM t", dialect.exact_quantiles) == (
        "SELECT PERCENTILE(x, ARRAY(0.2, 0.8)) FROM t"
    )


def test_to_months_is_a_year_month_interval():
    assert _spark("SELECT d + to_months(3) FROM t", dialect.month_intervals) == (
        "SELECT d + MAKE_YM_INTERVAL(0, 3) FROM t"
    )


def test_isfinite_is_not_nan_and_not_infinite():
    assert _spark("SELECT isfinite(x) FROM t", dialect.finite_test) == (
        "SELECT (NOT ISNAN(x) AND ABS(x) < CAST('Infinity' AS DOUBLE)) FROM t"
    )


def test_hugeint_is_decimal_38_0():
    assert _spark("SELECT x::HUGEINT FROM t", dialect.hugeint) == (
        "SELECT CAST(x AS DECIMAL(38, 0)) FROM t"
    )


def test_date_diff_by_a_unit_column_counts_boundaries_as_duckdb():
    spark = _spark("SELECT date_diff(g.grain, a, b) AS n FROM g", dialect.column_unit_date_diff)
    assert "CASE LOWER(g.grain) WHEN 'year'" in spark and "DATEDIFF(DAY" not in spark
    # Run the Spark expression back in DuckDB (read as Spark SQL): 2017-11-15 -> 2018-02-01 is
    # 3 month boundaries, 1 quarter boundary (Q4 -> Q1), 1 year boundary, 78 days.
    back = sqlglot.transpile(spark, read="spark", write="duckdb")[0]
    rows = duckdb.sql(
        f"WITH g AS (SELECT grain, DATE '2017-11-15' AS a, DATE '2018-02-01' AS b FROM "
        f"(VALUES ('month'), ('quarter'), ('year'), ('day')) v(grain)) {back}"
    ).fetchall()
    assert [r[0] for r in rows] == [3, 1, 1, 78]


def test_literal_unnests_side_by_side_are_values_rows():
    sql = "SELECT unnest(['a', 'b']) AS v, generate_subscripts(['a', 'b'], 1) AS o"
    assert _spark(sql, dialect.literal_unnests) == (
        "SELECT * FROM VALUES ('a', 1), ('b', 2) AS t(v, o)"
    )


def test_a_generator_inside_an_expression_moves_into_transform():
    assert _spark("SELECT unnest([1, 2]) + 10 AS y FROM t", dialect.nested_generators) == (
        "SELECT EXPLODE(TRANSFORM(ARRAY(1, 2), _element -> _element + 10)) AS y FROM t"
    )


def test_an_interval_range_excludes_its_end():
    sql = "SELECT range(a, b, INTERVAL 3 MONTH) AS r FROM t"
    assert _spark(sql, dialect.interval_ranges) == (
        "SELECT FILTER(SEQUENCE(a, b, INTERVAL '3' MONTH), _t -> _t < b) AS r FROM t"
    )


def test_star_replace_and_rename_are_except_plus_the_new_column():
    assert _spark("SELECT * REPLACE (1 AS b) FROM t", dialect.star_modifiers) == (
        "SELECT * EXCEPT (b), 1 AS b FROM t"
    )
    assert _spark("SELECT * EXCLUDE (x) RENAME (c AS d) FROM t", dialect.star_modifiers) == (
        "SELECT * EXCEPT (x, c), c AS d FROM t"
    )


def test_not_materialized_hint_is_dropped():
    sql = "WITH c AS NOT MATERIALIZED (SELECT 1 AS a) SELECT a FROM c"
    assert _spark(sql, dialect.plain_ctes) == "WITH c AS (SELECT 1 AS a) SELECT a FROM c"


def test_epoch_of_an_interval_is_its_seconds_from_microseconds():
    """The lifecycle's delivery_days: 2018-01-02 12:00 - 2018-01-01 00:00 is 129,600 s (1.5
    days); Spark gets it from the two timestamps' microseconds, not unix_timestamp(interval)."""
    sql = "SELECT epoch(a - b) / 86400.0 FROM t"
    spark = translate_sql(sql)
    assert "unix_timestamp" not in spark.lower()
    assert spark.count("UNIX_MICROS(CAST(") == 2, spark
    duck = duckdb.sql(
        "SELECT epoch(TIMESTAMP '2018-01-02 12:00:00' - TIMESTAMP '2018-01-01 00:00:00') / 86400.0"
    ).fetchall()[0][0]
    assert duck == 1.5

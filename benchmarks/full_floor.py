"""The full-analysis floor: the whole METRICS.md analysis as plain DuckDB SQL from the raw CSVs,
in one process and one DuckDB database, without Dagster, the lake or the checks (issue 17).

    python benchmarks/full_floor.py RAW_DIR DATABASE RESULT_JSON [--check-warehouse FILE]

``run_benchmark.py`` runs it as a child process (so its peak RSS is measured like the run's),
with the same memory budget as the run (``memory_budget.in_force``: GOODPULSE_MEMORY_LIMIT,
GOODPULSE_THREADS, GOODPULSE_TEMP_DIR). The floor runs the project's own SQL; nothing here is
analysis SQL of its own:

1. **bronze**: one view per source CSV, ``read_csv`` with the columns typed as declared in
   ``schema.SOURCE_TABLES`` (the table's file name as ``_source_file``, one ingestion time).
   An order takes the quarter of its purchase time as ``_partition``; an item, payment or
   review its order's (an inner join: a row of an unknown order has no quarter, as in bronze).
2. **silver**: each source table's standardising model (``models/silver/<table>.sql``), then
   what the silver rules do to the data (``silver/rules.py``): one row per primary key, ranked
   as ``Cleaner.resolve_keys`` ranks them (exact duplicates and duplicate keys collapse to the
   first; reviews keep the latest answered), rows with an empty key or an unknown reference
   (``schema.silver_references``) left out. Products end with
   ``silver/products__english_category``. The quarantine tables, the counts and the value
   rules (invalid keys, non-finite or negative amounts, scores out of range) are left out:
   that is bookkeeping of rows the generated data does not have. ``silver.geolocation`` is
   left out too: no gold or KPI table reads it. Then ``silver/unified_user_lifecycle``.
3. **gold, predictions, KPI**: the transforms' own functions (gold/transforms.py,
   predictions/transforms.py, kpi/transforms.py), in the order the assets run, inside
   ``engine.use_connection`` so every model runs in this database: customer_360 and
   customer_unified_lifecycle, and customer_predictions, are written with ``CREATE TABLE AS``
   in place (``create_customer_tables``, ``create_customer_predictions``); every smaller table
   is built by its ``build_*`` function and kept with ``CREATE TABLE ... AS`` its result.

The result JSON holds the seconds of each phase, the row count of every table, and the figures
``run_benchmark.py`` compares with the pipeline's warehouse (customers, total revenue, the
northstar row).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(HERE.parent))

import duckdb  # noqa: E402

from goodpulse_dagster import memory_budget, schema  # noqa: E402
from goodpulse_dagster.engine import Relation, install_macros, model_sql, use_connection  # noqa: E402
from goodpulse_dagster.schema import (  # noqa: E402
    INGESTED_AT_COLUMN,
    PARTITION_COLUMN,
    SOURCE_FILE_COLUMN,
    SOURCE_TABLES,
    silver_columns,
    silver_references,
    silver_table_columns,
)
from goodpulse_dagster.silver.cleaning import (  # noqa: E402
    LATEST_REVIEW_FIRST,
    LIFECYCLE_INPUTS,
    LIFECYCLE_STEPS,
)
from goodpulse_dagster.sql_helpers import quote_ident, quote_literal  # noqa: E402

SILVER_SCHEMA = schema.SILVER
# The silver tables the analysis reads, parents before the tables that reference them (orders
# before the order-grain tables, which take their quarter from it).
SILVER_ORDER = (
    "customers",
    "sellers",
    "category_translation",
    "products",
    "marketing_qualified_leads",
    "closed_deals",
    "orders",
    "order_items",
    "order_payments",
    "order_reviews",
)
# One ingestion time for every file (the pipeline stamps each file's; one file per table here).
INGESTED_AT = datetime(2000, 1, 1)
# The table the silver rules order reviews by (the latest answered first), by name.
KEY_ORDER = {"order_reviews": LATEST_REVIEW_FIRST}


# --- bronze: the CSVs as typed views ---------------------------------------------------------------


def bronze_sql(table_name: str, raw: Path) -> str:
    """A SELECT of one raw CSV with its declared column types and the bronze extra columns."""
    table = SOURCE_TABLES[table_name]
    types = ", ".join(f"{quote_literal(c)}: '{t}'" for c, t in table.columns.items())
    path = quote_literal(str(raw / table.file_name))
    source = quote_literal(table.file_name)
    read = (
        f"read_csv({path}, columns = {{{types}}}, header = true, auto_detect = false, "
        "delim = ',', quote = '\"', escape = '\"')"
    )
    ingestion = (
        f"{source} AS {SOURCE_FILE_COLUMN}, "
        f"TIMESTAMP '{INGESTED_AT:%Y-%m-%d %H:%M:%S}' AS {INGESTED_AT_COLUMN}"
    )
    if table_name == "orders":
        # The quarter of the purchase time; an order without one has no quarter (unroutable).
        return (
            f"SELECT *, date_trunc('quarter', order_purchase_timestamp)::DATE AS "
            f"{PARTITION_COLUMN}, {ingestion} FROM {read} "
            "WHERE order_purchase_timestamp IS NOT NULL"
        )
    if table.references_orders:
        # The quarter of the row's order; a row of an unknown order has none (bronze's orphan).
        return (
            f"SELECT src.*, o.{PARTITION_COLUMN}, {ingestion} FROM {read} AS src "
            f"JOIN {SILVER_SCHEMA}.orders AS o USING (order_id)"
        )
    return f"SELECT *, {ingestion} FROM {read}"


# --- silver: the standardising models and one row per key ----------------------------------------


def silver_sql(table_name: str) -> str:
    """The silver rows of a source table from the view ``bronze``: its model's standardised rows,
    one per primary key (the first as ``Cleaner.resolve_keys`` ranks them), without empty keys
    or unknown references."""
    table = SOURCE_TABLES[table_name]
    keys = [quote_ident(table.silver_renames.get(c, c)) for c in table.primary_key]
    data = [quote_ident(c) for c in silver_columns(table)]
    if table.partitioned:
        data.append(PARTITION_COLUMN)
    ranking = KEY_ORDER.get(
        table_name, f"{INGESTED_AT_COLUMN} DESC, {SOURCE_FILE_COLUMN} DESC, {', '.join(data)}"
    )
    keep = [f"{k} IS NOT NULL" for k in keys]
    for column, parent in silver_references(table_name).items():
        parent_key = quote_ident(SOURCE_TABLES[parent].primary_key[0])
        c = quote_ident(column)
        keep.append(f"({c} IS NULL OR {c} IN (SELECT {parent_key} FROM {SILVER_SCHEMA}.{parent}))")
    return f"""
        SELECT {", ".join(data)} FROM (
            SELECT * FROM ({model_sql(f"silver/{table_name}")}) AS standardised
            QUALIFY row_number() OVER (PARTITION BY {", ".join(keys)} ORDER BY {ranking}) = 1
        ) AS ranked
        WHERE {" AND ".join(keep)}
    """


def _cast(sql: str, columns: dict[str, str]) -> str:
    """``sql`` with exactly the declared columns, in order and types."""
    casts = ", ".join(
        f"CAST({quote_ident(c)} AS {t}) AS {quote_ident(c)}" for c, t in columns.items()
    )
    return f"SELECT {casts} FROM ({sql}) AS result"


def build_silver(con: duckdb.DuckDBPyConnection, raw: Path) -> None:
    """Every silver table the analysis reads, then silver.unified_user_lifecycle."""
    for name in SILVER_ORDER:
        con.execute(f"CREATE OR REPLACE TEMP VIEW bronze AS {bronze_sql(name, raw)}")
        rows = silver_sql(name)
        if name == "products":
            # The last step of silver.products reads the kept rows and the translations.
            con.execute(f"CREATE OR REPLACE TEMP TABLE kept AS {rows}")
            con.execute(
                "CREATE OR REPLACE TEMP VIEW translation AS "
                f"SELECT * FROM {SILVER_SCHEMA}.category_translation"
            )
            rows = model_sql("silver/products__english_category")
        con.execute(
            f"CREATE OR REPLACE TABLE {SILVER_SCHEMA}.{name} AS "
            + _cast(rows, silver_table_columns(name))
        )
    con.execute("DROP TABLE IF EXISTS kept")
    # The lifecycle's models name their inputs by their short names.
    inputs = LIFECYCLE_INPUTS
    for short, table in inputs.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {short} AS SELECT * FROM {SILVER_SCHEMA}.{table}")
    lifecycle = schema.LIFECYCLE
    # Its steps first, as silver/cleaning.py runs them (each a temporary table named after it).
    steps = [step.rsplit("__", 1)[-1] for step in LIFECYCLE_STEPS]
    for step, name in zip(LIFECYCLE_STEPS, steps, strict=True):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {model_sql(step)}")
    con.execute(
        f"CREATE OR REPLACE TABLE {SILVER_SCHEMA}.{lifecycle} AS "
        + _cast(model_sql(f"silver/{lifecycle}"), silver_table_columns(lifecycle))
    )
    for name in steps:
        con.execute(f"DROP TABLE {name}")
    for short in inputs:
        con.execute(f"DROP VIEW {short}")


# --- gold, predictions, KPI: the transforms, in this database ----------------------------------


def _table(layer: str, name: str) -> Relation:
    return Relation(f"SELECT * FROM {layer}.{name}")


def _keep(con: duckdb.DuckDBPyConnection, layer: str, name: str, frame) -> None:
    """A small table a ``build_*`` function returned, kept as ``layer.name``."""
    con.register("_built", frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {layer}.{name} AS SELECT * FROM _built")
    finally:
        con.unregister("_built")


def build_gold(con: duckdb.DuckDBPyConnection, params) -> None:
    """gold/assets.py's order: the customer tables (in place), then segmentation and cohorts."""
    from goodpulse_dagster.gold.transforms import (
        SEGMENTATION_INPUT_COLUMNS,
        build_cohort_retention,
        build_customer_segmentation,
        create_customer_tables,
    )

    lifecycle = _table(SILVER_SCHEMA, schema.LIFECYCLE)
    create_customer_tables(
        lifecycle,
        _table(SILVER_SCHEMA, "closed_deals"),
        _table(SILVER_SCHEMA, "marketing_qualified_leads"),
        _table(SILVER_SCHEMA, "sellers"),
        params,
    )
    columns = ", ".join(SEGMENTATION_INPUT_COLUMNS)
    c360 = Relation(f"SELECT {columns} FROM {schema.GOLD}.customer_360")
    _keep(con, schema.GOLD, "customer_segmentation", build_customer_segmentation(c360))
    _keep(con, schema.GOLD, "cohort_retention", build_cohort_retention(lifecycle, params))


def build_predictions(con: duckdb.DuckDBPyConnection, params) -> None:
    """predictions/assets.py: customer_predictions (in place), then the three prediction KPIs."""
    from goodpulse_dagster.predictions.transforms import (
        EARLY_WARNING_CUSTOMER_360_COLUMNS,
        PREDICTIONS_CUSTOMER_360_COLUMNS,
        build_churn_risk_monitor,
        build_early_warning,
        build_prediction_backtest,
        create_customer_predictions,
    )

    lifecycle = _table(SILVER_SCHEMA, schema.LIFECYCLE)

    def c360(columns) -> Relation:
        return Relation(f"SELECT {', '.join(columns)} FROM {schema.GOLD}.customer_360")

    create_customer_predictions(lifecycle, c360(PREDICTIONS_CUSTOMER_360_COLUMNS), params)
    kpi = schema.KPI
    _keep(con, kpi, "prediction_backtest", build_prediction_backtest(lifecycle, params).table)
    _keep(con, kpi, "churn_risk_monitor", build_churn_risk_monitor(lifecycle, params).table)
    early = build_early_warning(
        _table(schema.GOLD, "customer_predictions"), c360(EARLY_WARNING_CUSTOMER_360_COLUMNS)
    )
    _keep(con, kpi, "early_warning", early)


def build_kpis(con: duckdb.DuckDBPyConnection, params) -> None:
    """kpi/assets.py: the twelve KPI tables from customer_360 (the columns the KPIs read), the
    lifecycle and the cohorts."""
    from goodpulse_dagster.kpi.transforms import KPI_CUSTOMER_360_COLUMNS, build_all_kpis

    columns = ", ".join(KPI_CUSTOMER_360_COLUMNS)
    tables = build_all_kpis(
        Relation(f"SELECT {columns} FROM {schema.GOLD}.customer_360"),
        _table(SILVER_SCHEMA, schema.LIFECYCLE),
        _table(schema.GOLD, "cohort_retention"),
        params,
    )
    for name, frame in tables.items():
        _keep(con, schema.KPI, name, frame)


# --- the whole floor ---------------------------------------------------------------------------------


def connect(database: Path) -> duckdb.DuckDBPyConnection:
    """A fresh database file with the run's memory budget, the macros and the layer schemas."""
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    memory_budget.in_force().apply(con)
    install_macros(con)
    for layer in (SILVER_SCHEMA, schema.GOLD, schema.KPI):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    return con


def run_floor(raw: Path, database: Path) -> dict:
    """Build every silver table the analysis reads and every gold and KPI table in ``database``;
    the seconds of each phase and the rows of every table."""
    from goodpulse_dagster.settings import metric_params_from_env

    params = metric_params_from_env()
    phases: dict[str, float] = {}
    started = time.perf_counter()
    con = connect(database)
    try:
        with use_connection(con):
            for phase, build in (
                ("silver", lambda: build_silver(con, raw)),
                ("gold", lambda: build_gold(con, params)),
                ("predictions", lambda: build_predictions(con, params)),
                ("kpi", lambda: build_kpis(con, params)),
            ):
                t0 = time.perf_counter()
                build()
                phases[phase] = round(time.perf_counter() - t0, 2)
                print(f"floor: {phase} {phases[phase]} s", flush=True)
        rows = {
            f"{s}.{t}": con.execute(f"SELECT count(*) FROM {s}.{t}").fetchone()[0]
            for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL"
            ).fetchall()
        }
        seconds = round(time.perf_counter() - started, 2)
        return {"seconds": seconds, "phases": phases, "rows": rows, **comparable_figures(con)}
    finally:
        con.close()


def comparable_figures(con: duckdb.DuckDBPyConnection) -> dict:
    """customers and total revenue of gold.customer_360, and the kpi.northstar row (as text, so
    two databases' rows compare exactly): the same query on the floor and on the warehouse."""
    customers, revenue = con.execute(
        f"SELECT count(*), sum(lifetime_revenue)::VARCHAR FROM {schema.GOLD}.customer_360"
    ).fetchone()
    cursor = con.execute(f"SELECT * FROM {schema.KPI}.northstar")
    names = [d[0] for d in cursor.description]
    northstar = [dict(zip(names, (str(v) for v in row), strict=True)) for row in cursor.fetchall()]
    return {"customers": customers, "revenue": revenue, "northstar": northstar}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path, help="the raw CSVs (full layout)")
    parser.add_argument("database", type=Path, help="the DuckDB file the floor writes")
    parser.add_argument("result", type=Path, help="where the result JSON goes")
    args = parser.parse_args(argv)
    print(memory_budget.in_force().describe(), flush=True)
    result = run_floor(args.raw.resolve(), args.database)
    args.result.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

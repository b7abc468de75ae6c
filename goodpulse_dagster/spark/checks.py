"""The checks of the Spark assets: the same check names on the same asset keys as the DuckDB
ones (names, descriptions and blocking taken from them), so the UI shows the same checks
whichever engine runs.

On Spark, as Spark SQL aggregates over the lake (only counts and a few sample keys reach the
driver, never a table):

- ``primary_key`` of every gold and prediction table (the key of its table spec), and of silver
  unified_user_lifecycle with its ``rows_reconcile`` (one row per silver order, per quarter of
  the run);
- the reconciliations: customer_360 against silver (``reconciles_with_silver``) and kpi.northstar
  across the layers (``reconciles_across_layers``).

In DuckDB, over the warehouse views: the rate and share rules (``rates_in_range``,
``shares_sum_to_one``, ``retention_valid``, the prediction ranges) of tables of a few hundred
rows, except customer-grain ones read in place through the view, and the two WARN checks of the
predictions (the fit's metadata; the churn monitor's trend), which are engine-independent.
"""

from collections.abc import Sequence
from decimal import Decimal

from dagster import AssetCheckExecutionContext, AssetCheckKey, AssetKey, multi_asset_check

from goodpulse_dagster import schema
from goodpulse_dagster.gold.checks import (
    CUSTOMER_360_KEY,
    customer_360_reconciles_with_silver,
    gold_rules,
)
from goodpulse_dagster.kpi.checks import (
    NORTHSTAR_KEY,
    kpi_rules,
    northstar_reconciles_across_layers,
)
from goodpulse_dagster.predictions.checks import (
    PREDICTION_RULES,
    churn_risk_not_rising,
    predictions_fit_converged,
)
from goodpulse_dagster.quality.checks import Outcome, Rule, check_specs, frame_checks, to_result
from goodpulse_dagster.quality.rules import SAMPLE_SIZE, Finding
from goodpulse_dagster.resources.storage import AnalyticsSettings, LakeResource
from goodpulse_dagster.schema import GOLD, KPI, LIFECYCLE, PARTITION_COLUMN, SILVER
from goodpulse_dagster.silver.checks import silver_rules
from goodpulse_dagster.spark.lake import lake_root, lifecycle_folder, silver_objects
from goodpulse_dagster.spark.layers import table_path
from goodpulse_dagster.spark.session import SparkConnectResource

LIFECYCLE_KEY = AssetKey([SILVER, LIFECYCLE])
KEY_RULE = "primary_key"

# The rules of each warehouse table's DuckDB checks, by asset key.
TABLE_RULES: dict[AssetKey, list[Rule]] = {
    **{AssetKey([GOLD, t]): gold_rules(t) for t in schema.GOLD_TABLES},
    **{AssetKey([KPI, t]): kpi_rules(t) for t in schema.KPI_TABLES},
    **PREDICTION_RULES,
}


def _quoted(column: str) -> str:
    return f"`{column}`"


def spark_key_finding(spark, view: str, columns: Sequence[str]) -> Finding:
    """quality.rules.key_violations as Spark SQL over the view ``view``: rows, null keys, rows
    beyond the first of a repeated key, repeated keys, and up to SAMPLE_SIZE repeated keys."""
    keys = ", ".join(map(_quoted, columns))
    any_null = " OR ".join(f"{_quoted(c)} IS NULL" for c in columns)
    repeated = (
        f"SELECT {keys}, count(*) AS n FROM {view} WHERE NOT ({any_null}) "
        f"GROUP BY {keys} HAVING count(*) > 1"
    )
    row = spark.sql(
        f"""
        SELECT (SELECT count(*) FROM {view}) AS rows,
               (SELECT count(*) FROM {view} WHERE {any_null}) AS null_keys,
               (SELECT coalesce(sum(n - 1), 0) FROM ({repeated})) AS duplicate_rows,
               (SELECT count(*) FROM ({repeated})) AS duplicate_keys
        """
    ).collect()[0]
    text = ", ".join(
        f"concat('{c}=', coalesce(CAST({_quoted(c)} AS STRING), 'NULL'))" for c in columns
    )
    samples = spark.sql(
        f"SELECT concat_ws(', ', {text}) || ' (' || n || ' rows)' AS s FROM ({repeated}) "
        f"ORDER BY 1 LIMIT {SAMPLE_SIZE}"
    ).collect()
    counts = {
        name: int(row[name]) for name in ("rows", "null_keys", "duplicate_rows", "duplicate_keys")
    }
    return Finding(
        violations=counts["null_keys"] + counts["duplicate_rows"],
        counts=counts,
        samples=[r["s"] for r in samples],
    )


def _key_check(asset_key: AssetKey, rule: Rule):
    layer, table = asset_key.path
    columns = schema.table_spec(layer, table).primary_key

    @multi_asset_check(
        name=f"{layer}_{table}_spark_checks",
        specs=check_specs(asset_key, [rule], partitioned=False),
        description=f"The primary key of {asset_key.to_user_string()}, on Spark.",
    )
    def _check(
        context: AssetCheckExecutionContext, spark: SparkConnectResource, lake: LakeResource
    ):
        view = f"check_{layer}_{table}"
        spark.session.read.parquet(
            table_path(lake_root(lake), layer, table)
        ).createOrReplaceTempView(view)
        try:
            finding = spark_key_finding(spark.session, view, columns)
        finally:
            spark.session.catalog.dropTempView(view)
        yield to_result(AssetCheckKey(asset_key, rule.name), Outcome(finding), rule.description)

    return _check


# --- silver unified_user_lifecycle ----------------------------------------------------------------


def _partition_counts(spark, frame, keys: Sequence[str]) -> dict[str, int]:
    rows = (
        frame.where(f"{PARTITION_COLUMN} IN ({', '.join(f'DATE {k!r}' for k in keys)})")
        .groupBy(PARTITION_COLUMN)
        .count()
        .collect()
    )
    return {r[PARTITION_COLUMN].isoformat(): int(r["count"]) for r in rows}


def lifecycle_checks():
    """silver unified_user_lifecycle's primary_key and rows_reconcile, on Spark, over the
    quarters of the run (partitioned like the DuckDB checks)."""
    rules = {rule.name: rule for rule in silver_rules(LIFECYCLE)}

    @multi_asset_check(
        name=f"{SILVER}_{LIFECYCLE}_checks",
        specs=check_specs(LIFECYCLE_KEY, list(rules.values()), partitioned=True),
        can_subset=True,
        description=f"Data-quality checks of {LIFECYCLE_KEY.to_user_string()}, on Spark.",
    )
    def _checks(
        context: AssetCheckExecutionContext, spark: SparkConnectResource, lake: LakeResource
    ):
        session = spark.session
        keys = sorted(context.partition_keys)
        lifecycle = session.read.parquet(lifecycle_folder(lake))
        quarters = ", ".join(f"DATE '{k}'" for k in keys)
        lifecycle.where(f"{PARTITION_COLUMN} IN ({quarters})").createOrReplaceTempView(
            "check_lifecycle"
        )
        try:
            for check_key in sorted(context.selected_asset_check_keys, key=lambda k: k.name):
                rule = rules[check_key.name]
                if check_key.name == KEY_RULE:
                    finding = spark_key_finding(session, "check_lifecycle", ("order_id",))
                else:  # rows_reconcile: one lifecycle row per silver order, quarter by quarter
                    orders = session.read.parquet(*silver_objects(lake, "orders", keys))
                    expected = _partition_counts(session, orders, keys)
                    actual = _partition_counts(session, lifecycle, keys)
                    off = {
                        k: (expected.get(k, 0), actual.get(k, 0))
                        for k in expected.keys() | actual.keys()
                        if expected.get(k, 0) != actual.get(k, 0)
                    }
                    finding = Finding(
                        len(off),
                        {"expected_rows": sum(expected.values()), "rows": sum(actual.values())},
                        [f"{k}: expected {a}, found {b}" for k, (a, b) in sorted(off.items())][
                            :SAMPLE_SIZE
                        ],
                    )
                yield to_result(check_key, Outcome(finding), rule.description)
        finally:
            session.catalog.dropTempView("check_lifecycle")

    return _checks


# --- reconciliations ------------------------------------------------------------------------------


def _completed(statuses: Sequence[str]) -> str:
    return ", ".join("'" + s.replace("'", "''") + "'" for s in statuses)


def layer_totals(spark, lake: LakeResource, statuses: Sequence[str], northstar: bool) -> dict:
    """Customers, completed orders and completed revenue of silver, gold (customer_360) and,
    with ``northstar``, kpi.northstar: three one-row Spark aggregates."""
    root = lake_root(lake)
    spark.read.parquet(lifecycle_folder(lake)).createOrReplaceTempView("check_lifecycle")
    spark.read.parquet(table_path(root, GOLD, "customer_360")).createOrReplaceTempView("check_c360")
    queries = {
        "silver": "SELECT count(DISTINCT customer_unique_id) AS customers, count(*) AS orders, "
        "coalesce(sum(order_revenue), 0) AS revenue FROM check_lifecycle "
        f"WHERE order_status IN ({_completed(statuses)})",
        "gold": "SELECT count(*) AS customers, coalesce(sum(total_orders), 0) AS orders, "
        "coalesce(sum(lifetime_revenue), 0) AS revenue FROM check_c360",
    }
    if northstar:
        spark.read.parquet(table_path(root, KPI, "northstar")).createOrReplaceTempView("check_ns")
        queries["kpi"] = (
            "SELECT coalesce(sum(total_customers), 0) AS customers, "
            "coalesce(sum(total_orders), 0) AS orders, "
            "coalesce(sum(total_revenue), 0) AS revenue FROM check_ns"
        )
    try:
        return {layer: spark.sql(sql).collect()[0].asDict() for layer, sql in queries.items()}
    finally:
        for view in ("check_lifecycle", "check_c360", "check_ns"):
            spark.catalog.dropTempView(view)


def reconciliation_finding(layers: dict[str, dict]) -> Finding:
    """quality.rules.revenue_reconciliation's verdict on the layers' totals: every figure of
    gold (and kpi) equal to silver's, counts exactly, money to the cent."""
    cent = Decimal("0.01")
    figures = {
        layer: {
            n: Decimal(str(v)).quantize(cent) if n == "revenue" else int(v) for n, v in f.items()
        }
        for layer, f in layers.items()
    }
    counts: dict = {}
    samples = []
    for layer, values in figures.items():
        for name, value in values.items():
            counts[f"{layer}_{name}"] = float(value) if name == "revenue" else value
            if layer != "silver" and value != figures["silver"][name]:
                samples.append(f"{layer} {name} {value} != silver {figures['silver'][name]}")
    return Finding(len(samples), counts, samples)


def _reconciliation(duckdb_check, northstar: bool):
    spec = next(iter(duckdb_check.check_specs))

    @multi_asset_check(name=f"{duckdb_check.node_def.name}_spark", specs=[spec])
    def _check(
        context: AssetCheckExecutionContext,
        spark: SparkConnectResource,
        lake: LakeResource,
        analytics: AnalyticsSettings,
    ):
        totals = layer_totals(spark.session, lake, analytics.completed_statuses, northstar)
        yield to_result(spec.key, Outcome(reconciliation_finding(totals)), spec.description)

    return _check


def build_spark_checks() -> list:
    """Every check of the assets Spark builds (see the module doc for which engine runs which)."""
    checks = [lifecycle_checks()]
    for key, rules in TABLE_RULES.items():
        others = [r for r in rules if r.name != KEY_RULE]
        if others:
            # The DuckDB check's own name: a UI or a job selecting it finds it.
            checks.append(frame_checks(f"{key.path[0]}_{key.path[1]}_checks", key, others))
        checks += [_key_check(key, r) for r in rules if r.name == KEY_RULE]
    return [
        *checks,
        _reconciliation(customer_360_reconciles_with_silver, northstar=False),
        _reconciliation(northstar_reconciles_across_layers, northstar=True),
        predictions_fit_converged,
        churn_risk_not_rising,
    ]


# The asset keys whose DuckDB checks build_spark_checks replaces.
SPARK_CHECKED_KEYS = {LIFECYCLE_KEY, CUSTOMER_360_KEY, NORTHSTAR_KEY, *TABLE_RULES}

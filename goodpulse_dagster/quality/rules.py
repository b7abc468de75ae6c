"""Data-quality rules as pure functions: tables in, violation counts out.

A table is anything the engine binds (``engine.Input``): a lake dataset or a warehouse relation,
which DuckDB reads where it lies, or an Arrow table or DataFrame (the unit tests' rows). Each rule
is SQL, so a check never reads a lake table into Python.

The asset checks in each layer's ``checks.py`` are thin wrappers around these: they load the
partitions a run materialized, call one function, and turn the ``Finding`` into an
``AssetCheckResult``. Keeping the rules here (no Dagster) means each one is unit-tested on a
three-row table, and the docs, the checks and the tests share one definition of "violation".

Every function counts; none raises on bad data. NULLs are not violations of a value rule (a
missing value is the business of the key and reference rules), and a share or rate that is NULL
because its denominator is 0 is not a violation either (METRICS.md: such figures are NULL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from goodpulse_dagster.engine import arrow_schema
from goodpulse_dagster.schema import (
    GEOLOCATION,
    INGESTED_AT_COLUMN,
    ORDER_REVIEWS,
    ORDERS,
    PARTITION_COLUMN,
    SOURCE_FILE_COLUMN,
    SOURCE_TABLES,
    TIMESTAMP,
)
from goodpulse_dagster.silver import rules as silver_rules
from goodpulse_dagster.sql_helpers import quote_ident, quote_literal, run_sql, unknown_keys_sql

# How many offending values a finding lists (metadata stays readable in the UI).
SAMPLE_SIZE = 5
# Shares of one population sum to 1 within this tolerance (floating-point sums of many terms).
SHARE_TOLERANCE = 1e-9
# Money is exact (DECIMAL(18,2)): totals reconcile to the cent, i.e. they are equal. The tolerance
# is kept for callers that compare floats of money (half a cent).
CENT_TOLERANCE = 0.005

# review_score is a 1-5 star rating (silver quarantines a score outside it: REVIEW_SCORE_RANGE is
# imported from silver/rules.py, so the rule and its check share one definition).
REVIEW_SCORE_RANGE = silver_rules.REVIEW_SCORE_RANGE

SEVERITY_WARN = "WARN"
SEVERITY_ERROR = "ERROR"

# Order timestamps that must not precede the purchase (METRICS.md: purchase time is the order's
# time). The carrier hand-over is left out on purpose: the real export has a few carrier dates
# before the purchase (seller-side clock), which are not errors of the order.
PURCHASE_TIME = "order_purchase_timestamp"
NOT_BEFORE_PURCHASE = ("order_approved_at", "order_delivered_customer_date")
# Timestamps that are promises, not events: they may lie after the ingestion time.
FUTURE_TIMESTAMPS = frozenset({"order_estimated_delivery_date"})

# Share columns that are a headline figure, not part of a distribution that sums to 1.
HEADLINE_SHARE_COLUMNS = frozenset({"top_n_revenue_share"})
# Populations whose shares sum to 1 separately: table -> SQL grouping expressions. Tables not
# listed form one population. channel_revenue holds channel totals (value_segment NULL) and
# channel x segment cells, each set a full split of the grand total; health_by_value shares are
# within each value segment.
SHARE_GROUPS: dict[str, tuple[str, ...]] = {
    "channel_revenue": ("value_segment IS NULL",),
    "health_by_value": ("value_segment",),
}


@dataclass
class Finding:
    """The outcome of one rule: how many violations, the counts behind them, a few examples."""

    violations: int
    counts: dict[str, int | float] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.violations == 0


def _scalar_row(query: str, **tables: Any) -> dict[str, Any]:
    result = run_sql(query, **tables)
    return {name: result.column(name)[0].as_py() for name in result.column_names}


def _column_list(table: Any) -> list[str]:
    if isinstance(table, pa.Table):
        return list(table.column_names)
    # A lake dataset or a relation: its columns, bound by DuckDB without reading a row.
    return run_sql("SELECT * FROM t LIMIT 0", t=table).column_names


# --- Keys and references ---------------------------------------------------------------------


def key_violations(table: Any, key_columns: Sequence[str]) -> Finding:
    """Primary key not null and unique. ``duplicate_rows`` counts the rows beyond the first of
    each repeated key, so ``violations`` is the number of rows that would have to go."""
    keys = ", ".join(quote_ident(c) for c in key_columns)
    any_null = " OR ".join(f"{quote_ident(c)} IS NULL" for c in key_columns)
    counts = _scalar_row(
        f"""
        WITH keyed AS (SELECT {keys} FROM t WHERE NOT ({any_null})),
             repeated AS (SELECT {keys}, count(*) AS n FROM keyed GROUP BY ALL HAVING n > 1)
        SELECT (SELECT count(*) FROM t) AS rows,
               (SELECT count(*) FROM t WHERE {any_null}) AS null_keys,
               (SELECT coalesce(sum(n - 1), 0) FROM repeated)::BIGINT AS duplicate_rows,
               (SELECT count(*) FROM repeated) AS duplicate_keys
        """,
        t=table,
    )
    key_text = " || ', ' || ".join(
        f"{quote_literal(c + '=')} || coalesce({quote_ident(c)}::VARCHAR, 'NULL')"
        for c in key_columns
    )
    samples = run_sql(
        f"""
        SELECT {key_text} || ' (' || n || ' rows)' AS s
        FROM (SELECT {keys}, count(*) AS n FROM t WHERE NOT ({any_null}) GROUP BY ALL)
        WHERE n > 1 ORDER BY 1 LIMIT {SAMPLE_SIZE}
        """,
        t=table,
    )
    return Finding(
        violations=counts["null_keys"] + counts["duplicate_rows"],
        counts=counts,
        samples=samples.column("s").to_pylist(),
    )


def missing_references(child: Any, parent: Any, column: str) -> Finding:
    """Rows of ``child`` whose non-null ``column`` has no row in ``parent`` (same column name)."""
    c = quote_ident(column)
    # One query: the unknown values are found once (MATERIALIZED), then counted and sampled.
    counts = _scalar_row(
        f"""
        WITH unknown AS MATERIALIZED ({unknown_keys_sql(column, "child", "parent")})
        SELECT (SELECT count(*) FROM child) AS rows,
               (SELECT count(*) FROM child WHERE {c} IN (SELECT {c} FROM unknown)) AS missing,
               (SELECT list(s ORDER BY s) FROM (
                   SELECT DISTINCT {c}::VARCHAR AS s FROM unknown ORDER BY s LIMIT {SAMPLE_SIZE}
               )) AS samples
        """,
        child=child,
        parent=parent,
    )
    samples = counts.pop("samples") or []
    return Finding(counts["missing"], counts, samples)


def orphan_severity(orphans: int, rows: int, error_rate: float) -> str | None:
    """None when there are no orphans; WARN while orphans / rows is at most ``error_rate``;
    ERROR above it (or when there are orphans and no rows at all)."""
    if orphans == 0:
        return None
    if rows <= 0 or orphans / rows > error_rate:
        return SEVERITY_ERROR
    return SEVERITY_WARN


def orphan_reason_pattern(column: str, parent: str) -> str:
    """SQL LIKE pattern of the reason silver gives a row whose ``column`` is not in ``parent``
    (``silver/cleaning.py``: "product_id X not found in products", reasons joined by '; ')."""
    return f"%{column} % not found in {parent}%"


# --- Quarantine ------------------------------------------------------------------------------


def quarantine_counts(quarantine: Any, rules: Iterable[str] | None = None) -> dict[str, int]:
    """Quarantined rows per rule (only ``rules`` when given; a rule with no row counts 0)."""
    result = run_sql("SELECT rule, count(*) AS n FROM q GROUP BY rule ORDER BY rule", q=quarantine)
    counts = dict(
        zip(result.column("rule").to_pylist(), result.column("n").to_pylist(), strict=True)
    )
    if rules is None:
        return counts
    return {rule: counts.get(rule, 0) for rule in rules}


def count_quarantined(quarantine: Any, rule: str, reason_like: str | None = None) -> int:
    """Quarantined rows of one rule, optionally only those whose reason matches a LIKE pattern."""
    where = f"rule = {quote_literal(rule)}"
    if reason_like is not None:
        where += f" AND reason LIKE {quote_literal(reason_like)}"
    return _scalar_row(f"SELECT count(*) AS n FROM q WHERE {where}", q=quarantine)["n"]


def quarantine_samples(
    quarantine: Any, rules: Iterable[str] | None = None, limit: int = SAMPLE_SIZE
) -> list[str]:
    """'file: line N: reason' of the first quarantined rows (of ``rules``), for check metadata."""
    where = "TRUE" if rules is None else "rule IN (" + ", ".join(map(quote_literal, rules)) + ")"
    result = run_sql(
        f"""
        -- Bronze reasons already start with 'line N: ' (DuckDB's reject message).
        SELECT coalesce(source_file, '?') || ': '
               || CASE WHEN source_line IS NULL OR reason LIKE 'line %' THEN ''
                       ELSE 'line ' || source_line || ': ' END || reason AS s
        FROM q WHERE {where} ORDER BY source_file, source_line, reason LIMIT {int(limit)}
        """,
        q=quarantine,
    )
    return result.column("s").to_pylist()


# --- Values ----------------------------------------------------------------------------------


def unknown_values(table: Any, column: str, allowed: Iterable[str]) -> Finding:
    """Non-null values of ``column`` outside ``allowed``, counted per value."""
    c = quote_ident(column)
    allowed_sql = "(" + ", ".join(quote_literal(v) for v in allowed) + ")"
    result = run_sql(
        f"""
        SELECT {c}::VARCHAR AS value, count(*) AS n FROM t
        WHERE {c} IS NOT NULL AND {c} NOT IN {allowed_sql}
        GROUP BY 1 ORDER BY n DESC, value
        """,
        t=table,
    )
    per_value = dict(
        zip(result.column("value").to_pylist(), result.column("n").to_pylist(), strict=True)
    )
    return Finding(
        violations=sum(per_value.values()),
        counts={"rows_checked": row_count(table), "unknown_values": len(per_value)},
        samples=[f"{v!r}: {n} rows" for v, n in list(per_value.items())[:SAMPLE_SIZE]],
    )


def out_of_range(table: Any, column: str, low: float, high: float) -> Finding:
    """Non-null values of ``column`` outside [low, high]."""
    c = quote_ident(column)
    counts = _scalar_row(
        f"""
        SELECT count(*) AS rows_checked,
               count(*) FILTER (WHERE {c} < {low!r}) AS below,
               count(*) FILTER (WHERE {c} > {high!r}) AS above,
               count(*) FILTER (WHERE {c} IS NULL) AS nulls
        FROM t
        """,
        t=table,
    )
    return Finding(counts["below"] + counts["above"], counts)


def negative_values(table: Any, columns: Sequence[str]) -> Finding:
    """Rows with a negative value, per column (one row can count in several columns)."""
    select = ", ".join(
        f"count(*) FILTER (WHERE {quote_ident(c)} < 0) AS {quote_ident(c)}" for c in columns
    )
    counts = _scalar_row(f"SELECT count(*) AS rows_checked, {select} FROM t", t=table)
    return Finding(sum(counts[c] for c in columns), counts)


def invalid_values(
    table: Any, double_columns: Sequence[str], amount_columns: Sequence[str], ceiling: float
) -> Finding:
    """Rows with a NaN/infinite DOUBLE (``<column>_non_finite``) or an amount above ``ceiling``
    (``<column>_above_ceiling``): what silver quarantines as 'invalid_value'."""
    parts = [
        f"count(*) FILTER (WHERE NOT isfinite({quote_ident(c)})) AS {quote_ident(c + '_non_finite')}"
        for c in double_columns
    ]
    parts += [
        f"count(*) FILTER (WHERE {quote_ident(c)} > {float(ceiling)!r}) "
        f"AS {quote_ident(c + '_above_ceiling')}"
        for c in amount_columns
    ]
    if not parts:
        return Finding(0)
    counts = _scalar_row(f"SELECT count(*) AS rows_checked, {', '.join(parts)} FROM t", t=table)
    return Finding(sum(v for k, v in counts.items() if k != "rows_checked"), counts)


def timestamp_violations(orders: Any, range_start: datetime, range_end: datetime) -> Finding:
    """Order timestamps inside the data's range and in order.

    - ``<column>_out_of_range``: an event timestamp before ``range_start`` (the first partition)
      or after ``range_end`` (the ingestion time); promised dates may lie in the future;
    - ``<column>_before_purchase``: approval or delivery before the purchase;
    - ``purchase_outside_partition``: a row stored in a quarter its purchase time is not in.
    """
    event_columns = [
        c for c, t in ORDERS.columns.items() if t == TIMESTAMP and c not in FUTURE_TIMESTAMPS
    ]
    start, end = (
        quote_literal(range_start.isoformat(sep=" ")),
        quote_literal(range_end.isoformat(sep=" ")),
    )
    parts = [
        f"count(*) FILTER (WHERE {quote_ident(c)} < {start}::TIMESTAMP "
        f"OR {quote_ident(c)} > {end}::TIMESTAMP) AS {quote_ident(c + '_out_of_range')}"
        for c in event_columns
    ]
    parts += [
        f"count(*) FILTER (WHERE {quote_ident(c)} < {PURCHASE_TIME}) "
        f"AS {quote_ident(c + '_before_purchase')}"
        for c in NOT_BEFORE_PURCHASE
    ]
    if PARTITION_COLUMN in _column_list(orders):
        parts.append(
            f"count(*) FILTER (WHERE date_trunc('quarter', {PURCHASE_TIME})::DATE "
            f"<> {PARTITION_COLUMN}) AS purchase_outside_partition"
        )
    counts = _scalar_row(f"SELECT count(*) AS rows_checked, {', '.join(parts)} FROM t", t=orders)
    violations = sum(v for k, v in counts.items() if k != "rows_checked")
    return Finding(violations, counts)


# --- Reconciliation --------------------------------------------------------------------------


def silver_reconciliation(
    table_name: str, bronze: Any, silver: Any, quarantine: Any
) -> list[dict[str, Any]]:
    """Per partition: silver rows = bronze rows - exact duplicates - superseded - quarantined.

    Each count is taken independently: bronze, silver and the silver quarantine from their own
    stored objects; exact duplicates recounted from bronze with silver's own standardisation
    (the table's model, ``silver_rules.standardised_sql``), so a row lost or doubled anywhere
    between the layers shows up as a non-zero ``difference``. Superseded rows exist only where
    silver keeps one row per key by rule: reviews (all but the latest per order, recounted from
    bronze) and geolocation (points folded into one row per prefix, read from silver's
    ``geolocation_points``).
    ``quarantine`` must hold the silver-layer rows only. An unpartitioned table gives one row
    whose partition is None.
    """
    table = SOURCE_TABLES[table_name]
    part = PARTITION_COLUMN if table.partitioned else "NULL::DATE"
    # The table's model reads ``bronze`` with its ingestion columns. They are not part of what
    # exact duplicates share, so they are blanked here (and a bronze without them, as a unit
    # test passes, standardises too), then left out of the standardised rows.
    provenance = f"'{SOURCE_FILE_COLUMN}', '{INGESTED_AT_COLUMN}'"
    bronze_sql = (
        f"SELECT COLUMNS(lambda c: c NOT IN ({provenance})), "
        f"NULL::VARCHAR AS {SOURCE_FILE_COLUMN}, NULL::TIMESTAMP AS {INGESTED_AT_COLUMN} "
        "FROM bronze_rows"
    )
    standardised = (
        f"SELECT * EXCLUDE ({SOURCE_FILE_COLUMN}, {INGESTED_AT_COLUMN}) "
        f"FROM ({silver_rules.standardised_sql(table_name)})"
    )
    if table_name == ORDER_REVIEWS.name:
        keys = [quote_ident(table.silver_renames.get(c, c)) for c in table.primary_key]
        superseded = f"""
            SELECT _p AS p, sum(n - 1) AS n
            FROM (SELECT _p, {", ".join(keys)}, count(*) AS n FROM dedup
                  WHERE NOT ({" OR ".join(f"{k} IS NULL" for k in keys)}) GROUP BY ALL)
            GROUP BY 1"""
    elif table_name == GEOLOCATION.name:
        superseded = "SELECT NULL::DATE AS p, sum(geolocation_points) - count(*) AS n FROM silver"
    else:
        superseded = "SELECT NULL::DATE AS p, 0 AS n WHERE FALSE"
    result = run_sql(
        f"""
        WITH bronze AS ({bronze_sql}),
             std AS (SELECT *, {part} AS _p FROM ({standardised})),
             dedup AS (SELECT DISTINCT * FROM std),
             b AS (SELECT _p AS p, count(*) AS n FROM std GROUP BY 1),
             d AS (SELECT _p AS p, count(*) AS n FROM dedup GROUP BY 1),
             s AS (SELECT {part} AS p, count(*) AS n FROM silver GROUP BY 1),
             q AS (SELECT {part} AS p, count(*) AS n FROM quarantine GROUP BY 1),
             sup AS ({superseded}),
             parts AS (SELECT p FROM b UNION SELECT p FROM s UNION SELECT p FROM q)
        SELECT parts.p AS partition,
               coalesce(b.n, 0) AS bronze_rows,
               coalesce(b.n - d.n, 0) AS exact_duplicates,
               coalesce(sup.n, 0)::BIGINT AS superseded,
               coalesce(q.n, 0) AS quarantined,
               coalesce(s.n, 0) AS silver_rows
        FROM parts
        LEFT JOIN b ON b.p IS NOT DISTINCT FROM parts.p
        LEFT JOIN d ON d.p IS NOT DISTINCT FROM parts.p
        LEFT JOIN s ON s.p IS NOT DISTINCT FROM parts.p
        LEFT JOIN q ON q.p IS NOT DISTINCT FROM parts.p
        LEFT JOIN sup ON sup.p IS NOT DISTINCT FROM parts.p
        ORDER BY parts.p
        """,
        bronze_rows=bronze,
        silver=silver,
        quarantine=quarantine,
    )
    rows = result.to_pylist()
    for row in rows:
        row["expected_silver_rows"] = (
            row["bronze_rows"] - row["exact_duplicates"] - row["superseded"] - row["quarantined"]
        )
        row["difference"] = row["silver_rows"] - row["expected_silver_rows"]
    return rows


def reconciliation_finding(rows: list[dict[str, Any]]) -> Finding:
    """Sum the per-partition reconciliation; each partition that does not add up is a violation."""
    names = ("bronze_rows", "exact_duplicates", "superseded", "quarantined", "silver_rows")
    counts: dict[str, int | float] = {n: sum(r[n] for r in rows) for n in names}
    counts["partitions"] = len(rows)
    off = [r for r in rows if r["difference"] != 0]
    counts["partitions_off"] = len(off)
    return Finding(
        violations=len(off),
        counts=counts,
        samples=[
            f"{r['partition'] or 'all'}: silver {r['silver_rows']} != bronze {r['bronze_rows']} "
            f"- duplicates {r['exact_duplicates']} - superseded {r['superseded']} "
            f"- quarantined {r['quarantined']}"
            for r in off[:SAMPLE_SIZE]
        ],
    )


def partition_row_counts(table: Any) -> dict[Any, int]:
    """Rows per ``_partition`` value."""
    result = run_sql(f"SELECT {PARTITION_COLUMN} AS p, count(*) AS n FROM t GROUP BY 1", t=table)
    return dict(zip(result.column("p").to_pylist(), result.column("n").to_pylist(), strict=True))


def row_count_differences(expected: Any, actual: Any) -> Finding:
    """Partitions whose row counts differ between two tables that must have one row each
    (silver orders and unified_user_lifecycle: one row per order)."""
    left, right = partition_row_counts(expected), partition_row_counts(actual)
    off = {p: (left.get(p, 0), right.get(p, 0)) for p in left.keys() | right.keys()}
    off = {p: v for p, v in off.items() if v[0] != v[1]}
    return Finding(
        violations=len(off),
        counts={"expected_rows": sum(left.values()), "rows": sum(right.values())},
        samples=[f"{p}: expected {a}, found {b}" for p, (a, b) in sorted(off.items())][
            :SAMPLE_SIZE
        ],
    )


# --- KPI sanity ------------------------------------------------------------------------------


def share_columns(columns: Iterable[str]) -> list[str]:
    """Columns holding a share of a population (named ``*_share`` / ``share_*``), headlines out."""
    return [
        c
        for c in columns
        if (c.endswith("_share") or c.startswith("share_")) and c not in HEADLINE_SHARE_COLUMNS
    ]


def unit_interval_columns(columns: Iterable[str]) -> list[str]:
    """Columns that are a rate, share, conversion or retention: each must lie in [0, 1]."""
    return [
        c
        for c in columns
        if c.endswith(("_rate", "_share", "_retention")) or c.startswith(("share_", "conversion_"))
    ]


def share_sum_violations(
    frame: Any, column: str, group_by: Sequence[str] = (), tolerance: float = SHARE_TOLERANCE
) -> Finding:
    """Shares of each population (``group_by``) sum to 1 within ``tolerance``.

    A population whose shares are all NULL (its total is 0, so every share is undefined) is
    skipped; one with some NULL shares among non-NULL ones is a violation.
    """
    c = quote_ident(column)
    groups = ", ".join(group_by) if group_by else "'all'"
    label = " || ', ' || ".join(f"coalesce(({g})::VARCHAR, 'NULL')" for g in group_by) or "'all'"
    result = run_sql(
        f"""
        SELECT {label} AS grp, sum({c}) AS total, count({c}) AS shares, count(*) AS n
        FROM (SELECT * REPLACE (CASE WHEN isnan({c}) THEN NULL ELSE {c} END AS {c}) FROM t)
        GROUP BY {groups} ORDER BY 1
        """,
        t=frame,
    ).to_pylist()
    checked = [r for r in result if r["shares"] > 0]
    off = [r for r in checked if r["shares"] < r["n"] or abs(r["total"] - 1.0) > tolerance]
    return Finding(
        violations=len(off),
        counts={"populations": len(checked), "populations_off": len(off)},
        samples=[f"{column} [{r['grp']}]: sum {r['total']!r}" for r in off[:SAMPLE_SIZE]],
    )


def unit_interval_violations(frame: Any, columns: Sequence[str]) -> Finding:
    """Values outside [0, 1], per column (NULL / NaN: undefined, not a violation)."""
    if not columns:
        return Finding(0)
    select = ", ".join(
        f"count(*) FILTER (WHERE NOT isnan({quote_ident(c)}) AND "
        f"({quote_ident(c)} < 0 OR {quote_ident(c)} > 1)) AS {quote_ident(c)}"
        for c in columns
    )
    counts = _scalar_row(f"SELECT {select} FROM t", t=frame)
    return Finding(sum(counts.values()), counts)


def retention_violations(cohort_retention: Any, tolerance: float = SHARE_TOLERANCE) -> Finding:
    """gold.cohort_retention: rates in [0, 1], active customers within the cohort, index 0 = 1."""
    counts = _scalar_row(
        f"""
        SELECT count(*) AS rows_checked,
               count(*) FILTER (WHERE retention_rate < 0 OR retention_rate > 1) AS out_of_range,
               count(*) FILTER (WHERE active_customers > cohort_size) AS active_above_size,
               count(*) FILTER (WHERE period_index = 0 AND cohort_size > 0
                                AND abs(retention_rate - 1) > {tolerance!r}) AS index0_not_one
        FROM t
        """,
        t=cohort_retention,
    )
    return Finding(sum(v for k, v in counts.items() if k != "rows_checked"), counts)


def completed_totals(lifecycle: Any, completed_statuses: Sequence[str]) -> dict[str, Any]:
    """Customers, completed orders and completed revenue of silver unified_user_lifecycle."""
    statuses = "(" + ", ".join(quote_literal(s) for s in completed_statuses) + ")"
    return _scalar_row(
        f"""
        SELECT count(DISTINCT customer_unique_id) AS customers, count(*) AS orders,
               coalesce(sum(order_revenue), 0)::DECIMAL(38,2) AS revenue
        FROM t WHERE order_status IN {statuses}
        """,
        t=lifecycle,
    )


# The customer_360 columns the reconciliation reads (it also counts its rows): a check that loads
# customer_360 only for it loads these.
RECONCILED_GOLD_COLUMNS = ("total_orders", "lifetime_revenue")


def revenue_reconciliation(
    lifecycle: Any,
    customer_360: Any,
    completed_statuses: Sequence[str],
    northstar: Any | None = None,
) -> Finding:
    """Customers, completed orders and completed revenue agree across silver
    (unified_user_lifecycle), gold (customer_360) and, when given, kpi.northstar: counts and
    revenue exactly (money is DECIMAL: equal to the cent means equal). ``violations`` is the
    number of figures that disagree with silver."""
    layers = {"silver": completed_totals(lifecycle, completed_statuses)}
    layers["gold"] = _scalar_row(
        """
        SELECT count(*) AS customers, coalesce(sum(total_orders), 0) AS orders,
               coalesce(sum(lifetime_revenue), 0)::DECIMAL(38,2) AS revenue
        FROM t
        """,
        t=customer_360,
    )
    if northstar is not None:
        layers["kpi"] = _scalar_row(
            """
            SELECT coalesce(sum(total_customers), 0) AS customers,
                   coalesce(sum(total_orders), 0) AS orders,
                   coalesce(sum(total_revenue), 0)::DECIMAL(38,2) AS revenue
            FROM t
            """,
            t=northstar,
        )
    # SUM of a BIGINT is a HUGEINT (Decimal in Python): counts as int; money stays an exact
    # Decimal (a float input, e.g. a pandas frame, is taken to the cent).
    layers = {
        layer: {
            n: Decimal(str(v)).quantize(Decimal("0.01")) if n == "revenue" else int(v)
            for n, v in figures.items()
        }
        for layer, figures in layers.items()
    }
    counts: dict[str, int | float] = {}
    samples = []
    base = layers["silver"]
    for layer, figures in layers.items():
        for name, value in figures.items():
            counts[f"{layer}_{name}"] = float(value) if name == "revenue" else value
            if layer == "silver":
                continue
            if value != base[name]:
                samples.append(f"{layer} {name} {value} != silver {base[name]}")
    return Finding(len(samples), counts, samples)


def row_count(table: Any) -> int:
    """Rows of a table: an Arrow table's, or counted by DuckDB (a lake dataset, a relation)."""
    if isinstance(table, pa.Table):
        return table.num_rows
    return _scalar_row("SELECT count(*) AS n FROM t", t=table)["n"]


# --- Bronze schema ---------------------------------------------------------------------------

# Bronze quarantine rules (bronze/parsing.py): a record that could not be read, and an order
# without a purchase time (no quarter to store it in). Orphans are counted by the reference rules.
BRONZE_REJECT_RULES = ("malformed", "unparseable", "unroutable")
ORPHAN_RULE = "orphan"


def column_differences(
    actual: pa.Schema, expected: Mapping[str, str]
) -> tuple[list[str], list[str], list[str]]:
    """(missing columns, columns of another type 'name: found != expected', extra columns) of a
    stored schema against a declared one (column name -> DuckDB type)."""
    declared = arrow_schema(expected)
    found = {f.name: f.type for f in actual}
    missing = [c for c in declared.names if c not in found]
    wrong = [
        f"{f.name}: {found[f.name]} != {f.type}"
        for f in declared
        if f.name in found and found[f.name] != f.type
    ]
    extra = [c for c in found if c not in expected]
    return missing, wrong, extra

"""The generic silver rules: what happens to a source table between its model's SELECT and silver.

A silver table's own shape (which columns are trimmed, lower or upper cased, zip-padded, renamed)
is its SQL model, ``models/silver/<table>.sql``: the standardising step. Everything that is the
same for every table lives here, once (METRICS.md "Source data"):

- exact duplicate rows are dropped (counted);
- rows that share a primary key but differ are duplicate keys: the row from the most recently
  ingested file is kept and the others are quarantined with the reason; a row with an empty key
  is quarantined too (reviews supersede instead: ``resolve_keys(supersede=True)``);
- referential integrity: a row whose reference is unknown is quarantined, never dropped silently;
- amounts and counts (``NON_NEGATIVE_COLUMNS``) are not negative (rule ``negative_value``);
- keys the analytics group or join by (``ANALYTIC_KEYS``) must be well formed (``key_problem_sql``:
  not empty, no whitespace or control character inside, at most ``KEY_MAX_LENGTH`` characters):
  a row with a malformed one is quarantined (rule ``invalid_key``);
- values must be usable (rule ``invalid_value``): a row with a DOUBLE that is NaN or infinite, or
  a line amount (``LINE_AMOUNT_COLUMNS``) above ``MetricParams.max_line_amount``
  (GOODPULSE_MAX_LINE_AMOUNT), is quarantined. Money is DECIMAL(18,2), so a non-finite amount
  never parses: bronze rejects it;
- a review score outside ``REVIEW_SCORE_RANGE`` is quarantined (rule ``out_of_range``);
- a geolocation point that is not finite, lies outside Brazil (``BRAZIL_LAT``/``BRAZIL_LNG``) or
  has no prefix is quarantined.

Every rejected row becomes one quarantine row (``QUARANTINE_COLUMNS``) with its rule and reason,
and the counts reconcile silver with bronze: output = input - exact duplicates - superseded -
quarantined. The rules build their SQL here from the schema (column lists, keys), so they are
Python; the models are plain SQL files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from goodpulse_dagster.engine import Input, bind_input, cast_select, connect, model_sql
from goodpulse_dagster.resources.lake_data import BuildReadBack, LakeOutput
from goodpulse_dagster.schema import (
    DOUBLE,
    INGESTED_AT_COLUMN,
    PARTITION_COLUMN,
    QUARANTINE_COLUMNS,
    SOURCE_FILE_COLUMN,
    SOURCE_TABLES,
    SourceTable,
    silver_columns,
    silver_table_columns,
)
from goodpulse_dagster.sql_helpers import quote_ident, quote_literal, unknown_keys_sql

# Brazil's bounding box with a small margin: geolocation points outside it are data errors.
BRAZIL_LAT = (-34.0, 5.5)
BRAZIL_LNG = (-74.5, -34.5)

# Amounts and counts that cannot be negative: a row with a negative one is quarantined (rule
# 'negative_value', reason "price -5.0 < 0") rather than counted into revenue.
NON_NEGATIVE_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_items": ("price", "freight_value"),
    "order_payments": ("payment_value", "payment_installments"),
}

# Line amounts (R$) with a ceiling: a payment or item line above MetricParams.max_line_amount is
# quarantined (rule 'invalid_value'), as a typo or a test value, not a sale.
LINE_AMOUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_items": ("price", "freight_value"),
    "order_payments": ("payment_value",),
}

# review_score is a 1-5 star rating: a score outside it is quarantined (rule 'out_of_range').
REVIEW_SCORE_RANGE = (1, 5)

# The keys the analytics group or join by, per table (primary keys and references): a row whose
# key is malformed is quarantined (rule 'invalid_key'). One rule for all of them:
# ``key_problem_sql``. An empty primary key keeps its own rule ('null_key').
ANALYTIC_KEYS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "customer_id"),
    "customers": ("customer_id", "customer_unique_id"),
    "order_items": ("order_id", "product_id", "seller_id"),
    "order_payments": ("order_id",),
    "order_reviews": ("order_id",),
    "products": ("product_id",),
    "sellers": ("seller_id",),
    "marketing_qualified_leads": ("mql_id",),
    "closed_deals": ("mql_id",),
}
# Olist ids are 32 hex characters; 64 leaves room for other exports' ids and none for a line of
# text pasted into a key column.
KEY_MAX_LENGTH = 64

INVALID_KEY_RULE = "invalid_key"
INVALID_VALUE_RULE = "invalid_value"
OUT_OF_RANGE_RULE = "out_of_range"

# What the transforms accept for an input table: a lake dataset (what a step gets), or an Arrow
# table (tests' rows); DuckDB scans either in place.
Tabular = Input


def standardised_sql(table_name: str) -> str:
    """The standardising SELECT of a source table: its model, reading the input ``bronze``.

    Its columns are the table's silver columns (renames applied), the partition column for an
    order-grain table, then the ingestion columns. The reconciliation check recounts exact
    duplicates with it, so silver and its check standardise the same way.
    """
    return model_sql(f"silver/{table_name}")


def key_problem_sql(column: str) -> str:
    """SQL: why the (standardised: trimmed, '' is NULL) key ``column`` is malformed, or NULL.

    Malformed = empty after trimming; containing whitespace or a control character (inside, as
    the value is trimmed); or longer than ``KEY_MAX_LENGTH`` characters. The value is shown as
    JSON, so an invisible character is visible in the reason.
    """
    c = quote_ident(column)
    shown = f"left(to_json({c})::VARCHAR, {KEY_MAX_LENGTH + 10})"
    return (
        f"CASE WHEN {c} IS NULL THEN '{column} is empty' "
        f"WHEN length({c}) > {KEY_MAX_LENGTH} THEN '{column} ' || {shown} || ' is longer than "
        f"{KEY_MAX_LENGTH} characters (' || length({c}) || ')' "
        f"WHEN regexp_matches({c}, '[[:space:][:cntrl:]]') THEN '{column} ' || {shown} "
        f"|| ' contains whitespace or a control character' END"
    )


def non_finite_sql(column: str) -> str:
    """SQL: TRUE when the DOUBLE ``column`` is NaN or infinite (NULL is not a violation)."""
    return f"coalesce(NOT isfinite({quote_ident(column)}), FALSE)"


def _double_columns(table: SourceTable) -> list[str]:
    return [c for c, t in silver_columns(table).items() if t == DOUBLE]


def _non_finite_reasons(columns: list[str]) -> str:
    return (
        "concat_ws('; ', "
        + ", ".join(
            f"CASE WHEN {non_finite_sql(c)} THEN '{c} ' || {quote_ident(c)} "
            "|| ' is not a finite number' END"
            for c in columns
        )
        + ")"
    )


@dataclass
class CleanResult(BuildReadBack):
    """A silver table and the rows it set aside, as Parquet files DuckDB wrote (``LakeOutput``s
    the IO manager and the quarantine publish), and the counts that reconcile it with bronze:
    output_rows = input_rows - exact_duplicates - superseded - quarantined."""

    output: LakeOutput
    quarantine_output: LakeOutput
    counts: dict[str, int] = field(default_factory=dict)


class Cleaner:
    """One DuckDB connection working through the silver rules for one table.

    The steps build temporary tables in order: ``dedup`` (the model's standardised rows without
    exact duplicates), ``repeated_keys`` and ``ranked`` (the rows of the keys that occur more
    than once, ranked within their key) and ``kept`` (one row per key); each check moves the rows it
    rejects from ``kept`` to the temporary table ``quarantine``. ``result`` shapes ``kept`` into
    the silver table and writes it and the quarantine to Parquet (in ``folder``, one file per
    partition key of ``partition_keys`` for an order-grain table): no row passes through Python.
    """

    def __init__(
        self,
        table: SourceTable,
        bronze: Tabular,
        now: datetime,
        folder: Path | None = None,
        partition_keys: Sequence[str] | None = None,
    ):
        self.table = table
        self.now = now
        self.folder = (
            Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="lake-out-"))
        )
        self.partition_keys = partition_keys
        self.con = connect()
        bind_input(self.con, "bronze", bronze)
        self.input_rows = self._count("bronze")
        self.key_cols = [quote_ident(table.silver_renames.get(c, c)) for c in table.primary_key]
        self.data_cols = [quote_ident(c) for c in silver_columns(table)]
        if table.partitioned:
            self.data_cols.append(PARTITION_COLUMN)
        columns = ", ".join(f"{quote_ident(c)} {t}" for c, t in QUARANTINE_COLUMNS.items())
        self.con.execute(f"CREATE TEMP TABLE quarantine ({columns})")
        self.counts: dict[str, int] = {"input_rows": self.input_rows}

    def _count(self, table: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]

    @property
    def cols_sql(self) -> str:
        return ", ".join(self.data_cols)

    def quarantine_rows(self, rule: str, reason_sql: str, source: str, where: str) -> None:
        partition = PARTITION_COLUMN if self.table.partitioned else "NULL::DATE"
        self.con.execute(
            f"""
            INSERT INTO quarantine
            SELECT {quote_literal(self.table.name)} AS table_name, 'silver' AS layer,
                   {quote_literal(rule)} AS rule, {SOURCE_FILE_COLUMN} AS source_file,
                   NULL::BIGINT AS source_line, {reason_sql} AS reason,
                   to_json(struct_pack({self.cols_sql}))::VARCHAR AS record,
                   {partition} AS {PARTITION_COLUMN}, ?::TIMESTAMP AS quarantined_at
            FROM {source} WHERE {where}
            -- A stable order, so the same input gives the same quarantine object.
            ORDER BY source_file, record
            """,
            [self.now],
        )

    def _quarantine_from_kept(self, rule: str, reason_sql: str, bad: str) -> None:
        """Move the rows of ``kept`` matching ``bad`` to the quarantine."""
        self.quarantine_rows(rule, reason_sql, "kept", bad)
        self.con.execute(f"DELETE FROM kept WHERE {bad}")

    def standardise_and_dedup(self) -> None:
        """Run the table's model over bronze and drop exact duplicates (counted)."""
        # Exact duplicates are identical in every data column, whatever file they came from;
        # the copy kept remembers the latest file it was seen in.
        self.con.execute(
            f"""
            CREATE TEMP TABLE dedup AS
            SELECT {self.cols_sql}, max({SOURCE_FILE_COLUMN}) AS {SOURCE_FILE_COLUMN},
                   max({INGESTED_AT_COLUMN}) AS {INGESTED_AT_COLUMN}
            FROM ({standardised_sql(self.table.name)}) AS standardised
            GROUP BY ALL
            """
        )
        self.counts["exact_duplicates"] = self.input_rows - self._count("dedup")

    def resolve_keys(self, order_by: str | None = None, supersede: bool = False) -> None:
        """Keep one row per primary key, the first by ``order_by`` (default: from the latest
        file); the others are quarantined as duplicate keys, or with ``supersede`` counted as
        superseded (reviews: METRICS.md). Rows with an empty key are quarantined."""
        pk = ", ".join(self.key_cols)
        ranking = order_by or (
            f"{INGESTED_AT_COLUMN} DESC, {SOURCE_FILE_COLUMN} DESC, {self.cols_sql}"
        )
        null_key = " OR ".join(f"{c} IS NULL" for c in self.key_cols)
        # Only the rows of a key that occurs more than once are ranked: a key's only row is
        # its first. A narrow count of the keys finds them, instead of sorting every wide row by
        # key (out of a memory budget, that sort spills the whole table).
        self.con.execute(
            f"CREATE TEMP TABLE repeated_keys AS "
            f"SELECT {pk} FROM dedup WHERE NOT ({null_key}) GROUP BY ALL HAVING count(*) > 1"
        )
        self.con.execute(
            f"""
            CREATE TEMP TABLE ranked AS
            SELECT *, row_number() OVER (PARTITION BY {pk} ORDER BY {ranking}) AS _rank
            FROM dedup SEMI JOIN repeated_keys USING ({pk})
            """
        )
        # Every row with an empty key.
        self.quarantine_rows(
            "null_key",
            f"'primary key ({pk.replace(chr(34), '')}) is empty'",
            "dedup",
            null_key,
        )
        if supersede:
            self.counts["superseded"] = self.con.execute(
                "SELECT count(*) FROM ranked WHERE _rank > 1"
            ).fetchall()[0][0]
        else:
            key_desc = " || ', ' || ".join(
                f"'{c.strip(chr(34))}=' || coalesce({c}::VARCHAR, 'NULL')" for c in self.key_cols
            )
            self.quarantine_rows(
                "duplicate_key",
                f"'duplicate primary key (' || {key_desc} || ') with different values; "
                f"kept the row from the latest file'",
                "ranked",
                "_rank > 1",
            )
        self.con.execute(
            f"""
            CREATE TEMP TABLE kept AS
            SELECT * FROM dedup ANTI JOIN repeated_keys USING ({pk}) WHERE NOT ({null_key})
            UNION ALL
            SELECT * EXCLUDE (_rank) FROM ranked WHERE _rank = 1
            """
        )

    def check_references(self, references: dict[str, tuple[str, Tabular]]) -> None:
        """Quarantine orphans: rows of ``kept`` whose reference is not a key of its parent.

        ``references`` maps a column to (parent table name, a table holding the parent's keys in
        a column of the same name): a lake dataset is read by DuckDB, the key column only.
        """
        conditions, reasons = [], []
        for col, (parent_name, parent) in references.items():
            view, unknown = f"parent_{col}", f"unknown_{col}"
            bind_input(self.con, view, parent)
            # The values no parent row has (``unknown_keys_sql`` says how), kept as a table: the
            # quarantine and the delete below both look rows up in it.
            self.con.execute(
                f"CREATE TEMP TABLE {unknown} AS {unknown_keys_sql(col, 'kept', view)}"
            )
            c = quote_ident(col)
            cond = f"{c} IN (SELECT {c} FROM {unknown})"
            conditions.append(cond)
            # The reason names the parent's file: the parent row may be missing from it, or have
            # been set aside by silver (quarantine.<parent> says why).
            where = SOURCE_TABLES[parent_name].file_name if parent_name in SOURCE_TABLES else ""
            pointer = f" (see {where} and quarantine.{parent_name})" if where else ""
            reasons.append(
                f"CASE WHEN {cond} THEN '{col} ' || {c} || ' not found in {parent_name}"
                f"{pointer}' END"
            )
        if not conditions:
            return
        # One quarantine row per rejected row (an item with an unknown product and an unknown
        # seller is one row with both reasons), so quarantined rows reconcile with bronze.
        orphan = " OR ".join(conditions)
        self._quarantine_from_kept("orphan", f"concat_ws('; ', {', '.join(reasons)})", orphan)

    def check_non_negative(self) -> None:
        """Quarantine rows of ``kept`` with a negative amount or count (NON_NEGATIVE_COLUMNS)."""
        columns = NON_NEGATIVE_COLUMNS.get(self.table.name, ())
        if not columns:
            return
        negative = " OR ".join(f"{quote_ident(c)} < 0" for c in columns)
        reasons = ", ".join(
            f"CASE WHEN {quote_ident(c)} < 0 THEN '{c} ' || {quote_ident(c)} || ' < 0' END"
            for c in columns
        )
        self._quarantine_from_kept("negative_value", f"concat_ws('; ', {reasons})", negative)

    def check_keys(self) -> None:
        """Quarantine rows of ``kept`` with a malformed analytic key (``key_problem_sql``)."""
        columns = ANALYTIC_KEYS.get(self.table.name, ())
        if not columns:
            return
        problems = [key_problem_sql(c) for c in columns]
        bad = " OR ".join(f"({p}) IS NOT NULL" for p in problems)
        self._quarantine_from_kept(INVALID_KEY_RULE, f"concat_ws('; ', {', '.join(problems)})", bad)

    def check_values(self, max_line_amount: float) -> None:
        """Quarantine rows of ``kept`` with a NaN/infinite DOUBLE or a line amount above the
        ceiling (rule 'invalid_value')."""
        doubles = _double_columns(self.table)
        conditions = [non_finite_sql(c) for c in doubles]
        reasons = [_non_finite_reasons(doubles)] if doubles else []
        ceiling = f"{max_line_amount:.2f}"
        for col in LINE_AMOUNT_COLUMNS.get(self.table.name, ()):
            cond = f"coalesce({quote_ident(col)} > {ceiling}, FALSE)"
            conditions.append(cond)
            reasons.append(
                f"CASE WHEN {cond} THEN '{col} ' || {quote_ident(col)} || ' is above the "
                f"line-amount ceiling {ceiling} (GOODPULSE_MAX_LINE_AMOUNT)' END"
            )
        if not conditions:
            return
        bad = " OR ".join(conditions)
        self._quarantine_from_kept(
            INVALID_VALUE_RULE, f"concat_ws('; ', {', '.join(reasons)})", bad
        )

    def check_review_scores(self) -> None:
        """Quarantine reviews of ``kept`` whose score lies outside ``REVIEW_SCORE_RANGE``."""
        low, high = REVIEW_SCORE_RANGE
        self._quarantine_from_kept(
            OUT_OF_RANGE_RULE,
            f"'review_score ' || review_score || ' is outside {low}..{high}'",
            f"coalesce(review_score NOT BETWEEN {low} AND {high}, FALSE)",
        )

    def check_points(self) -> None:
        """Geolocation: quarantine the points of ``dedup`` that cannot be placed, and keep the
        others (with a prefix, finite, inside Brazil) as the temporary table ``points``.

        A NaN or infinite coordinate is an unusable value (rule 'invalid_value'); a point outside
        Brazil is not an error of the row's identity, just unusable coordinates ('out_of_range');
        a point without a prefix has an empty key ('null_key'). Each is quarantined with its
        reason, so the count is visible.
        """
        doubles = _double_columns(self.table)
        non_finite = " OR ".join(non_finite_sql(c) for c in doubles)
        has_prefix = "geolocation_zip_code_prefix IS NOT NULL"
        self.quarantine_rows(
            INVALID_VALUE_RULE,
            _non_finite_reasons(doubles),
            "dedup",
            f"{has_prefix} AND ({non_finite})",
        )
        unplaced = (
            f"({non_finite}) OR "
            f"NOT (geolocation_lat BETWEEN {BRAZIL_LAT[0]} AND {BRAZIL_LAT[1]} "
            f"AND geolocation_lng BETWEEN {BRAZIL_LNG[0]} AND {BRAZIL_LNG[1]}) "
            "OR geolocation_lat IS NULL OR geolocation_lng IS NULL"
        )
        self.quarantine_rows(
            OUT_OF_RANGE_RULE,
            "'point (' || coalesce(geolocation_lat::VARCHAR, 'NULL') || ', ' "
            "|| coalesce(geolocation_lng::VARCHAR, 'NULL') || ') is outside Brazil'",
            "dedup",
            f"{has_prefix} AND NOT ({non_finite}) AND ({unplaced})",
        )
        self.quarantine_rows(
            "null_key",
            "'primary key (geolocation_zip_code_prefix) is empty'",
            "dedup",
            f"NOT ({has_prefix})",
        )
        self.con.execute(
            f"CREATE TEMP TABLE points AS SELECT * FROM dedup WHERE {has_prefix} AND NOT ({unplaced})"
        )

    def result(self, final_model: str | None = None, **inputs: Tabular) -> CleanResult:
        """The silver table and its quarantine, written to Parquet, and the counts; the
        connection is closed.

        The table is ``kept`` ordered by its key, or ``final_model``'s result (a model reading
        this cleaner's ``kept`` or ``points`` and the named ``inputs``), cast to the declared
        silver columns by DuckDB."""
        partitioned = self.table.partitioned
        try:
            for name, table in inputs.items():
                bind_input(self.con, name, table)
            if final_model is None:
                final_sql = f"SELECT * FROM kept ORDER BY {', '.join(self.key_cols)}"
            else:
                final_sql = model_sql(final_model)
            columns = silver_table_columns(self.table.name)
            # A table in the final order (insertion order is kept), written per partition.
            self.con.execute(f"CREATE TEMP TABLE silver_rows AS {cast_select(final_sql, columns)}")
            output = LakeOutput.write(
                self.con, "silver_rows", self.folder, self.partition_keys, partitioned
            )
            quarantine = LakeOutput.write(
                self.con, "quarantine", self.folder / "quarantine", self.partition_keys, partitioned
            )
        finally:
            self.con.close()
        self.counts["quarantined"] = quarantine.row_count
        self.counts["output_rows"] = output.row_count
        return CleanResult(output, quarantine, self.counts)

"""Silver: cleaned, deduplicated, standardised tables, and the order-grain unified_user_lifecycle.

Rules (METRICS.md "Source data" and "Core definitions"):
- text trimmed, empty text is NULL; cities, statuses, payment types and lead origins lower case,
  states upper case; zip prefixes are 5-character strings with leading zeros; the misspelt product
  columns are renamed; products gain their English category name;
- exact duplicate rows are dropped (counted);
- rows that share a primary key but differ are duplicate keys: the row from the most recently
  ingested file is kept and the others are quarantined with the reason; a row with an empty key
  is quarantined too;
- reviews: one per order, the latest by review_answer_timestamp (ties: the higher score, then the
  higher review_id); the others are superseded (counted; bronze still has them);
- referential integrity: orders must reference a known customer, items a known product and seller;
  a row that does not is quarantined, never dropped silently;
- amounts (price, freight, payment value) and installments are not negative: a row with a
  negative one is quarantined;
- keys the analytics group or join by (``ANALYTIC_KEYS``) must be well formed (``key_problem_sql``:
  not empty, no whitespace or control character inside, at most ``KEY_MAX_LENGTH`` characters): a
  row with a malformed one is quarantined (rule ``invalid_key``);
- values must be usable (rule ``invalid_value``): a row with a DOUBLE that is NaN or infinite, or
  a line amount (``LINE_AMOUNT_COLUMNS``) above ``MetricParams.max_line_amount``
  (GOODPULSE_MAX_LINE_AMOUNT), is quarantined. Money is DECIMAL(18,2), so a non-finite amount
  never parses: bronze rejects it;
- a review score outside ``REVIEW_SCORE_RANGE`` is quarantined (rule ``out_of_range``) and the
  order has no review score;
- geolocation: one row per zip prefix from in-Brazil points: median lat/lng, modal city and state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.dataset as ds

from goodpulse_dagster.schema import (
    DOUBLE,
    GEOLOCATION,
    INGESTED_AT_COLUMN,
    ORDER_REVIEWS,
    PARTITION_COLUMN,
    QUARANTINE_COLUMNS,
    SOURCE_FILE_COLUMN,
    SOURCE_TABLES,
    SourceTable,
    silver_table_columns,
)
from goodpulse_dagster.transforms.params import MetricParams
from goodpulse_dagster.transforms.sql import (
    arrow_schema,
    concat,
    conform,
    quote_ident,
    quote_literal,
)
from goodpulse_dagster.transforms.sql import connect as sql_connect

# Brazil's bounding box with a small margin: geolocation points outside it are data errors.
BRAZIL_LAT = (-34.0, 5.5)
BRAZIL_LNG = (-74.5, -34.5)

# Text columns standardised beyond trimming.
LOWER_CASE_COLUMNS = frozenset(
    {
        "order_status",
        "payment_type",
        "customer_city",
        "seller_city",
        "geolocation_city",
        "origin",
        "lead_type",
    }
)
UPPER_CASE_COLUMNS = frozenset({"customer_state", "seller_state", "geolocation_state"})
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
    return [table.silver_renames.get(c, c) for c, t in table.columns.items() if t == DOUBLE]


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


# What the transforms accept for an input table: DuckDB scans either in place.
Tabular = pa.Table | ds.Dataset


@dataclass
class CleanResult:
    """A silver table, the rows it set aside, and the counts that reconcile it with bronze:
    output_rows = input_rows - exact_duplicates - superseded - quarantined."""

    table: pa.Table
    quarantine: pa.Table
    counts: dict[str, int] = field(default_factory=dict)


def standardise_expr(table: SourceTable, col: str) -> str:
    src = quote_ident(col)
    if table.columns[col] != "VARCHAR":
        return src
    if col in table.zip_columns:
        # Zip prefixes are strings: '1012' and '01012' are the same prefix.
        return f"lpad(NULLIF(trim({src}), ''), 5, '0')"
    if col in LOWER_CASE_COLUMNS:
        return f"lower(NULLIF(trim({src}), ''))"
    if col in UPPER_CASE_COLUMNS:
        return f"upper(NULLIF(trim({src}), ''))"
    return f"NULLIF(trim({src}), '')"


class _Cleaner:
    """One DuckDB connection working through the silver rules for one table."""

    def __init__(self, table: SourceTable, bronze: pa.Table, now: datetime):
        self.table = table
        self.now = now
        self.con = sql_connect()
        self.con.register("bronze", bronze)
        self.input_rows = bronze.num_rows
        self.key_cols = [quote_ident(table.silver_renames.get(c, c)) for c in table.primary_key]
        self.data_cols = [quote_ident(table.silver_renames.get(c, c)) for c in table.columns]
        if table.partitioned:
            self.data_cols.append(PARTITION_COLUMN)
        self.quarantine: list[pa.Table] = []
        self.counts: dict[str, int] = {"input_rows": self.input_rows}

    @property
    def cols_sql(self) -> str:
        return ", ".join(self.data_cols)

    def quarantine_rows(self, rule: str, reason_sql: str, source: str, where: str) -> None:
        partition = PARTITION_COLUMN if self.table.partitioned else "NULL::DATE"
        self.quarantine.append(
            self.con.sql(
                f"""
                SELECT {quote_literal(self.table.name)} AS table_name, 'silver' AS layer,
                       {quote_literal(rule)} AS rule, {SOURCE_FILE_COLUMN} AS source_file,
                       NULL::BIGINT AS source_line, {reason_sql} AS reason,
                       to_json(struct_pack({self.cols_sql}))::VARCHAR AS record,
                       {partition} AS {PARTITION_COLUMN}, ?::TIMESTAMP AS quarantined_at
                FROM {source} WHERE {where}
                """,
                params=[self.now],
            ).to_arrow_table()
        )

    def standardise_and_dedup(self) -> None:
        select = ", ".join(
            f"{standardise_expr(self.table, c)} AS {quote_ident(self.table.silver_renames.get(c, c))}"
            for c in self.table.columns
        )
        if self.table.partitioned:
            select += f", {PARTITION_COLUMN}"
        # Exact duplicates are identical in every data column, whatever file they came from;
        # the copy kept remembers the latest file it was seen in.
        self.con.execute(
            f"""
            CREATE TEMP TABLE dedup AS
            SELECT {self.cols_sql}, max({SOURCE_FILE_COLUMN}) AS {SOURCE_FILE_COLUMN},
                   max({INGESTED_AT_COLUMN}) AS {INGESTED_AT_COLUMN}
            FROM (SELECT {select}, {SOURCE_FILE_COLUMN}, {INGESTED_AT_COLUMN} FROM bronze)
            GROUP BY ALL
            """
        )
        kept = self.con.sql("SELECT count(*) FROM dedup").fetchall()[0][0]
        self.counts["exact_duplicates"] = self.input_rows - kept

    def resolve_keys(self, order_by: str | None = None, supersede: bool = False) -> None:
        """Keep one row per primary key; the others are quarantined (or, for reviews,
        superseded by the rule of METRICS.md)."""
        pk = ", ".join(self.key_cols)
        ranking = order_by or (
            f"{INGESTED_AT_COLUMN} DESC, {SOURCE_FILE_COLUMN} DESC, {self.cols_sql}"
        )
        self.con.execute(
            f"""
            CREATE TEMP TABLE ranked AS
            SELECT *, row_number() OVER (PARTITION BY {pk} ORDER BY {ranking}) AS _rank
            FROM dedup
            """
        )
        null_key = " OR ".join(f"{c} IS NULL" for c in self.key_cols)
        # Every row with an empty key (they share one "key", so only one of them has rank 1).
        self.quarantine_rows(
            "null_key",
            f"'primary key ({pk.replace(chr(34), '')}) is empty'",
            "ranked",
            null_key,
        )
        if supersede:
            self.counts["superseded"] = self.con.sql(
                f"SELECT count(*) FROM ranked WHERE _rank > 1 AND NOT ({null_key})"
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
                f"_rank > 1 AND NOT ({null_key})",
            )
        self.con.execute(
            f"CREATE TEMP TABLE kept AS SELECT * EXCLUDE (_rank) FROM ranked "
            f"WHERE _rank = 1 AND NOT ({null_key})"
        )

    def check_references(self, references: dict[str, tuple[str, Tabular]]) -> str:
        """Quarantine orphans; returns the SQL condition that excludes them."""
        conditions, reasons = [], []
        for col, (parent_name, parent) in references.items():
            view = f"parent_{col}"
            # A Parquet dataset (DATASET_INPUT) reads only the key column here.
            keys = parent.to_table(columns=[col]) if isinstance(parent, ds.Dataset) else parent
            self.con.register(view, keys.select([col]))
            c = quote_ident(col)
            cond = (
                f"({c} IS NOT NULL AND {c} NOT IN (SELECT {c} FROM {view} WHERE {c} IS NOT NULL))"
            )
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
            return "FALSE"
        # One quarantine row per rejected row (an item with an unknown product and an unknown
        # seller is one row with both reasons), so quarantined rows reconcile with bronze.
        orphan = " OR ".join(conditions)
        self.quarantine_rows("orphan", f"concat_ws('; ', {', '.join(reasons)})", "kept", orphan)
        return orphan

    def check_non_negative(self, columns: tuple[str, ...]) -> None:
        """Quarantine rows with a negative amount or count, and take them out of ``kept``."""
        if not columns:
            return
        negative = " OR ".join(f"{quote_ident(c)} < 0" for c in columns)
        reasons = ", ".join(
            f"CASE WHEN {quote_ident(c)} < 0 THEN '{c} ' || {quote_ident(c)} || ' < 0' END"
            for c in columns
        )
        self.quarantine_rows("negative_value", f"concat_ws('; ', {reasons})", "kept", negative)
        self.con.execute(f"DELETE FROM kept WHERE {negative}")

    def check_keys(self) -> None:
        """Quarantine rows of ``kept`` with a malformed analytic key (``key_problem_sql``)."""
        columns = ANALYTIC_KEYS.get(self.table.name, ())
        if not columns:
            return
        problems = [key_problem_sql(c) for c in columns]
        bad = " OR ".join(f"({p}) IS NOT NULL" for p in problems)
        reasons = f"concat_ws('; ', {', '.join(problems)})"
        self.quarantine_rows(INVALID_KEY_RULE, reasons, "kept", bad)
        self.con.execute(f"DELETE FROM kept WHERE {bad}")

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
        reason = f"concat_ws('; ', {', '.join(reasons)})"
        self.quarantine_rows(INVALID_VALUE_RULE, reason, "kept", bad)
        self.con.execute(f"DELETE FROM kept WHERE {bad}")

    def check_review_scores(self) -> None:
        """Quarantine reviews of ``kept`` whose score lies outside ``REVIEW_SCORE_RANGE``."""
        low, high = REVIEW_SCORE_RANGE
        bad = f"coalesce(review_score NOT BETWEEN {low} AND {high}, FALSE)"
        self.quarantine_rows(
            OUT_OF_RANGE_RULE,
            f"'review_score ' || review_score || ' is outside {low}..{high}'",
            "kept",
            bad,
        )
        self.con.execute(f"DELETE FROM kept WHERE {bad}")

    def result(self, table_sql: str) -> CleanResult:
        try:
            out = self.con.sql(table_sql).to_arrow_table()
        finally:
            self.con.close()
        quarantine = concat(self.quarantine, arrow_schema(QUARANTINE_COLUMNS)).cast(
            arrow_schema(QUARANTINE_COLUMNS)
        )
        self.counts["quarantined"] = quarantine.num_rows
        self.counts["output_rows"] = out.num_rows
        return CleanResult(
            conform(out, silver_table_columns(self.table.name)), quarantine, self.counts
        )


def clean_source(
    table_name: str,
    bronze: pa.Table,
    now: datetime,
    references: dict[str, tuple[str, Tabular]] | None = None,
    params: MetricParams | None = None,
) -> CleanResult:
    """The generic silver rules for a source table (every table but reviews and geolocation).

    ``references`` maps a column to (parent table name, a table holding the parent's keys in a
    column of the same name). ``params`` gives the line-amount ceiling (default MetricParams()).
    """
    params = params or MetricParams()
    table = SOURCE_TABLES[table_name]
    cleaner = _Cleaner(table, bronze, now)
    cleaner.standardise_and_dedup()
    cleaner.resolve_keys()
    cleaner.check_keys()
    cleaner.check_values(params.max_line_amount)
    cleaner.check_non_negative(NON_NEGATIVE_COLUMNS.get(table_name, ()))
    orphan = cleaner.check_references(references or {})
    pk = ", ".join(cleaner.key_cols)
    return cleaner.result(f"SELECT * FROM kept WHERE NOT ({orphan}) ORDER BY {pk}")


def clean_order_reviews(bronze: pa.Table, now: datetime) -> CleanResult:
    """One review per order: the latest answered (ties: higher score, then higher review_id)."""
    cleaner = _Cleaner(ORDER_REVIEWS, bronze, now)
    cleaner.standardise_and_dedup()
    cleaner.resolve_keys(
        order_by="review_answer_timestamp DESC NULLS LAST, review_score DESC NULLS LAST, "
        "review_id DESC",
        supersede=True,
    )
    cleaner.check_keys()
    # After the latest review is chosen: an invalid latest score is quarantined and the order has
    # no score (an older review is not promoted: the latest answer is the customer's last word).
    cleaner.check_review_scores()
    return cleaner.result("SELECT * FROM kept ORDER BY order_id")


def clean_products(
    bronze: pa.Table, translation: Tabular, now: datetime, params: MetricParams | None = None
) -> CleanResult:
    """Products with renamed columns and the English category name (NULL when untranslated)."""
    cleaner = _Cleaner(SOURCE_TABLES["products"], bronze, now)
    cleaner.standardise_and_dedup()
    cleaner.resolve_keys()
    cleaner.check_keys()
    cleaner.check_values((params or MetricParams()).max_line_amount)
    cleaner.con.register("translation", translation)
    return cleaner.result(
        """
        SELECT kept.*, t.product_category_name_english
        FROM kept LEFT JOIN translation t USING (product_category_name)
        ORDER BY product_id
        """
    )


def clean_geolocation(bronze: pa.Table, now: datetime) -> CleanResult:
    """One row per zip prefix from the in-Brazil points: median lat/lng, modal city and state.

    Points outside Brazil are not errors of the row's identity, just unusable coordinates: they
    are quarantined with the reason so the count is visible.
    """
    cleaner = _Cleaner(GEOLOCATION, bronze, now)
    cleaner.standardise_and_dedup()
    # A NaN or infinite coordinate is an unusable value (rule 'invalid_value'), not a point.
    doubles = _double_columns(GEOLOCATION)
    non_finite = " OR ".join(non_finite_sql(c) for c in doubles)
    cleaner.quarantine_rows(
        INVALID_VALUE_RULE,
        _non_finite_reasons(doubles),
        "dedup",
        f"geolocation_zip_code_prefix IS NOT NULL AND ({non_finite})",
    )
    outside = (
        f"({non_finite}) OR "
        f"NOT (geolocation_lat BETWEEN {BRAZIL_LAT[0]} AND {BRAZIL_LAT[1]} "
        f"AND geolocation_lng BETWEEN {BRAZIL_LNG[0]} AND {BRAZIL_LNG[1]}) "
        "OR geolocation_lat IS NULL OR geolocation_lng IS NULL"
    )
    cleaner.quarantine_rows(
        "out_of_range",
        "'point (' || coalesce(geolocation_lat::VARCHAR, 'NULL') || ', ' "
        "|| coalesce(geolocation_lng::VARCHAR, 'NULL') || ') is outside Brazil'",
        "dedup",
        f"geolocation_zip_code_prefix IS NOT NULL AND NOT ({non_finite}) AND ({outside})",
    )
    cleaner.quarantine_rows(
        "null_key",
        "'primary key (geolocation_zip_code_prefix) is empty'",
        "dedup",
        "geolocation_zip_code_prefix IS NULL",
    )
    # Several points per prefix collapse into one row: "superseded", as for reviews.
    return _finish_geolocation(cleaner, outside)


def _finish_geolocation(cleaner: _Cleaner, outside: str) -> CleanResult:
    con = cleaner.con
    con.execute(
        f"""
        CREATE TEMP TABLE points AS
        SELECT * FROM dedup WHERE geolocation_zip_code_prefix IS NOT NULL AND NOT ({outside})
        """
    )
    # Modal city and state per prefix; ties broken alphabetically so the result is stable.
    sql = """
        WITH city AS (
            SELECT geolocation_zip_code_prefix, geolocation_city
            FROM (SELECT geolocation_zip_code_prefix, geolocation_city, count(*) AS n
                  FROM points WHERE geolocation_city IS NOT NULL GROUP BY 1, 2)
            QUALIFY row_number() OVER (PARTITION BY geolocation_zip_code_prefix
                                       ORDER BY n DESC, geolocation_city) = 1
        ), state AS (
            SELECT geolocation_zip_code_prefix, geolocation_state
            FROM (SELECT geolocation_zip_code_prefix, geolocation_state, count(*) AS n
                  FROM points WHERE geolocation_state IS NOT NULL GROUP BY 1, 2)
            QUALIFY row_number() OVER (PARTITION BY geolocation_zip_code_prefix
                                       ORDER BY n DESC, geolocation_state) = 1
        )
        SELECT p.geolocation_zip_code_prefix,
               median(geolocation_lat) AS geolocation_lat,
               median(geolocation_lng) AS geolocation_lng,
               any_value(city.geolocation_city) AS geolocation_city,
               any_value(state.geolocation_state) AS geolocation_state,
               count(*) AS geolocation_points
        FROM points p
        LEFT JOIN city USING (geolocation_zip_code_prefix)
        LEFT JOIN state USING (geolocation_zip_code_prefix)
        GROUP BY p.geolocation_zip_code_prefix
        ORDER BY p.geolocation_zip_code_prefix
    """
    kept_points = con.sql("SELECT count(*) FROM points").fetchall()[0][0]
    result = cleaner.result(sql)
    result.counts["superseded"] = kept_points - result.counts["output_rows"]
    return result


def build_unified_user_lifecycle(
    orders: Tabular,
    customers: Tabular,
    items: Tabular,
    payments: Tabular,
    reviews: Tabular,
    products: Tabular,
) -> pa.Table:
    """One row per order (every status) with its customer, money, review and delivery facts.

    Inputs are silver tables (Arrow tables or Parquet datasets, which DuckDB scans in place);
    order-grain inputs are for the same partitions as ``orders``.
    """
    con = sql_connect()
    try:
        for name, tbl in {
            "orders": orders,
            "customers": customers,
            "items": items,
            "payments": payments,
            "reviews": reviews,
            "products": products,
        }.items():
            con.register(name, tbl)
        out = con.sql(
            f"""
            WITH item_totals AS (
                SELECT order_id, count(*) AS item_count,
                       sum(price)::DECIMAL(18,2) AS merchandise_value,
                       sum(freight_value)::DECIMAL(18,2) AS freight_value,
                       arg_min(product_id, order_item_id) AS first_item_product_id,
                       arg_min(seller_id, order_item_id) AS first_item_seller_id
                FROM items GROUP BY order_id
            ), payment_totals AS (
                SELECT order_id, count(*) AS payment_count,
                       sum(payment_value)::DECIMAL(18,2) AS paid,
                       -- The largest payment; ties go to the first in sequence.
                       arg_max(payment_type, (payment_value, -payment_sequential)) AS payment_type,
                       arg_max(payment_installments, (payment_value, -payment_sequential))
                           AS payment_installments
                FROM payments GROUP BY order_id
            )
            SELECT o.order_id, o.customer_id, c.customer_unique_id, c.customer_city,
                   c.customer_state, c.customer_zip_code_prefix, o.order_status,
                   o.order_purchase_timestamp, o.order_approved_at,
                   o.order_delivered_customer_date, o.order_estimated_delivery_date,
                   date_trunc('month', o.order_purchase_timestamp)::DATE AS purchase_month,
                   date_trunc('quarter', o.order_purchase_timestamp)::DATE AS purchase_quarter,
                   -- METRICS.md: payments when there are any, else price + freight; 0 for an
                   -- order with neither (e.g. canceled before items were attached).
                   -- Money is exact (DECIMAL(18,2)), so every run sums to the same cent.
                   coalesce(p.paid, i.merchandise_value + i.freight_value, 0)::DECIMAL(18,2)
                       AS order_revenue,
                   coalesce(i.item_count, 0) AS item_count,
                   coalesce(i.merchandise_value, 0)::DECIMAL(18,2) AS merchandise_value,
                   coalesce(i.freight_value, 0)::DECIMAL(18,2) AS freight_value,
                   coalesce(p.payment_count, 0) AS payment_count,
                   p.payment_type, p.payment_installments,
                   r.review_score,
                   epoch(o.order_delivered_customer_date - o.order_purchase_timestamp) / 86400.0
                       AS delivery_days,
                   -- The estimate is a date (00:00:00): on time means delivered that day or before.
                   o.order_delivered_customer_date::DATE <= o.order_estimated_delivery_date::DATE
                       AS is_on_time,
                   i.first_item_product_id, i.first_item_seller_id,
                   coalesce(pr.product_category_name_english, pr.product_category_name)
                       AS first_item_category,
                   o.{PARTITION_COLUMN}
            FROM orders o
            LEFT JOIN customers c USING (customer_id)
            LEFT JOIN item_totals i USING (order_id)
            LEFT JOIN payment_totals p USING (order_id)
            LEFT JOIN reviews r USING (order_id)
            LEFT JOIN products pr ON pr.product_id = i.first_item_product_id
            ORDER BY o.order_purchase_timestamp, o.order_id
            """
        ).to_arrow_table()
    finally:
        con.close()
    return conform(out, silver_table_columns("unified_user_lifecycle"))

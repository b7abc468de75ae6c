"""Gold transforms: silver order lifecycle -> customer 360, segmentation, cohorts (METRICS.md).

Pure functions, no Dagster. The SQL of each table is its model file, ``models/gold/<table>.sql``;
this module binds the parameters (``MetricParams`` -> ``$parameters``, sql_params.py)
and asks the engine to run it. Each function returns a table whose columns are exactly, and in
the order of, ``schema.GOLD_TABLES[name]`` (the DuckDB IO manager inserts positionally): a pandas
DataFrame for the small tables, an Arrow table for the two customer-grain ones (customer_360,
customer_unified_lifecycle), whose pandas copy cost more than the query at 1M customers.

Output types (engine.arrow_type): every integer int64 (the tables declare BIGINT), DOUBLE float64,
money (``schema.MONEY``, DECIMAL(18,2)) decimal128(18, 2), BOOLEAN bool, VARCHAR string,
TIMESTAMP timestamp[us] and DATE date32. Money sums are exact and cast back to DECIMAL(18,2);
shares and averages are DOUBLE computed from those exact sums, so every run of the same input
gives bit-identical tables. A DataFrame is that table's ``to_pandas()`` (money as a decimal128
ArrowDtype column): VARCHAR object and DATE python ``datetime.date`` objects, so that it lands as
a DATE column again in the warehouse. The small tables' rows come in a fixed order; the two
customer-grain tables' rows in no particular order (a table has none; read it with ORDER BY).
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import pyarrow as pa

from goodpulse_dagster import schema
from goodpulse_dagster.engine import Input, Relation, run_model, session, to_pandas
from goodpulse_dagster.gold.as_of import compute_as_of
from goodpulse_dagster.params import MetricParams
from goodpulse_dagster.sql_params import (
    label_params,
    metric_sql_params,
    span_sql_params,
)

# An input table (kept under its old name for callers of gold.Frame).
Frame = Input

# rfm_segment by (r_score, f_score), transcribed from the METRICS.md code table. Each entry is
# (r_scores, f_scores, segment); together they cover the 25 codes exactly once.
RFM_SEGMENTS: tuple[tuple[tuple[int, ...], tuple[int, ...], str], ...] = (
    ((1, 2), (1, 2), "Hibernating"),
    ((1, 2), (3, 4), "At Risk"),
    ((1, 2), (5,), "Can't Lose Them"),
    ((3,), (1, 2), "About To Sleep"),
    ((3,), (3,), "Need Attention"),
    ((3, 4), (4, 5), "Loyal Customers"),
    ((4,), (1,), "Promising"),
    ((5,), (1,), "New Customers"),
    ((4, 5), (2, 3), "Potential Loyalists"),
    ((5,), (4, 5), "Champions"),
)


# --- customer_360 and customer_unified_lifecycle -------------------------------------------------


def rfm_code_table() -> pa.Table:
    """The 25 (r_score, f_score) -> rfm_segment rows of ``RFM_SEGMENTS``, joined in SQL."""
    rows = [(r, f, seg) for rs, fs, seg in RFM_SEGMENTS for r in rs for f in fs]
    return pa.table(
        {
            "r_score": pa.array([r for r, _, _ in rows], pa.int64()),
            "f_score": pa.array([f for _, f, _ in rows], pa.int64()),
            "rfm_segment": pa.array([s for _, _, s in rows], pa.string()),
        }
    )


class CustomerTables(NamedTuple):
    """The two customer-grain gold tables, from one query (Arrow)."""

    customer_360: pa.Table
    customer_unified_lifecycle: pa.Table


def _customer_table_run(
    lifecycle: Input, closed_deals: Input, leads: Input, sellers: Input, params: MetricParams
) -> tuple[dict[str, Input], dict[str, object]]:
    """The inputs and parameters of models/gold/customer_unified_lifecycle.sql."""
    sql_params = {**metric_sql_params(params), "as_of": compute_as_of(lifecycle, params)}
    inputs = {
        "lifecycle": lifecycle,
        "closed_deals": closed_deals,
        "leads": leads,
        "sellers": sellers,
        "rfm_codes": rfm_code_table(),
    }
    return inputs, sql_params


# The per-customer steps of models/gold/customer_unified_lifecycle.sql, in order: each is kept as a
# temporary table (``Session.materialize``) that DuckDB can spill, so the customer tables are built
# within the memory budget at any number of customers (the comment atop each step says why).
CUSTOMER_STEPS = tuple(
    f"gold/customer_unified_lifecycle__{step}"
    for step in ("first_orders", "latest_orders", "totals")
)


def _materialize_customer_steps(s, sql_params: dict[str, object]) -> None:
    for step in CUSTOMER_STEPS:
        s.materialize(step, sql_params)


def build_customer_tables(
    lifecycle: Input, closed_deals: Input, leads: Input, sellers: Input, params: MetricParams
) -> CustomerTables:
    """``gold.customer_360`` (one row per customer with at least one completed order) and
    ``gold.customer_unified_lifecycle`` (customer_360 plus cohorts and first-order context).

    One query computes the unified rows and customer_360 selects its first columns (the comment
    at the top of models/gold/customer_unified_lifecycle.sql says why).
    """
    inputs, sql_params = _customer_table_run(lifecycle, closed_deals, leads, sellers, params)
    with session(inputs) as s:
        _materialize_customer_steps(s, sql_params)
        unified = s.run(
            "gold/customer_unified_lifecycle",
            sql_params,
            schema.CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS,
        )
        s.register("customer_unified_lifecycle", unified)
        customer_360 = s.run("gold/customer_360", {}, schema.CUSTOMER_360_COLUMNS)
    return CustomerTables(customer_360, unified)


def create_customer_tables(
    lifecycle: Input, closed_deals: Input, leads: Input, sellers: Input, params: MetricParams
) -> dict[str, int]:
    """``build_customer_tables`` written as ``gold.customer_unified_lifecycle`` and
    ``gold.customer_360`` of the database the engine runs in (the warehouse: a gold step runs in
    ``WarehouseResource.engine``), without either passing through Python; rows of each.

    Both tables, always: customer_360 is read from its sibling, which the same statement history
    just wrote (a subset run of customer_360 alone would otherwise recompute every customer)."""
    inputs, sql_params = _customer_table_run(lifecycle, closed_deals, leads, sellers, params)
    unified, customer_360 = (f"{schema.GOLD}.{name}" for name in CustomerTables._fields[::-1])
    with session(inputs) as s:
        _materialize_customer_steps(s, sql_params)
        rows = {
            "customer_unified_lifecycle": s.create_table(
                "gold/customer_unified_lifecycle",
                unified,
                sql_params,
                schema.CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS,
            )
        }
        s.register("customer_unified_lifecycle", Relation(f"SELECT * FROM {unified}"))
        rows["customer_360"] = s.create_table(
            "gold/customer_360", customer_360, {}, schema.CUSTOMER_360_COLUMNS
        )
    return rows


# --- customer_segmentation -----------------------------------------------------------------------

# The customer_360 columns the segmentation reads (its asset loads only these).
SEGMENTATION_INPUT_COLUMNS = (
    "segment_label",
    "lifecycle_stage",
    "value_segment",
    "frequency_tier",
    "lifetime_revenue",
)


def build_customer_segmentation(customer_360: Input) -> pd.DataFrame:
    """``gold.customer_segmentation``: one row per segment_label, in category order."""
    table = run_model(
        "gold/customer_segmentation",
        {"customer_360": customer_360},
        label_params(),
        schema.CUSTOMER_SEGMENTATION_COLUMNS,
    )
    return to_pandas(table)


# --- cohort_retention ----------------------------------------------------------------------------


def build_cohort_retention(lifecycle: Input, params: MetricParams) -> pd.DataFrame:
    """``gold.cohort_retention``: (grain, cohort, period_index) rows for quarter and month, each
    flagged ``is_complete`` when the data covers the whole period (macro ``period_is_complete``,
    models/_shared/macros.sql)."""
    table = run_model(
        "gold/cohort_retention",
        {"lifecycle": lifecycle},
        {**metric_sql_params(params), **span_sql_params(params)},
        schema.COHORT_RETENTION_COLUMNS,
    )
    return to_pandas(table)

"""Silver checks: keys, references, values, and reconciliation with bronze, per partition.

- ``primary_key`` (ERROR, blocking): the table's key (schema.SOURCE_TABLES[..].primary_key, order_id
  for unified_user_lifecycle) is unique and not null in the partitions of the run.
- ``references_<parent>`` (blocking; WARN up to ``analytics.orphan_error_rate``, ERROR above):
  orders -> customers, items -> products and sellers, items/payments/reviews -> orders. Counts
  the orphans silver quarantined plus any row still pointing at a missing parent (an item whose
  order was itself quarantined in silver orders).
- values: ``order_status_known``, ``timestamps_valid`` (WARN); ``values_non_negative`` and
  ``values_valid`` (ERROR, blocking: silver quarantines negative, non-finite and above-ceiling
  amounts, so one in the table means a broken rule and wrong revenue downstream);
  ``review_score_in_range`` (ERROR, blocking: silver quarantines scores outside 1..5, rule
  ``out_of_range``, so nothing out of range can remain to feed avg_review_score).
- ``rows_reconcile`` (ERROR, blocking): silver rows = bronze rows - exact duplicates - superseded -
  quarantined, per partition of the run.
"""

from datetime import datetime

from dagster import AssetKey, MetadataValue

from goodpulse_dagster.partitions import FIRST_QUARTER
from goodpulse_dagster.quality.checks import (
    LakeCheckInputs,
    MissingLakeObjectError,
    Outcome,
    Rule,
    lake_checks,
)
from goodpulse_dagster.quality.rules import (
    ORPHAN_RULE,
    REVIEW_SCORE_RANGE,
    SEVERITY_WARN,
    Finding,
    count_quarantined,
    invalid_values,
    key_violations,
    missing_references,
    negative_values,
    orphan_reason_pattern,
    orphan_severity,
    out_of_range,
    reconciliation_finding,
    row_count,
    row_count_differences,
    silver_reconciliation,
    timestamp_violations,
    unknown_values,
)
from goodpulse_dagster.schema import (
    BRONZE,
    DOUBLE,
    ORDER_ITEMS,
    ORDER_PAYMENTS,
    ORDER_REVIEWS,
    ORDER_STATUSES,
    ORDERS,
    SILVER,
    SILVER_PARTITIONED_TABLES,
    SILVER_SPECS,
    SILVER_TABLES,
    SOURCE_TABLES,
)
from goodpulse_dagster.silver.cleaning import LINE_AMOUNT_COLUMNS, NON_NEGATIVE_COLUMNS

LIFECYCLE = "unified_user_lifecycle"


def _key(table: str) -> AssetKey:
    return AssetKey([SILVER, table])


def _partitioned(table: str) -> bool:
    return table in SILVER_PARTITIONED_TABLES


def silver_primary_key(table: str) -> tuple[str, ...]:
    """Key columns of a silver table, under their silver names."""
    if table == LIFECYCLE:
        return ("order_id",)
    source = SOURCE_TABLES[table]
    return tuple(source.silver_renames.get(c, c) for c in source.primary_key)


def _silver(inputs: LakeCheckInputs, table: str | None = None):
    table = table or inputs.table
    return inputs.reader.asset(SILVER, table, _partitioned(table))


def _quarantine(inputs: LakeCheckInputs, layer: str = SILVER):
    return inputs.reader.quarantine(inputs.table, layer, _partitioned(inputs.table))


def primary_key(inputs: LakeCheckInputs) -> Outcome:
    return Outcome(key_violations(_silver(inputs), silver_primary_key(inputs.table)))


def references(column: str, parent: str):
    def evaluate(inputs: LakeCheckInputs) -> Outcome:
        silver = _silver(inputs)
        silver_rows = row_count(silver)
        quarantined = count_quarantined(
            _quarantine(inputs), ORPHAN_RULE, orphan_reason_pattern(column, parent)
        )
        try:
            parent_rows = _silver(inputs, parent)
        except MissingLakeObjectError as missing:
            # In an all-asset backfill the parent can land in a later run than this table (its
            # own unpartitioned parents order the runs). Say so with a WARN, which does not
            # block, rather than fail the run or pass without having looked.
            return Outcome(
                Finding(
                    violations=silver_rows,
                    counts={"rows_checked": 0, "rows_unverified": silver_rows},
                    samples=[f"silver {parent} not materialized yet for this run: {missing}"],
                ),
                severity=SEVERITY_WARN,
            )
        live = missing_references(silver, parent_rows, column)
        orphans = quarantined + live.violations
        rows = silver_rows + quarantined
        rate = orphans / rows if rows else 0.0
        error_rate = inputs.analytics.orphan_error_rate
        metadata = {"orphan_rate": rate, "orphan_error_rate": error_rate}
        if parent == ORDERS.name:
            # Rows whose order is in no orders file never reach silver: bronze quarantined them
            # (bronze check references_orders). Shown here so the whole story is in one place.
            bronze_q = _quarantine(inputs, BRONZE)
            metadata["bronze_orphans_quarantined"] = count_quarantined(bronze_q, ORPHAN_RULE)
        return Outcome(
            Finding(
                violations=orphans,
                counts={
                    "rows_checked": rows,
                    "orphans_quarantined": quarantined,
                    "orphans_in_table": live.violations,
                },
                samples=[f"{column} {v} not in silver {parent}" for v in live.samples],
            ),
            severity=orphan_severity(orphans, rows, error_rate) or SEVERITY_WARN,
            metadata=metadata,
        )

    return evaluate


def order_status_known(inputs: LakeCheckInputs) -> Outcome:
    finding = unknown_values(_silver(inputs), "order_status", ORDER_STATUSES)
    return Outcome(finding, SEVERITY_WARN)


def timestamps_valid(inputs: LakeCheckInputs) -> Outcome:
    start = datetime.fromisoformat(FIRST_QUARTER)
    end = datetime.now()
    finding = timestamp_violations(_silver(inputs), start, end)
    return Outcome(
        finding,
        SEVERITY_WARN,
        {"range_start": str(start), "range_end": str(end.replace(microsecond=0))},
    )


def review_score_in_range(inputs: LakeCheckInputs) -> Outcome:
    return Outcome(out_of_range(_silver(inputs), "review_score", *REVIEW_SCORE_RANGE))


def values_valid(inputs: LakeCheckInputs) -> Outcome:
    table = SOURCE_TABLES[inputs.table]
    return Outcome(
        invalid_values(
            _silver(inputs),
            [c for c, t in table.columns.items() if t == DOUBLE],
            LINE_AMOUNT_COLUMNS.get(inputs.table, ()),
            inputs.analytics.max_line_amount,
        ),
        metadata={"max_line_amount": inputs.analytics.max_line_amount},
    )


def values_non_negative(inputs: LakeCheckInputs) -> Outcome:
    return Outcome(negative_values(_silver(inputs), NON_NEGATIVE_COLUMNS[inputs.table]))


def _reconciliation_table(rows: list[dict]) -> str:
    names = ["bronze_rows", "exact_duplicates", "superseded", "quarantined", "silver_rows"]
    lines = ["| partition | " + " | ".join(names) + " | difference |", "|---" * 7 + "|"]
    for row in rows:
        values = " | ".join(f"{row[n]:,}" for n in names)
        lines.append(f"| {row['partition'] or 'all'} | {values} | {row['difference']:,} |")
    return "\n".join(lines)


def rows_reconcile(inputs: LakeCheckInputs) -> Outcome:
    partitioned = _partitioned(inputs.table)
    rows = silver_reconciliation(
        inputs.table,
        inputs.reader.asset(BRONZE, inputs.table, partitioned),
        _silver(inputs),
        _quarantine(inputs),
    )
    return Outcome(
        reconciliation_finding(rows),
        metadata={"per_partition": MetadataValue.md(_reconciliation_table(rows))},
    )


def lifecycle_rows_reconcile(inputs: LakeCheckInputs) -> Outcome:
    return Outcome(row_count_differences(_silver(inputs, ORDERS.name), _silver(inputs)))


def silver_rules(table: str) -> list[Rule]:
    rules = [
        Rule(
            "primary_key",
            f"Primary key ({', '.join(silver_primary_key(table))}) unique and not null.",
            primary_key,
            blocking=True,
        )
    ]
    # Every foreign key of the table spec, whichever layer quarantines its orphans.
    for reference in SILVER_SPECS[table].references:
        column, parent = reference.column, reference.parent
        rules.append(
            Rule(
                f"references_{parent}",
                f"{column} exists in silver {parent}. Orphans are quarantined with the reason; "
                "WARN while orphans / rows is at most analytics.orphan_error_rate, ERROR "
                "(blocking) above it.",
                references(column, parent),
                blocking=True,
                additional_deps=(_key(parent),),
            )
        )
    if table == ORDERS.name:
        rules += [
            Rule(
                "order_status_known",
                "order_status is one of schema.ORDER_STATUSES (WARN: an unknown status never "
                "counts as completed).",
                order_status_known,
            ),
            Rule(
                "timestamps_valid",
                "Purchase, approval, carrier and delivery times lie between the first partition "
                "and now; approval and delivery are not before the purchase; each order is "
                "stored in the quarter of its purchase (WARN).",
                timestamps_valid,
            ),
        ]
    if table in (ORDER_ITEMS.name, ORDER_PAYMENTS.name):
        rules.append(
            Rule(
                "values_non_negative",
                f"{', '.join(NON_NEGATIVE_COLUMNS[table])} >= 0 (silver quarantines negative "
                "ones, so a violation means the rule broke).",
                values_non_negative,
                blocking=True,
            )
        )
        rules.append(
            Rule(
                "values_valid",
                f"{', '.join(LINE_AMOUNT_COLUMNS[table])} at most analytics.max_line_amount "
                "(GOODPULSE_MAX_LINE_AMOUNT; silver quarantines larger ones, rule invalid_value, "
                "so a violation means the rule broke).",
                values_valid,
                blocking=True,
            )
        )
    if table == ORDER_REVIEWS.name:
        rules.append(
            Rule(
                "review_score_in_range",
                f"review_score between {REVIEW_SCORE_RANGE[0]} and {REVIEW_SCORE_RANGE[1]} "
                "(silver quarantines others, rule out_of_range: ERROR, blocking).",
                review_score_in_range,
                blocking=True,
            )
        )
    if table == LIFECYCLE:
        rules.append(
            Rule(
                "rows_reconcile",
                "One row per silver order in every partition of the run.",
                lifecycle_rows_reconcile,
                blocking=True,
                additional_deps=(_key(ORDERS.name),),
            )
        )
    else:
        rules.append(
            Rule(
                "rows_reconcile",
                "Per partition: silver rows = bronze rows - exact duplicates - superseded "
                "(reviews, geolocation points) - quarantined; every count in metadata.",
                rows_reconcile,
                blocking=True,
            )
        )
    return rules


def build_silver_checks() -> list:
    return [
        lake_checks(
            f"silver_{table}_checks",
            _key(table),
            table,
            silver_rules(table),
            partitioned=_partitioned(table),
        )
        for table in SILVER_TABLES
    ]

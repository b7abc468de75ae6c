"""Bronze checks: the typed copy has the declared columns, extra columns are reported, unreadable
records are counted, item, payment and review rows reference a known order, and every file of the
landing zone was read.

A file that misses a required column never gets this far: the bronze asset fails, naming the file
and the column (bronze/parsing.py), and only that asset (and what depends on it) stops.
"""

import warnings

from dagster import AssetKey, BetaWarning, build_column_schema_change_checks

from goodpulse_dagster.asset_conventions import UNRECOGNISED_COUNT, UNRECOGNISED_FILES
from goodpulse_dagster.quality.checks import (
    LakeCheckInputs,
    Outcome,
    Rule,
    lake_checks,
    latest_metadata_value,
)
from goodpulse_dagster.quality.rules import (
    BRONZE_REJECT_RULES,
    ORPHAN_RULE,
    SEVERITY_WARN,
    Finding,
    column_differences,
    count_quarantined,
    orphan_severity,
    quarantine_counts,
    quarantine_samples,
    row_count,
)
from goodpulse_dagster.schema import BRONZE, ORDERS, SOURCE_TABLES, bronze_table_columns


def _key(table: str) -> AssetKey:
    return AssetKey([BRONZE, table])


def _differences(inputs: LakeCheckInputs):
    partitioned = SOURCE_TABLES[inputs.table].partitioned
    expected = bronze_table_columns(inputs.table)
    for relpath, schema in inputs.reader.schemas(BRONZE, inputs.table, partitioned).items():
        yield relpath, column_differences(schema, expected)


def expected_columns(inputs: LakeCheckInputs) -> Outcome:
    objects = list(_differences(inputs))
    missing = sorted({c for _, (m, _, _) in objects for c in m})
    wrong = sorted({w for _, (_, types, _) in objects for w in types})
    return Outcome(
        Finding(
            violations=len(missing) + len(wrong),
            counts={"objects_checked": len(objects)},
            samples=[f"missing column {c}" for c in missing] + [f"type {w}" for w in wrong],
        ),
        metadata={"expected_columns": len(bronze_table_columns(inputs.table))},
    )


def extra_columns(inputs: LakeCheckInputs) -> Outcome:
    extra = sorted({c for _, (_, _, e) in _differences(inputs) for c in e})
    return Outcome(
        Finding(len(extra), {"extra_columns": len(extra)}, [f"extra column {c}" for c in extra]),
        severity=SEVERITY_WARN,
        metadata={"extra_column_names": ", ".join(extra) or "none"},
    )


def _source_records(inputs: LakeCheckInputs) -> int | None:
    """Records in the table's source files, from the asset's latest materialization."""
    value = latest_metadata_value(inputs.context, _key(inputs.table), "source_records")
    return int(value) if value is not None else None


def rows_parseable(inputs: LakeCheckInputs) -> Outcome:
    quarantine = inputs.reader.quarantine(inputs.table, BRONZE, partitioned=False)
    counts = quarantine_counts(quarantine, BRONZE_REJECT_RULES)
    return Outcome(
        Finding(
            violations=sum(counts.values()),
            counts={f"rows_{rule}": n for rule, n in counts.items()},
            samples=quarantine_samples(quarantine, BRONZE_REJECT_RULES),
        ),
        severity=SEVERITY_WARN,
        metadata={"source_records": _source_records(inputs)},
    )


def references_orders(inputs: LakeCheckInputs) -> Outcome:
    quarantine = inputs.reader.quarantine(inputs.table, BRONZE, partitioned=False)
    orphans = count_quarantined(quarantine, ORPHAN_RULE)
    records = _source_records(inputs)
    if records is None:
        # No materialization record to read (a check run on its own): the run's rows instead.
        records = orphans + row_count(inputs.reader.asset(BRONZE, inputs.table, partitioned=True))
    rate = orphans / records if records else 0.0
    severity = orphan_severity(orphans, records, inputs.analytics.orphan_error_rate)
    return Outcome(
        Finding(
            violations=orphans,
            counts={"orphans_quarantined": orphans, "source_records": records},
            samples=quarantine_samples(quarantine, [ORPHAN_RULE]),
        ),
        severity=severity or SEVERITY_WARN,
        metadata={
            "orphan_rate": rate,
            "orphan_error_rate": inputs.analytics.orphan_error_rate,
        },
    )


def landing_zone_files_recognised(inputs: LakeCheckInputs) -> Outcome:
    """Files in the landing zone that no table reads (unknown names, refused symlinks), as the
    asset's latest materialization listed them.

    On every bronze asset, not on one: the landing zone is shared, a run may materialize any
    subset of the tables, and a file nobody reads is most likely a misnamed export of one of
    them, so whichever bronze asset a run builds says so (the same list on each)."""
    count = latest_metadata_value(inputs.context, _key(inputs.table), UNRECOGNISED_COUNT)
    listed = latest_metadata_value(inputs.context, _key(inputs.table), UNRECOGNISED_FILES)
    samples = [line[2:].strip("`") for line in str(listed or "").splitlines() if line[:2] == "- "]
    return Outcome(
        Finding(int(count or 0), {"unrecognised_files": int(count or 0)}, samples),
        severity=SEVERITY_WARN,
    )


def bronze_rules(table: str) -> list[Rule]:
    rules = [
        Rule(
            "expected_columns",
            "Every declared column of the table (its table spec, schema/) is present with its declared type.",
            expected_columns,
            blocking=True,
        ),
        Rule(
            "extra_columns",
            "Columns the export has beyond the declared ones: kept as text, reported (WARN).",
            extra_columns,
        ),
        Rule(
            "rows_parseable",
            "Records quarantined because they could not be read (wrong field count, unparseable "
            "number or timestamp) or routed (order without a purchase time), with file and line "
            "(WARN).",
            rows_parseable,
        ),
        Rule(
            "landing_zone_files_recognised",
            "Every file in the landing zone is read: files with an unknown name or type and "
            "symlinks leading outside the landing zone are listed with their path (WARN).",
            landing_zone_files_recognised,
        ),
    ]
    table_def = SOURCE_TABLES[table]
    if table_def.partitioned and table != ORDERS.name:
        rules.append(
            Rule(
                "references_orders",
                "Rows whose order_id is in no orders file are quarantined (rule 'orphan'): WARN "
                "while their share of the source records is at most analytics.orphan_error_rate, "
                "ERROR (blocking) above it.",
                references_orders,
                blocking=True,
            )
        )
    return rules


def build_bronze_checks() -> list:
    checks = [
        lake_checks(
            f"bronze_{name}_checks",
            _key(name),
            name,
            bronze_rules(name),
            partitioned=table.partitioned,
        )
        for name, table in SOURCE_TABLES.items()
    ]
    with warnings.catch_warnings():
        # build_column_schema_change_checks is beta in Dagster 1.13; it is what the brief asks for.
        warnings.simplefilter("ignore", BetaWarning)
        # WARN when a materialization's column schema (dagster/column_schema, from the stored
        # table) differs from the previous one: a column appeared, vanished or changed type.
        checks.extend(build_column_schema_change_checks(assets=[_key(n) for n in SOURCE_TABLES]))
    return checks

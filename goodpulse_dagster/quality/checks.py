"""What the checks of every layer share: rules, the check factories, and reading the lake.

A layer module lists its ``Rule``s per asset; ``lake_checks`` turns them into one
``multi_asset_check`` per asset (one step per asset: the partitions it reads are loaded once for
all its rules, and ``can_subset`` lets the UI run a single check). Each rule evaluates a pure
function of ``quality/rules.py`` and returns an ``Outcome``; ``to_result`` turns it into an
``AssetCheckResult`` with every count as metadata.

Checks on partitioned assets carry the quarterly ``partitions_def`` and read only the partitions
of the run (``context.partition_keys``), never the whole history. They read them as lake datasets
(``LakeReader``): the rules are SQL that DuckDB runs over the objects where they lie.
"""

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    PreviewWarning,
    multi_asset_check,
)

from goodpulse_dagster import lake_layout
from goodpulse_dagster.asset_conventions import DUCKDB_POOL
from goodpulse_dagster.engine import Relation
from goodpulse_dagster.partitions import quarterly_partitions
from goodpulse_dagster.quality.rules import (
    SEVERITY_ERROR,
    SEVERITY_WARN,
    SHARE_GROUPS,
    SHARE_TOLERANCE,
    Finding,
    key_violations,
    share_columns,
    share_sum_violations,
    unit_interval_columns,
    unit_interval_violations,
)
from goodpulse_dagster.resources.lake_data import LakeDataset
from goodpulse_dagster.resources.storage import AnalyticsSettings, LakeResource
from goodpulse_dagster.resources.warehouse import WarehouseResource
from goodpulse_dagster.schema import BRONZE, SILVER

SEVERITIES = {SEVERITY_WARN: AssetCheckSeverity.WARN, SEVERITY_ERROR: AssetCheckSeverity.ERROR}


@dataclass
class Outcome:
    """A rule's finding, the severity it fails with, and metadata beyond the finding's counts."""

    finding: Finding
    severity: str = SEVERITY_ERROR
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """One asset check: its name and description (shown in the UI), whether it blocks the
    downstream assets of the run, and its evaluation (whose ``Outcome`` carries the severity)."""

    name: str
    description: str
    evaluate: Callable[[Any], Outcome]
    blocking: bool = False
    # Assets the rule reads besides its own: the check step waits for them in a run.
    additional_deps: tuple[AssetKey, ...] = ()


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else f"{value:,}"


def failure_description(outcome: Outcome, rule_description: str | None = None) -> str:
    """What a failed check says in the UI, the CLI's summary and the stale notice: its examples
    when it has some ("order_id=o1 (2 rows)"), else the violations, the rule and the non-zero
    numbers behind them, so that the cause is there and not only the check's name."""
    finding = outcome.finding
    if finding.samples:
        return "; ".join(finding.samples[:3])
    numbers = {**finding.counts, **outcome.metadata}
    shown = ", ".join(
        f"{name.replace('_', ' ')} {_number(value)}"
        for name, value in numbers.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and value
    )
    rule = rule_description.split(". ")[0].rstrip(".") if rule_description else None
    return (
        f"{finding.violations:,} violation(s)"
        + (f" of the rule '{rule}'" if rule else "")
        + (f" ({shown})" if shown else "")
    )


def to_result(
    key: AssetCheckKey, outcome: Outcome, rule_description: str | None = None
) -> AssetCheckResult:
    finding = outcome.finding
    metadata: dict[str, Any] = {"violations": finding.violations, **finding.counts}
    metadata.update(outcome.metadata)
    if finding.samples:
        metadata["examples"] = MetadataValue.md("\n".join(f"- {s}" for s in finding.samples))
    return AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=finding.passed,
        severity=SEVERITIES[outcome.severity],
        metadata=metadata,
        description=None if finding.passed else failure_description(outcome, rule_description),
    )


def check_specs(asset_key: AssetKey, rules: Sequence[Rule], partitioned: bool):
    with warnings.catch_warnings():
        # Partitioned checks are a preview feature in Dagster 1.13; the design needs them (a
        # check reads the partitions its run materialized), so the warning is expected here.
        warnings.simplefilter("ignore", PreviewWarning)
        return [
            AssetCheckSpec(
                rule.name,
                asset=asset_key,
                description=rule.description,
                blocking=rule.blocking,
                additional_deps=list(rule.additional_deps),
                partitions_def=quarterly_partitions if partitioned else None,
            )
            for rule in rules
        ]


def run_partition_keys(context: AssetCheckExecutionContext) -> list[str] | None:
    """The partition keys of the run (one, or a range), or None for an unpartitioned run."""
    if context.has_partition_key or context.has_partition_key_range:
        return sorted(context.partition_keys)
    return None


class MissingLakeObjectError(FileNotFoundError):
    """A check needs a lake object the run should have written."""


class LakeReader:
    """The lake objects of one run as datasets: an asset's partitions of the run (or its one
    object), and the quarantine objects beside them. Nothing is read until a rule's SQL scans
    them."""

    def __init__(self, lake: LakeResource, partition_keys: list[str] | None):
        self.lake = lake
        self.store = lake.store()
        self.partition_keys = partition_keys

    def _relpaths(self, base: str, partitioned: bool) -> list[str]:
        keys = self.partition_keys if partitioned else None
        return lake_layout.table_objects(base, keys)

    def _dataset(self, relpaths: list[str]) -> LakeDataset:
        missing = [p for p in relpaths if not self.store.exists(p)]
        if missing:
            raise MissingLakeObjectError(
                f"{self.store.object_uri(missing[0])} does not exist"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + ": materialize the asset for these partitions before checking it"
            )
        return self.lake.dataset(relpaths)

    def asset(self, layer: str, table: str, partitioned: bool) -> LakeDataset:
        return self._dataset(self._relpaths(lake_layout.table_folder(layer, table), partitioned))

    def schemas(self, layer: str, table: str, partitioned: bool) -> dict[str, pa.Schema]:
        """The Parquet schema of each object of the run (read from the footer only)."""
        out = {}
        for relpath in self._relpaths(lake_layout.table_folder(layer, table), partitioned):
            out[relpath] = self._dataset([relpath]).schema()
        return out

    def quarantine(self, table: str, layer: str, partitioned: bool) -> LakeDataset:
        """Bronze: the table's one object (rows of every file, not partitioned). Silver: the
        run's partition objects of a partitioned table, the one object of a dimension."""
        if layer == BRONZE:
            names = [lake_layout.quarantine_name(BRONZE)]
        elif partitioned and self.partition_keys is not None:
            names = [lake_layout.quarantine_name(SILVER, k) for k in self.partition_keys]
        else:
            names = [lake_layout.quarantine_name(SILVER)]
        return self._dataset([lake_layout.quarantine_object(table, name) for name in names])


@dataclass
class LakeCheckInputs:
    """What a lake rule evaluates against: the reader, the analytics settings, the context."""

    table: str
    reader: LakeReader
    analytics: AnalyticsSettings
    context: AssetCheckExecutionContext


def lake_checks(
    name: str,
    asset_key: AssetKey,
    table: str,
    rules: Sequence[Rule],
    partitioned: bool,
):
    """One multi-asset check (one step) for the rules of a bronze or silver asset."""
    by_name = {rule.name: rule for rule in rules}

    @multi_asset_check(
        name=name,
        specs=check_specs(asset_key, rules, partitioned),
        can_subset=True,
        description=f"Data-quality checks of {asset_key.to_user_string()} (docs/data_quality.md).",
    )
    def _checks(
        context: AssetCheckExecutionContext, lake: LakeResource, analytics: AnalyticsSettings
    ):
        inputs = LakeCheckInputs(
            table, LakeReader(lake, run_partition_keys(context)), analytics, context
        )
        for check_key in _ordered(context.selected_asset_check_keys, by_name):
            rule = by_name[check_key.name]
            yield to_result(check_key, rule.evaluate(inputs), rule.description)

    return _checks


def _ordered(keys: Iterable[AssetCheckKey], by_name: Mapping[str, Rule]) -> list[AssetCheckKey]:
    order = {name: i for i, name in enumerate(by_name)}
    return sorted(keys, key=lambda k: order.get(k.name, len(order)))


def latest_metadata_value(
    context: AssetCheckExecutionContext, asset_key: AssetKey, name: str
) -> Any:
    """A metadata value of the asset's latest materialization (any partition), or None."""
    records = context.instance.fetch_materializations(asset_key, limit=1).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get(name)
    return getattr(value, "value", value)


def frame_checks(name: str, asset_key: AssetKey, rules: Sequence[Rule]):
    """One multi-asset check (one step) for the rules of a warehouse table (gold or KPI).

    The rules are SQL: they run in the warehouse (``WarehouseResource.engine``) over the table
    where it lies, so checking customer_360 copies none of its rows into Python. Warehouse reads
    take the DuckDB file lock, hence the ``duckdb`` pool.
    """
    by_name = {rule.name: rule for rule in rules}
    layer, table = asset_key.path
    frame = Relation(f"SELECT * FROM {layer}.{table}")

    @multi_asset_check(
        name=name,
        specs=check_specs(asset_key, rules, partitioned=False),
        can_subset=True,
        pool=DUCKDB_POOL,
        description=f"Data-quality checks of {asset_key.to_user_string()} (docs/data_quality.md).",
    )
    def _checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
        with warehouse.engine():
            for check_key in _ordered(context.selected_asset_check_keys, by_name):
                rule = by_name[check_key.name]
                yield to_result(check_key, rule.evaluate(frame), rule.description)

    return _checks


# --- Rules shared by the warehouse layers ------------------------------------------------------


def key_rule(columns: Sequence[str]) -> Rule:
    return Rule(
        "primary_key",
        f"One row per ({', '.join(columns)}): unique and not null.",
        lambda frame: Outcome(key_violations(frame, columns)),
        blocking=True,
    )


def shares_rule(table: str, columns: Sequence[str]) -> Rule:
    """Each share column sums to 1 over its population (quality.SHARE_GROUPS)."""
    groups = SHARE_GROUPS.get(table, ())

    def evaluate(frame) -> Outcome:
        findings = [share_sum_violations(frame, c, groups) for c in columns]
        return Outcome(
            Finding(
                violations=sum(f.violations for f in findings),
                counts={
                    f"{c}_populations_off": f.counts["populations_off"]
                    for c, f in zip(columns, findings, strict=True)
                },
                samples=[s for f in findings for s in f.samples],
            ),
            metadata={"share_tolerance": SHARE_TOLERANCE},
        )

    per = f" per {', '.join(groups)}" if groups else ""
    return Rule(
        "shares_sum_to_one",
        f"{', '.join(columns)} sum to 1{per} (within {SHARE_TOLERANCE:g}; a population with a "
        "zero total has NULL shares and is skipped).",
        evaluate,
        blocking=True,
    )


def rates_rule(columns: Sequence[str]) -> Rule:
    return Rule(
        "rates_in_range",
        f"{', '.join(columns)} within [0, 1] (NULL where the denominator is 0).",
        lambda frame: Outcome(unit_interval_violations(frame, columns)),
        blocking=True,
    )


def rate_and_share_rules(table: str, columns: Mapping[str, str]) -> list[Rule]:
    """Rates within [0, 1] and shares summing to 1, for the columns of ``table`` that are such."""
    rules = []
    if unit_interval_columns(columns):
        rules.append(rates_rule(unit_interval_columns(columns)))
    if share_columns(columns):
        rules.append(shares_rule(table, share_columns(columns)))
    return rules

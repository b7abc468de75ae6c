"""The two jobs: the quarterly-partitioned lake (bronze, silver, quarantine) and the analytics
(gold, KPI, report) that reads every quarter; how every run executes; and the tag the run queue limits by.

How a run executes. Every run of this code location (a job run, a UI backfill, a schedule, a
sensor or an automation run) uses the in-process executor: its steps run one after another in
the run's own process. The multiprocess executor started a Python process per step (~2-3 s of
imports each, ~70 steps for a full load) while the steps themselves are DuckDB queries that use
every core already, and the warehouse steps took turns in the `duckdb` pool anyway: a UI
materialization of everything took 5 min 11 s against 18.9 s for the CLI on the same 20,000
orders (issue "fast where people use it"). The CLI runs the same jobs in process too
(``execution.py``), so the CLI and the daemon execute a job the same way.

Run kinds. Every run of a job carries ``goodpulse/run_kind`` (``lake`` or ``analytics``), which
the run queue in ``dagster.yaml`` limits: lake runs up to the number of run slots, analytics runs
(one DuckDB warehouse writer) one at a time. They also carry the DuckDB budget
(``goodpulse/memory_limit``, ``goodpulse/threads``; memory_budget.py), and each finished step logs
the run's progress (automation/progress.py).
"""

from dagster import AssetKey, AssetSelection, define_asset_job, in_process_executor

from goodpulse_dagster import memory_budget
from goodpulse_dagster.automation.progress import PROGRESS_HOOKS
from goodpulse_dagster.execution import RANGE_END_TAG, RANGE_START_TAG
from goodpulse_dagster.schema import (
    BRONZE,
    GOLD,
    KPI,
    PARTITIONED_TABLES,
    QUARANTINE,
    REPORT,
    SILVER,
    SILVER_PARTITIONED_TABLES,
)

LAKE_JOB = "lake_job"
ANALYTICS_JOB = "analytics_job"
RUN_KIND_TAG = "goodpulse/run_kind"
LAKE_RUN = "lake"
ANALYTICS_RUN = "analytics"
# The executor of every run of the code location (Definitions(executor=...)) and of each job.
RUN_EXECUTOR = in_process_executor
# Every run of the two jobs shows the DuckDB budget of this code location's process (the one that
# runs the steps: in-process executor) in its tags.
BUDGET_TAGS = memory_budget.in_force().run_tags()


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """The tags of one run over the quarters ``first`` .. ``last`` (partition keys)."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


# The quarantine tables are loaded by the lake run that set their rows aside, not by a run of
# their own: a quarantine asset is ready as soon as its table's bronze and silver are, while
# the lake run is still going, and declarative automation once launched the quarantine of seven
# tables as a separate warehouse run a few seconds before the lake run had finished. Their step
# writes the warehouse, so it takes its turn in the `duckdb` pool like the analytics steps.
lake_selection = AssetSelection.groups(BRONZE, SILVER, QUARANTINE)
analytics_selection = AssetSelection.groups(GOLD, KPI, REPORT)
# The order-grain (quarterly) part of the lake job. A lake run for some quarters needs only these
# when the dimension tables' files did not change: their bronze and silver objects are current.
# The quarantine of each order-grain table is replaced whole (every quarter's rows), so the last
# of several range runs leaves it complete.
ORDER_GRAIN_LAKE_KEYS: tuple[AssetKey, ...] = (
    *(AssetKey([BRONZE, t]) for t in PARTITIONED_TABLES),
    *(AssetKey([SILVER, t]) for t in SILVER_PARTITIONED_TABLES),
    *(AssetKey([QUARANTINE, t]) for t in PARTITIONED_TABLES),
)

lake_job = define_asset_job(
    LAKE_JOB,
    selection=lake_selection,
    # No partitions_def: it is deprecated on asset jobs, the quarters come from the selected
    # order-grain assets (the dimension tables in the selection are unpartitioned).
    description="Bronze and silver for one quarter (or a range of quarters in one run), and "
    "the quarantine tables of what they set aside; the unpartitioned dimension tables are "
    "refreshed with it.",
    executor_def=RUN_EXECUTOR,
    run_tags={RUN_KIND_TAG: LAKE_RUN, **BUDGET_TAGS},
    # Each finished step logs the run's progress (automation/progress.py).
    hooks=PROGRESS_HOOKS,
)
analytics_job = define_asset_job(
    ANALYTICS_JOB,
    selection=analytics_selection,
    description="Gold, KPI and the executive report from every quarter of silver.",
    executor_def=RUN_EXECUTOR,
    run_tags={RUN_KIND_TAG: ANALYTICS_RUN, **BUDGET_TAGS},
    hooks=PROGRESS_HOOKS,
)

"""The customer-grain tables never pass through Python between steps (issue 17): gold writes
customer_360 and customer_unified_lifecycle inside the warehouse, and the steps that read
customer_360 (segmentation, KPI) get a relation over the warehouse table, not its rows."""

import contextlib
import io

import pytest
from dagster import DagsterInstance, Definitions

from goodpulse_dagster.asset_conventions import WAREHOUSE_IO_MANAGER
from goodpulse_dagster.automation.jobs import ANALYTICS_JOB
from goodpulse_dagster.cli import run_pipeline
from goodpulse_dagster.definitions import build_definitions
from goodpulse_dagster.engine import Relation
from goodpulse_dagster.resources.warehouse import InPlace, WarehouseIOManager
from goodpulse_dagster_tests.fixtures.handmade_expected import C360_ROWS
from goodpulse_dagster_tests.fixtures.handmade_raw import write_handmade_raw
from goodpulse_dagster_tests.fixtures.handmade_silver import HANDMADE_AS_OF
from goodpulse_dagster_tests.pipeline import QUIET, lake_settings

pytestmark = pytest.mark.slow

HANDLED: list[tuple[str, str, str]] = []  # (output or input, asset key, value type)


class RecordingWarehouseIOManager(WarehouseIOManager):
    """The warehouse IO manager, noting the type of every value it is handed or hands out."""

    def handle_output(self, context, obj):
        HANDLED.append(("output", context.asset_key.to_user_string(), type(obj).__name__))
        super().handle_output(context, obj)

    def load_input(self, context):
        value = super().load_input(context)
        HANDLED.append(("input", context.asset_key.to_user_string(), type(value).__name__))
        return value


@pytest.fixture(scope="module")
def handled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("streaming")
    raw = write_handmade_raw(tmp / "raw")
    settings = lake_settings(tmp / "home", raw, GOODPULSE_AS_OF=HANDMADE_AS_OF.isoformat())
    with contextlib.redirect_stdout(io.StringIO()):
        run_pipeline(settings)  # the lake (and a first analytics run), as the CLI runs it
    instance = DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    recording = Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        resources={
            **defs.resources,
            WAREHOUSE_IO_MANAGER: RecordingWarehouseIOManager(
                database=str(settings.warehouse_path)
            ),
        },
        executor=defs.executor,
    )
    HANDLED.clear()
    result = recording.resolve_job_def(ANALYTICS_JOB).execute_in_process(
        run_config=QUIET, instance=instance
    )
    assert result.success
    return list(HANDLED), settings


def test_gold_customer_tables_are_written_in_the_warehouse(handled):
    events, _ = handled
    outputs = {key: kind for what, key, kind in events if what == "output"}
    assert outputs["gold/customer_360"] == InPlace.__name__
    assert outputs["gold/customer_unified_lifecycle"] == InPlace.__name__


def test_readers_of_the_customer_grain_tables_get_a_relation_not_their_rows(handled):
    events, _ = handled
    customer_grain = ("gold/customer_360", "gold/customer_predictions")
    loads = [(key, kind) for what, key, kind in events if what == "input" and key in customer_grain]
    # The segmentation, KPI, prediction and check steps all read them in the warehouse.
    assert {key for key, _ in loads} == set(customer_grain)
    assert {kind for _, kind in loads} == {Relation.__name__}
    outputs = {key: kind for what, key, kind in events if what == "output"}
    assert outputs["gold/customer_predictions"] == InPlace.__name__


def test_the_in_place_tables_hold_the_hand_worked_customers(handled):
    import duckdb

    _, settings = handled
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        ids = con.sql("SELECT customer_unique_id FROM gold.customer_360 ORDER BY 1").fetchall()
        unified = con.sql("SELECT count(*) FROM gold.customer_unified_lifecycle").fetchall()
    finally:
        con.close()
    assert [i for (i,) in ids] == sorted(row[0] for row in C360_ROWS)
    assert unified == [(len(C360_ROWS),)]

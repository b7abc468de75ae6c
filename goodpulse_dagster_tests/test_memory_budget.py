"""The DuckDB memory budget (goodpulse_dagster/memory_budget.py): read from the environment,
applied to every database the package opens, shown on the runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from goodpulse_dagster import memory_budget
from goodpulse_dagster.errors import UserSettingsError
from goodpulse_dagster.memory_budget import MEMORY_LIMIT_TAG, THREADS_TAG, MemoryBudget
from goodpulse_dagster.settings import default_memory_limit, memory_budget_from_env

REPO = Path(__file__).resolve().parents[1]
# DuckDB reports a limit in binary units: 300 MB = 300,000,000 B / 1,048,576 = 286.1 MiB.
LIMIT_300MB_AS_DUCKDB_SAYS = "286.1 MiB"

# What a process with the budget in its environment reads back from each database it opens: the
# engine's in-memory database, and the warehouse file read-write, then again read-only.
_OPEN_EVERY_DATABASE = """
import json, sys
from goodpulse_dagster import engine
from goodpulse_dagster.resources.warehouse import connect_warehouse

SETTINGS = (
    "SELECT current_setting('memory_limit'), current_setting('threads'), "
    "current_setting('temp_directory')"
)
warehouse = sys.argv[1]
seen = {"engine": engine.connect().execute(SETTINGS).fetchall()[0]}
writer = connect_warehouse(warehouse)
writer.execute("CREATE TABLE t AS SELECT 1 AS x")
seen["warehouse"] = writer.execute(SETTINGS).fetchall()[0]
writer.close()
seen["warehouse_read_only"] = connect_warehouse(warehouse, read_only=True).execute(
    SETTINGS
).fetchall()[0]
print(json.dumps(seen))
"""


def test_every_database_the_package_opens_gets_the_budget(tmp_path):
    spill = tmp_path / "spill" / "duckdb"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "GOODPULSE_HOME": str(tmp_path / "home"),
        "GOODPULSE_MEMORY_LIMIT": "300MB",
        "GOODPULSE_THREADS": "1",
        "GOODPULSE_TEMP_DIR": str(spill),
    }
    done = subprocess.run(
        [sys.executable, "-c", _OPEN_EVERY_DATABASE, str(tmp_path / "warehouse.duckdb")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    expected = [LIMIT_300MB_AS_DUCKDB_SAYS, 1, str(spill)]
    assert seen == {"engine": expected, "warehouse": expected, "warehouse_read_only": expected}


def test_the_default_spill_folder_is_in_the_home(tmp_path):
    budget = memory_budget_from_env({"GOODPULSE_HOME": str(tmp_path)})
    assert budget.temp_directory == tmp_path / "tmp" / "duckdb"


def test_apply_sets_the_budget_and_survives_a_second_connection_after_spilling(tmp_path):
    budget = MemoryBudget("20MB", tmp_path / "not" / "yet" / "duckdb", 1)
    con = duckdb.connect(":memory:")
    budget.apply(con)
    # DuckDB creates the spill folder, but not its parents: apply does.
    assert (tmp_path / "not" / "yet").is_dir()
    con.execute("SET enable_progress_bar = false")
    # ~33 MB of 32-character strings do not fit in 20 MB: DuckDB spills them.
    con.execute("CREATE TEMP TABLE t AS SELECT md5(range::VARCHAR) AS s FROM range(1000000)")
    [(spilled,)] = con.execute("SELECT count(*) FROM duckdb_temporary_files()").fetchall()
    assert spilled > 0
    # DuckDB refuses to set a temp directory it has spilled to again; apply leaves it as it is.
    budget.apply(con.cursor())
    assert con.execute(
        "SELECT current_setting('memory_limit'), current_setting('threads')"
    ).fetchall() == [("19.0 MiB", 1)]  # 20,000,000 / 1,048,576 = 19.07


def test_describe_and_run_tags():
    budget = MemoryBudget("2GB", Path("/srv/goodpulse/tmp/duckdb"), 2)
    assert budget.describe() == (
        "DuckDB budget: memory_limit 2GB, threads 2, spilling to /srv/goodpulse/tmp/duckdb"
    )
    assert budget.run_tags() == {MEMORY_LIMIT_TAG: "2GB", THREADS_TAG: "2"}


def test_both_jobs_carry_the_budget_of_the_process_in_their_run_tags():
    from goodpulse_dagster.automation.jobs import ANALYTICS_JOB, LAKE_JOB
    from goodpulse_dagster.definitions import build_definitions

    defs = build_definitions()
    budget = memory_budget.in_force()
    for name in (LAKE_JOB, ANALYTICS_JOB):
        tags = defs.resolve_job_def(name).run_tags
        assert tags[MEMORY_LIMIT_TAG] == budget.memory_limit
        assert tags[THREADS_TAG] == str(budget.threads)


# --- Settings ------------------------------------------------------------------------------------


def test_budget_settings_from_hand_values():
    budget = memory_budget_from_env(
        {
            "GOODPULSE_HOME": "/h",
            "GOODPULSE_MEMORY_LIMIT": "500MB",
            "GOODPULSE_THREADS": "3",
        }
    )
    assert budget == MemoryBudget("500MB", Path("/h/tmp/duckdb"), 3)
    # Spaces and case do not matter; binary units keep their 'i'.
    spelled = {"GOODPULSE_MEMORY_LIMIT": " 1.5 gib ", "GOODPULSE_TEMP_DIR": "/spill"}
    budget = memory_budget_from_env(spelled)
    assert (budget.memory_limit, budget.temp_directory) == ("1.5GiB", Path("/spill"))


def test_default_memory_limit_is_the_smaller_of_2gb_and_a_quarter_of_the_machine():
    assert default_memory_limit(32 * 10**9) == "2GB"
    assert default_memory_limit(8 * 10**9) == "2GB"  # a quarter is exactly 2 GB
    assert default_memory_limit(6 * 10**9) == "1500MB"
    assert default_memory_limit(4 * 2**30) == "1073MB"  # 4 GiB / 4 = 1,073,741,824 B


def test_default_threads_are_the_machine_cores():
    assert memory_budget_from_env({}).threads == os.cpu_count()


@pytest.mark.parametrize("text", ["500", "lots", "0MB", "80%", "-1GB", "2 G B"])
def test_a_bad_memory_limit_is_refused_naming_the_variable_and_value(text):
    with pytest.raises(UserSettingsError) as refused:
        memory_budget_from_env({"GOODPULSE_MEMORY_LIMIT": text})
    assert "GOODPULSE_MEMORY_LIMIT" in str(refused.value)
    assert repr(text) in str(refused.value)


@pytest.mark.parametrize("text", ["0", "two", "-2", "1.5"])
def test_bad_threads_are_refused_naming_the_variable_and_value(text):
    with pytest.raises(UserSettingsError) as refused:
        memory_budget_from_env({"GOODPULSE_THREADS": text})
    assert "GOODPULSE_THREADS" in str(refused.value)
    assert repr(text) in str(refused.value)


def test_a_model_over_the_budget_says_which_setting_to_raise():
    import duckdb

    from goodpulse_dagster import engine

    con = duckdb.connect()
    con.execute("SET memory_limit = '16MB'")
    con.execute("SET threads = 1")
    # A list of five million integers is one value: DuckDB cannot spill it, so it runs out.
    with (
        pytest.raises(engine.MemoryBudgetExceededError) as raised,
        engine.within_budget("kpi/example"),
    ):
        con.sql("SELECT list(i) FROM range(5000000) t(i)").fetchall()
    message = str(raised.value)
    assert message.startswith("model kpi/example needed more memory than the DuckDB budget of ")
    assert "Raise GOODPULSE_MEMORY_LIMIT" in message
    con.close()

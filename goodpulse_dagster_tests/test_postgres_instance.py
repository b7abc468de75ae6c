"""The Postgres run database (deploy/dagster.postgres*.yaml): a real PostgreSQL server on
127.0.0.1 (pg_server.py), a DAGSTER_HOME holding the shipped Postgres variant, the small landing
zone run through the lake and the analytics, and the runs and asset check results read back from
Postgres: through a second DagsterInstance (as the webserver would see them) and with plain SQL.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import pytest
import yaml
from dagster import AssetCheckKey, AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

from goodpulse_dagster.automation.freshness_checks import RAW_CHECK, REPORT_CHECK
from goodpulse_dagster.definitions import build_checks
from goodpulse_dagster_tests.pg_server import postgres_server
from goodpulse_dagster_tests.pipeline import lake_settings, materialize_analytics, materialize_lake
from goodpulse_dagster_tests.s3_server import HOST, environment, free_port
from goodpulse_dagster_tests.small_lake import write_small_landing_zone

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SQLITE_YAML = REPO / "dagster.yaml"
PG_YAML = REPO / "deploy" / "dagster.postgres.yaml"
PG_URL_YAML = REPO / "deploy" / "dagster.postgres-url.yaml"
Q1, Q2 = "2017-01-01", "2017-04-01"
REPORT_ASSET_KEY = AssetKey(["report", "executive_report"])


def check_keys_of(layers: tuple[str, ...]) -> set[tuple[str, str]]:
    return {
        (key.asset_key.to_user_string(), key.name)
        for c in build_checks()
        for key in c.check_keys
        if key.asset_key.path[0] in layers
    }


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_postgres_variants_keep_the_laptop_queue_and_pools():
    """Everything but `storage` is the shipped dagster.yaml: the run queue, the tag limits, the
    duckdb pool and run retries do not depend on the run database."""
    laptop = load_yaml(SQLITE_YAML)
    assert "storage" not in laptop  # SQLite under $DAGSTER_HOME, Dagster's default
    for variant in (PG_YAML, PG_URL_YAML):
        config = load_yaml(variant)
        assert list(config.pop("storage")) == ["postgres"]
        assert {k: config.get(k) for k in laptop} == laptop, variant.name
        # Run retries are the daemon's (issue 20, retries): the shipped dagster.yaml has them
        # too once that work is in; nothing else may differ.
        assert set(config) - set(laptop) <= {"run_retries"}, variant.name
        assert config["run_retries"] == {
            "enabled": True,
            "max_retries": 1,
            "retry_on_asset_or_op_failure": False,
        }
    assert load_yaml(PG_YAML)["storage"]["postgres"]["postgres_db"] == {
        "hostname": {"env": "GOODPULSE_PG_HOST"},
        "port": {"env": "GOODPULSE_PG_PORT"},
        "username": {"env": "GOODPULSE_PG_USER"},
        "password": {"env": "GOODPULSE_PG_PASSWORD"},
        "db_name": {"env": "GOODPULSE_PG_DB"},
        "scheme": "postgresql+psycopg2",
    }
    assert load_yaml(PG_URL_YAML)["storage"]["postgres"] == {
        "postgres_url": {"env": "GOODPULSE_PG_URL"}
    }
    # No credential is in the repository's files: each connection value is an `env:` reference.


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


def dagster_home(folder: Path, variant: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(variant, folder / "dagster.yaml")
    return folder


def test_runs_and_check_results_live_in_postgres(pg, tmp_path):
    import psycopg2

    home = dagster_home(tmp_path / "dagster_home", PG_YAML)
    settings = lake_settings(tmp_path / "home", write_small_landing_zone(tmp_path / "raw"))
    with environment(DAGSTER_HOME=str(home), **pg.env()):
        with DagsterInstance.get() as instance:
            # The instance really is the Postgres one of the shipped file, with its queue.
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            concurrency = instance.get_concurrency_config()
            assert concurrency.run_queue_config.max_concurrent_runs == 2
            assert concurrency.pool_config.default_pool_limit == 1
            lake = materialize_lake(settings, Q1, Q2, instance=instance)
            analytics = materialize_analytics(settings, instance=instance)
        assert lake.success and analytics.success

        # A second instance from the same file: what the webserver and the daemon would read.
        with DagsterInstance.get() as reader:
            records = reader.get_run_records(RunsFilter(job_name="lake_job"))
            assert [r.dagster_run.run_id for r in records] == [lake.run_id]
            assert records[0].dagster_run.status == DagsterRunStatus.SUCCESS
            assert records[0].dagster_run.tags["goodpulse/run_kind"] == "lake"
            analytics_run = reader.get_run_by_id(analytics.run_id)
            assert analytics_run.status == DagsterRunStatus.SUCCESS
            assert analytics_run.job_name == "analytics_job"

            # A named check, its outcome and its metadata, from the Postgres event log.
            key = AssetCheckKey(AssetKey(["silver", "orders"]), "rows_reconcile")
            record = reader.get_latest_asset_check_evaluation_record(key)
            assert record.run_id == lake.run_id
            evaluation = record.event.dagster_event.event_specific_data
            assert evaluation.passed is True
            meta = {k: v.value for k, v in evaluation.metadata.items()}
            # Four order rows in the zone, one an exact duplicate: 4 bronze, 3 silver.
            assert (meta["bronze_rows"], meta["silver_rows"]) == (4, 3)
            silver_orders = reader.get_latest_materialization_event(AssetKey(["silver", "orders"]))
            assert silver_orders.run_id == lake.run_id

    lake_checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in lake.get_asset_check_evaluations()
    }
    analytics_checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in analytics.get_asset_check_evaluations()
    }
    # Plain SQL against the server: the tables dagster-postgres created hold the same runs and
    # one execution row per check evaluated in each run.
    runs = (lake.run_id, analytics.run_id)
    with closing(psycopg2.connect(pg.dsn)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT run_id, pipeline_name, status FROM runs WHERE run_id IN %s "
            "ORDER BY create_timestamp",
            (runs,),
        )
        assert cur.fetchall() == [
            (lake.run_id, "lake_job", "SUCCESS"),
            (analytics.run_id, "analytics_job", "SUCCESS"),
        ]
        cur.execute(
            "SELECT run_id, partition, execution_status, count(*) FROM asset_check_executions "
            "WHERE run_id IN %s GROUP BY run_id, partition, execution_status",
            (runs,),
        )
        rows = {(run_id, part, status): n for run_id, part, status, n in cur.fetchall()}
        cur.execute(
            "SELECT run_id, execution_status FROM asset_check_executions "
            "WHERE asset_key = %s AND check_name = %s AND partition IS NULL",
            ('["silver", "orders"]', "rows_reconcile"),
        )
        assert cur.fetchall() == [(lake.run_id, "SUCCEEDED")]
    # Every check evaluated passed; the lake run holds all the bronze and silver checks.
    assert all(lake_checks.values()) and all(analytics_checks.values())
    assert len(lake_checks) == len(check_keys_of(("bronze", "silver")))
    assert len(analytics_checks) == len(check_keys_of(("gold", "kpi", "report")))
    assert rows == {
        (lake.run_id, None, "SUCCEEDED"): len(lake_checks),
        (analytics.run_id, None, "SUCCEEDED"): len(analytics_checks),
        # A run over a range of quarters plans each check once per quarter and records its one
        # evaluation without a partition (what an operator querying the table sees; see
        # automation/conditions.py for what it means to automation).
        (lake.run_id, Q1, "PLANNED"): len(lake_checks),
        (lake.run_id, Q2, "PLANNED"): len(lake_checks),
    }


def test_the_url_variant_reads_the_same_database(pg, tmp_path):
    """deploy/dagster.postgres-url.yaml over GOODPULSE_PG_URL is the same run database: a run
    recorded through it is read back through the GOODPULSE_PG_* variant."""
    url_home = dagster_home(tmp_path / "url_home", PG_URL_YAML)
    parts_home = dagster_home(tmp_path / "parts_home", PG_YAML)
    settings = lake_settings(tmp_path / "home", write_small_landing_zone(tmp_path / "raw"))
    with (
        environment(DAGSTER_HOME=str(url_home), GOODPULSE_PG_URL=pg.url),
        DagsterInstance.get() as instance,
    ):
        lake = materialize_lake(settings, Q1, instance=instance)
    assert lake.success
    with (
        environment(DAGSTER_HOME=str(parts_home), **pg.env()),
        DagsterInstance.get() as reader,
    ):
        run = reader.get_run_by_id(lake.run_id)
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == Q1


# --- the deployment of docs/deployment.md: separate processes over Postgres --------------------

BIN = Path(sys.executable).parent
GRPC_WORKSPACE = REPO / "deploy" / "workspace.grpc.yaml"


@contextmanager
def process(cmd: list[str], env: dict[str, str], log: Path):
    """A Dagster process of the deployment, its output in ``log``; stopped at the end (SIGTERM,
    then SIGKILL), with its process group, since both commands start children."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                if proc.poll() is not None:
                    break
                os.killpg(proc.pid, sig)
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(wait)


def wait_for(what: str, probe, timeout: float, logs: list[Path]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{tails}")


CHECK_EXECUTIONS = """
query ($path: [String!]!, $check: String!) {
  assetCheckExecutions(assetKey: {path: $path}, checkName: $check, limit: 5) {
    runId status evaluation { severity success description }
  }
}
"""


def graphql(url: str, query: str, variables: dict) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read())
    assert "errors" not in payload, payload
    return payload["data"]


def answering(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def own_pg():
    """A server of its own: the daemon test reads "the latest" report and check results, which
    the module's other tests would otherwise have written."""
    with postgres_server() as server:
        yield server


def test_code_server_daemon_and_webserver_run_the_pipeline_over_postgres(own_pg, tmp_path):
    """The webserver, the daemon and a gRPC code server as separate processes, each with only
    the environment docs/deployment.md gives it, over the Postgres instance and
    deploy/workspace.grpc.yaml: a lake run submitted to the queue is dequeued by the daemon,
    started by the code server, and succeeds; declarative automation then builds the report, and
    the freshness sensor runs its checks, which the webserver's GraphQL API (what the UI shows)
    reads back from Postgres."""
    pg = own_pg
    home = dagster_home(tmp_path / "dagster_home", PG_YAML)
    raw = write_small_landing_zone(tmp_path / "raw")
    port = free_port()
    dagster_env = {"DAGSTER_HOME": str(home), **pg.env()}
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GOODPULSE_", "DAGSTER_"))}
    base["PYTHONPATH"] = str(REPO)
    code_env = {
        **base,
        **dagster_env,
        "GOODPULSE_HOME": str(tmp_path / "home"),
        "GOODPULSE_RAW_DIR": str(raw),
    }
    # No data settings for the daemon: it never touches data.
    daemon_env = {
        **base,
        **dagster_env,
        "GOODPULSE_CODE_SERVER_HOST": HOST,
        "GOODPULSE_CODE_SERVER_PORT": str(port),
    }
    code_log, daemon_log = tmp_path / "code_server.log", tmp_path / "daemon.log"
    web_log = tmp_path / "webserver.log"
    logs = [code_log, daemon_log, web_log]
    web_port = free_port()
    web_url = f"http://{HOST}:{web_port}"
    code_cmd = [
        str(BIN / "dagster"), "code-server", "start", "-h", HOST, "-p", str(port),
        "-m", "goodpulse_dagster.definitions", "--location-name", "goodpulse",
    ]  # fmt: skip
    health = [str(BIN / "dagster"), "api", "grpc-health-check", "-h", HOST, "-p", str(port)]
    run_id = str(uuid.uuid4())
    with process(code_cmd, code_env, code_log):

        def serving() -> bool:
            done = subprocess.run(health, env=code_env, capture_output=True, timeout=30)
            return done.returncode == 0

        wait_for("the code server", serving, 120, logs)
        launch = subprocess.run(
            [
                str(BIN / "dagster"),
                "job",
                "launch",
                "-w",
                str(GRPC_WORKSPACE),
                "-j",
                "lake_job",
                "--tags",
                json.dumps({"dagster/partition": Q1}),
                # The database is shared with this module's other tests: know the run by its id.
                "--run-id",
                run_id,
            ],  # fmt: skip
            env=daemon_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert launch.returncode == 0, launch.stdout + launch.stderr
        with environment(**dagster_env), DagsterInstance.get() as instance:
            # Submitted, not started: only the daemon dequeues runs.
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.QUEUED

            with process([str(BIN / "dagster-daemon"), "run", "-w", str(GRPC_WORKSPACE)],
                         daemon_env, daemon_log):  # fmt: skip

                def finished(run_id=run_id):
                    run = instance.get_run_by_id(run_id)
                    return run if run.is_finished else None

                lake = wait_for("the lake run", finished, 240, logs)
                assert lake.status == DagsterRunStatus.SUCCESS, daemon_log.read_text()[-3000:]

                def report_built():
                    return instance.get_latest_materialization_event(REPORT_ASSET_KEY)

                report = wait_for(
                    "the report, from declarative automation", report_built, 300, logs
                )
                automation = instance.get_run_by_id(report.run_id)
                assert automation.tags["goodpulse/run_kind"] == "analytics"
                assert automation.tags["dagster/from_automation_condition"] == "true"

                def freshness_runs():
                    # Its first tick comes as the daemon starts; later ticks start a run only
                    # when an outcome changes, which nothing here makes happen.
                    records = instance.get_run_records(
                        RunsFilter(job_name="freshness_checks_job",
                                   statuses=[DagsterRunStatus.SUCCESS])
                    )  # fmt: skip
                    return [r.dagster_run for r in records]

                fresh = wait_for("a freshness run of the sensor", freshness_runs, 120, logs)
                for run in fresh:
                    assert run.tags["goodpulse/run_kind"] == "freshness"
                    assert run.tags["dagster/sensor_name"] == "freshness_sensor"
                fresh_ids = {r.run_id for r in fresh}

            # Read back from Postgres: the lake run's partition, and the files' freshness (the
            # landing zone was written a minute ago: every raw check passed).
            assert lake.tags["dagster/partition"] == Q1
            key = AssetCheckKey(AssetKey(["raw", "orders"]), RAW_CHECK)
            record = instance.get_latest_asset_check_evaluation_record(key)
            assert record.run_id in fresh_ids
            assert record.event.dagster_event.event_specific_data.passed is True

        # The webserver, the third process (no data settings either), shows the same check.
        web_cmd = [
            str(BIN / "dagster-webserver"), "-h", HOST, "-p", str(web_port),
            "-w", str(GRPC_WORKSPACE),
        ]  # fmt: skip
        with process(web_cmd, daemon_env, web_log):
            wait_for("the webserver", lambda: answering(web_url), 120, logs)
            data = graphql(
                web_url, CHECK_EXECUTIONS, {"path": ["raw", "orders"], "check": RAW_CHECK}
            )
            [execution] = [e for e in data["assetCheckExecutions"] if e["runId"] == record.run_id]
            assert execution["status"] == "SUCCEEDED"
            assert execution["evaluation"]["severity"] == "WARN"
            assert execution["evaluation"]["success"] is True
            assert execution["evaluation"]["description"].startswith("Newest orders file ")
            report_check = graphql(
                web_url,
                CHECK_EXECUTIONS,
                {"path": ["report", "executive_report"], "check": REPORT_CHECK},
            )["assetCheckExecutions"]
            # Evaluated after the report in the automation run: the report had just followed.
            assert {(e["runId"], e["status"]) for e in report_check} >= {
                (automation.run_id, "SUCCEEDED")
            }

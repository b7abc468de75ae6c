"""Retries (goodpulse_dagster/retries.py, resources/storage.py, dagster.yaml) and secret masking.

- The S3 server (moto on 127.0.0.1) refuses the first requests with 503 SlowDown: boto3's
  standard retry mode absorbs them and `goodpulse run --storage s3` gives the figures of a local
  run of the same files.
- It refuses more attempts of one lake write than the client makes: the step fails, Dagster's
  retry policy runs it again, and the run still succeeds with the same figures.
- A user error (a missing file) fails its step at once, without retries.
- dagster.yaml retries crashed runs once, not runs that failed in a step.
- An endpoint URL with ``user:password@`` never appears verbatim in what the CLI prints.

Every GOODPULSE_* variable the CLI sets from its flags is set through ``monkeypatch`` first, so
that it is restored after the test: a leaked GOODPULSE_STORAGE=s3 would turn the next test's
`goodpulse run` into an S3 run.
"""

import time
import warnings

import boto3
from dagster import (
    BetaWarning,
    DagsterEventType,
    DagsterInstance,
    PreviewWarning,
    asset,
    materialize,
)

from goodpulse_dagster import cli
from goodpulse_dagster.errors import UserInputError, mask_url_secrets
from goodpulse_dagster.resources.warehouse import WarehouseLockedError
from goodpulse_dagster.retries import STEP_RETRY_POLICY, is_retriable
from goodpulse_dagster.schema import SOURCE_TABLES
from goodpulse_dagster.settings import load_settings
from goodpulse_dagster_tests.s3_server import (
    HOST,
    Refusals,
    dummy_aws_env,
    free_port,
    moto_s3_server,
)
from goodpulse_dagster_tests.test_checks import clean_tables, write_zone
from goodpulse_dagster_tests.test_run_trust import warehouse_tables

warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

BUCKET = "goodpulse-retries"
LEADS_FILE = SOURCE_TABLES["marketing_qualified_leads"].file_name
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def goodpulse(monkeypatch, capsys, instance, *argv, **env) -> tuple[int, str, str]:
    """``goodpulse <argv>`` in this process on ``instance`` with ``env`` set: (status, stdout,
    stderr). Every variable the CLI's flags write is set here first, so monkeypatch restores it."""
    for var in cli._ENV_FLAGS.values():
        # setenv records the value to restore (none: the variable is removed again), which
        # delenv of an unset variable does not.
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr(cli, "_instance", lambda: instance)
    status = 0
    try:
        cli.main(list(argv))
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def events(instance, event_type) -> list:
    return [
        record.dagster_event
        for run in instance.get_runs()
        for record in instance.all_logs(run.run_id, of_type=event_type)
    ]


def local_figures(tmp_path, monkeypatch, capsys) -> dict:
    """Every gold and KPI table of a local `goodpulse run` of ``clean_tables()``."""
    raw = write_zone(tmp_path / "raw", clean_tables())
    home = tmp_path / "local"
    status, out, _ = goodpulse(monkeypatch, capsys, DagsterInstance.ephemeral(), "run",
                               "--home", str(home), "--raw-dir", str(raw))  # fmt: skip
    assert status == 0, out
    return warehouse_tables(load_settings({"GOODPULSE_HOME": str(home)}))


def s3_run(tmp_path, monkeypatch, capsys, refusals: Refusals, **env):
    """`goodpulse run --storage s3` of ``clean_tables()`` against a moto server behind
    ``refusals`` (armed once the files are uploaded): (status, stdout, instance, figures)."""
    raw = write_zone(tmp_path / "s3raw", clean_tables())
    home = tmp_path / "s3home"
    armed = Refusals()
    with dummy_aws_env(), moto_s3_server(armed) as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        for path in sorted(raw.iterdir()):
            client.upload_file(str(path), BUCKET, f"raw/{path.name}")
        armed.count, armed.method, armed.path_contains = (
            refusals.count, refusals.method, refusals.path_contains
        )  # fmt: skip
        instance = DagsterInstance.ephemeral()
        status, out, _ = goodpulse(
            monkeypatch, capsys, instance, "run", "--home", str(home), "--storage", "s3",
            "--s3-bucket", BUCKET, "--s3-endpoint-url", endpoint, **env,
        )  # fmt: skip
    refusals.refused = armed.refused
    figures = warehouse_tables(load_settings({"GOODPULSE_HOME": str(home)}))
    return status, out, instance, figures


def test_s3_refusing_the_first_requests_is_absorbed_by_the_client(tmp_path, monkeypatch, capsys):
    expected = local_figures(tmp_path, monkeypatch, capsys)
    refusals = Refusals(count=3)
    status, out, instance, figures = s3_run(tmp_path, monkeypatch, capsys, refusals)
    assert status == 0, out
    assert refusals.refused == 3
    # boto3 retried the refused requests itself: no step had to be run again.
    assert events(instance, DagsterEventType.STEP_UP_FOR_RETRY) == []
    assert figures == expected
    assert figures["kpi.northstar"]  # a real table, not two empty ones


def test_a_lake_write_refused_beyond_the_clients_attempts_is_retried_by_the_step(
    tmp_path, monkeypatch, capsys
):
    """Two attempts per request (GOODPULSE_S3_MAX_ATTEMPTS=2) and three refused writes to the
    lake: the first write fails both attempts, its step fails, and Dagster runs it again."""
    expected = local_figures(tmp_path, monkeypatch, capsys)
    refusals = Refusals(count=3, method="PUT", path_contains=f"/{BUCKET}/lake/")
    status, out, instance, figures = s3_run(
        tmp_path, monkeypatch, capsys, refusals, GOODPULSE_S3_MAX_ATTEMPTS="2"
    )
    assert status == 0, out
    assert refusals.refused == 3
    [retried] = events(instance, DagsterEventType.STEP_UP_FOR_RETRY)
    assert retried.step_key.startswith("bronze__")
    [restarted] = events(instance, DagsterEventType.STEP_RESTARTED)
    assert restarted.step_key == retried.step_key
    assert events(instance, DagsterEventType.STEP_FAILURE) == []
    assert figures == expected


def test_a_user_error_fails_its_step_at_once(tmp_path, monkeypatch, capsys):
    """After a good run the leads file is missing: its bronze step fails once, not four times."""
    raw = write_zone(tmp_path / "raw", clean_tables())
    home = str(tmp_path / "home")
    status, out, _ = goodpulse(monkeypatch, capsys, DagsterInstance.ephemeral(), "run",
                               "--home", home, "--raw-dir", str(raw))  # fmt: skip
    assert status == 0, out
    (raw / LEADS_FILE).unlink()
    instance = DagsterInstance.ephemeral()
    started = time.monotonic()
    status, out, err = goodpulse(monkeypatch, capsys, instance, "run", "--home", home,
                                 "--raw-dir", str(raw))  # fmt: skip
    assert status == cli.EXIT_RUN_FAILED, err
    step = "bronze__marketing_qualified_leads"
    [failure] = [e for e in events(instance, DagsterEventType.STEP_FAILURE) if e.step_key == step]
    assert failure.event_specific_data.error.cls_name == "Failure"
    assert events(instance, DagsterEventType.STEP_UP_FOR_RETRY) == []
    # The sentence is the cause, as without retries (the Failure keeps the user error as cause).
    assert "  - step bronze__marketing_qualified_leads: no source file for table " in out
    assert time.monotonic() - started < 60


def test_a_first_run_with_a_missing_file_prints_its_summary_not_a_traceback(
    tmp_path, monkeypatch, capsys
):
    """No good run before: the KPI step fails too (customer_360 was never built), and the CLI,
    finding no KPI tables to print, says so and prints the failures."""
    raw = write_zone(tmp_path / "raw", clean_tables())
    (raw / LEADS_FILE).unlink()
    home = tmp_path / "home"
    status, out, err = goodpulse(monkeypatch, capsys, DagsterInstance.ephemeral(), "run",
                                 "--home", str(home), "--raw-dir", str(raw))  # fmt: skip
    assert status == cli.EXIT_RUN_FAILED
    # (Dagster's own log of the failed KPI step, on stderr, has its traceback.)
    assert "Traceback" not in out and "kpi.northstar" not in err
    assert (
        f"\nThe warehouse {home / 'warehouse.duckdb'} holds no KPI tables yet: no run has built "
        "them.\n"
    ) in out
    assert "\n  - step bronze__marketing_qualified_leads: no source file for table " in out
    status, _, err = goodpulse(monkeypatch, capsys, DagsterInstance.ephemeral(), "kpis",
                               "--home", str(home))  # fmt: skip
    assert status == cli.EXIT_USER_ERROR
    assert err == (
        f"goodpulse: The warehouse {home / 'warehouse.duckdb'} holds no KPI tables yet: no run "
        "has built them.\n"
    )


def test_which_errors_the_step_policy_retries():
    assert STEP_RETRY_POLICY.max_retries == 3
    # ~1 s, ~2 s, ~4 s (+-jitter): exponential.
    assert [STEP_RETRY_POLICY.delay * 2 ** (n - 1) for n in (1, 2, 3)] == [1, 2, 4]
    assert not is_retriable(UserInputError("bad file"))
    # A held warehouse lock is contention, which passes: retried.
    assert is_retriable(WarehouseLockedError("locked"))
    assert is_retriable(ConnectionResetError("reset by peer"))


def test_dagster_yaml_retries_crashed_runs_once_not_failed_steps(tmp_path):
    from dagster._core.instance.ref import InstanceRef

    from goodpulse_dagster_tests.test_automation import REPO

    with DagsterInstance.from_ref(
        InstanceRef.from_dir(str(tmp_path), config_dir=str(REPO))
    ) as instance:
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 1
        assert instance.run_retries_retry_on_asset_or_op_failure is False


# --- Masking --------------------------------------------------------------------------------------


def test_an_endpoint_with_credentials_is_never_printed_verbatim(tmp_path, monkeypatch, capsys):
    """Nothing listens on the port: botocore's connection error quotes the endpoint URL, and the
    CLI prints its traceback masked."""
    endpoint = f"http://gp-user:gp-s3cret@{HOST}:{free_port()}"
    with dummy_aws_env():
        status, out, err = goodpulse(
            monkeypatch, capsys, DagsterInstance.ephemeral(), "run", "--home",
            str(tmp_path / "home"), "--storage", "s3", "--s3-bucket", BUCKET,
            "--s3-endpoint-url", endpoint, GOODPULSE_S3_MAX_ATTEMPTS="1",
        )  # fmt: skip
    assert status == 1
    assert "Could not connect to the endpoint URL" in err
    assert f"http://***@{HOST}:" in err
    assert "gp-s3cret" not in out + err and "gp-user" not in out + err
    # With --debug too.
    with dummy_aws_env():
        status, out, err = goodpulse(
            monkeypatch, capsys, DagsterInstance.ephemeral(), "--debug", "run", "--home",
            str(tmp_path / "home"), "--storage", "s3", "--s3-bucket", BUCKET,
            "--s3-endpoint-url", endpoint, GOODPULSE_S3_MAX_ATTEMPTS="1",
        )  # fmt: skip
    assert "Traceback (most recent call last)" in err and "gp-s3cret" not in out + err


@asset
def unreachable_store():
    raise RuntimeError("Could not connect to http://key:secret@127.0.0.1:9/b")


def test_user_errors_and_causes_are_masked():
    assert mask_url_secrets("see http://u:p@ss@minio:9000/b and s3://bucket/raw/a@b.csv") == (
        "see http://***@minio:9000/b and s3://bucket/raw/a@b.csv"
    )
    assert mask_url_secrets(
        "GET https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=f00d&x=1 "
        "postgresql://dagster:pw@db/dagster?password=pw2"
    ) == (
        "GET https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&x=1 "
        "postgresql://***@db/dagster?password=***"
    )
    error = UserInputError("cannot read s3://b/raw/x.csv from http://key:secret@127.0.0.1:9000")
    assert str(error) == "cannot read s3://b/raw/x.csv from http://***@127.0.0.1:9000"
    # The cause of a failed step, as the CLI, the state file and the alerts record it.
    result = materialize([unreachable_store], run_config=QUIET, raise_on_error=False)
    [failure] = cli.run_failures(result)
    assert failure.cause == "Could not connect to http://***@127.0.0.1:9/b"

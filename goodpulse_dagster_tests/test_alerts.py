"""Alerts end to end (automation/alerts.py): a run fails for real, the alert sensor is evaluated
on it, and the message arrives at a real SMTP server (aiosmtpd) and a real HTTP endpoint, both
on 127.0.0.1 and served by the test, naming the run, the failed asset or check and its cause.
The sensors are evaluated directly (``build_run_status_sensor_context``) and, once, by a real
``dagster-daemon`` watching the runs of `goodpulse run`.
"""

import base64
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    BetaWarning,
    DagsterInstance,
    PreviewWarning,
    SkipReason,
    asset,
    asset_check,
    build_run_status_sensor_context,
    materialize,
)

from goodpulse_dagster import cli
from goodpulse_dagster.automation import build_sensors
from goodpulse_dagster.automation.alerts import (
    CHECK_FAILURE_SENSOR,
    RUN_FAILURE_SENSOR,
    AlertDeliveryError,
    build_alert_sensors,
    post_webhook,
)
from goodpulse_dagster.automation.jobs import LAKE_JOB
from goodpulse_dagster.definitions import build_definitions
from goodpulse_dagster.errors import UserSettingsError
from goodpulse_dagster.execution import execute_job_here
from goodpulse_dagster.schema import SOURCE_TABLES
from goodpulse_dagster.settings import alert_settings_from_env, load_settings
from goodpulse_dagster_tests.servers import http_server, smtp_server
from goodpulse_dagster_tests.test_checks import clean_tables, write_zone

warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
Q1, Q2 = "2017-01-01", "2017-04-01"
RANGE = {"dagster/asset_partition_range_start": Q1, "dagster/asset_partition_range_end": Q2}
LEADS_FILE = SOURCE_TABLES["marketing_qualified_leads"].file_name
UI = "http://dagster.example:3000"
REPO = Path(__file__).resolve().parents[1]


def alert_env(smtp_port: int, webhook_url: str, **extra: str) -> dict[str, str]:
    return {
        "GOODPULSE_ALERT_WEBHOOK_URL": webhook_url,
        "GOODPULSE_ALERT_SMTP_HOST": "127.0.0.1",
        "GOODPULSE_ALERT_SMTP_PORT": str(smtp_port),
        "GOODPULSE_ALERT_SMTP_SECURITY": "none",
        "GOODPULSE_ALERT_EMAIL_FROM": "goodpulse@example.com",
        "GOODPULSE_ALERT_EMAIL_TO": "data-oncall@example.com, cto@example.com",
        "GOODPULSE_ALERT_UI_URL": UI,
        **extra,
    }


def lake_run(tmp_path, tables, env):
    """A real lake run over both quarters of ``tables``: (definitions, instance, result)."""
    raw = write_zone(tmp_path / "raw", tables)
    return raw, load_settings({"GOODPULSE_HOME": str(tmp_path / "home"),
                               "GOODPULSE_RAW_DIR": str(raw), **env})  # fmt: skip


def run_lake(settings):
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    result = execute_job_here(
        defs.resolve_job_def(LAKE_JOB),
        instance=instance,
        run_config=QUIET,
        tags=RANGE,
        raise_on_error=False,
    )
    return defs, instance, result


def evaluate(defs, name, instance, result):
    """Evaluate the sensor ``name`` of ``defs`` on the finished run of ``result``, as the daemon
    does when it sees the run's failure (or success) event."""
    sensor = {s.name: s for s in defs.sensors}[name]
    event = result.get_run_failure_event() if name == RUN_FAILURE_SENSOR else None
    event = event or result.get_run_success_event()
    context = build_run_status_sensor_context(
        sensor_name=name, dagster_event=event, dagster_instance=instance,
        dagster_run=result.dagster_run,
    )  # fmt: skip
    return sensor(context.for_run_failure() if name == RUN_FAILURE_SENSOR else context)


def test_a_failed_run_alerts_by_email_and_webhook_naming_the_step_asset_and_cause(tmp_path):
    with smtp_server() as smtp, http_server() as hook:
        raw, settings = lake_run(tmp_path, clean_tables(), alert_env(smtp.port, hook.url))
        # The marketing leads file is missing: bronze/marketing_qualified_leads fails.
        (raw / LEADS_FILE).unlink()
        defs, instance, result = run_lake(settings)
        assert not result.success
        evaluate(defs, RUN_FAILURE_SENSOR, instance, result)

    run_id = result.run_id
    cause = (
        f"no source file for table 'marketing_qualified_leads' in {raw}: expected "
        f"{LEADS_FILE} (a full export) or marketing_qualified_leads/<YYYY>-Q<n>.csv drops"
    )
    text = (
        f"Run {run_id} of job lake_job failed.\n"
        "\n"
        "Failed steps:\n"
        "  - step bronze__marketing_qualified_leads (assets bronze/marketing_qualified_leads): "
        f"{cause}\n"
        "\n"
        f"Run in the Dagster UI: {UI}/runs/{run_id}\n"
    )
    [mail] = smtp.messages
    assert mail["Subject"] == f"GoodPulse: run {run_id[:8]} of lake_job failed"
    assert mail["From"] == "goodpulse@example.com"
    assert mail["To"] == "data-oncall@example.com, cto@example.com"
    assert mail.get_content() == text
    [payload] = hook.json_bodies()
    assert payload["text"] == text
    assert (payload["run_id"], payload["job_name"], payload["status"]) == (
        run_id, "lake_job", "FAILURE"
    )  # fmt: skip
    assert payload["failed_steps"] == [
        {
            "step": "bronze__marketing_qualified_leads",
            "assets": ["bronze/marketing_qualified_leads"],
            "cause": cause,
        }
    ]
    assert payload["failed_checks"] == []
    assert payload["run_url"] == f"{UI}/runs/{run_id}"


def test_a_failed_blocking_check_alerts_with_its_description_over_starttls_and_login(
    tmp_path, monkeypatch
):
    """One item of five names an unknown product: silver/order_items' references_products fails
    with ERROR (blocking), and the run fails. The e-mail goes over STARTTLS (a self-signed
    certificate, trusted through SSL_CERT_FILE) with a login."""
    tables = clean_tables()
    tables["order_items"][0]["product_id"] = "p9"
    tls = tmp_path / "tls"
    tls.mkdir()
    with smtp_server(tls_folder=tls, login=("alerts", "s3cret")) as smtp, http_server() as hook:
        monkeypatch.setenv("SSL_CERT_FILE", str(smtp.cert_file))
        env = alert_env(
            smtp.port,
            hook.url,
            GOODPULSE_ALERT_SMTP_SECURITY="starttls",
            GOODPULSE_ALERT_SMTP_USER="alerts",
            GOODPULSE_ALERT_SMTP_PASSWORD="s3cret",
        )
        _, settings = lake_run(tmp_path, tables, env)
        defs, instance, result = run_lake(settings)
        assert not result.success
        evaluate(defs, RUN_FAILURE_SENSOR, instance, result)

    assert smtp.logins == [("alerts", "s3cret")]
    [mail] = smtp.messages
    [payload] = hook.json_bodies()
    [check] = payload["failed_checks"]
    assert (check["check"], check["asset"], check["partition"]) == (
        "references_products", "silver/order_items", None
    )  # fmt: skip
    assert check["cause"] == (
        "1 violation(s) of the rule 'product_id exists in silver products' (rows checked 5, "
        "orphans quarantined 1, orphan rate 0.2, orphan error rate 0.01)"
    )
    # The step that failed only because of its blocking check is not listed as a cause.
    assert payload["failed_steps"] == []
    assert (
        f"Failed ERROR checks:\n  - check references_products of silver/order_items: "
        f"{check['cause']}\n"
    ) in mail.get_content()
    assert mail.get_content() == payload["text"]
    assert mail.get_content().startswith(
        f"Run {result.run_id} of job lake_job failed.\n\nFailed ERROR checks:\n"
    )
    assert "s3cret" not in mail.get_content()


@asset
def orders_table():
    return [1, 2, 3]


def customers_check(passed: bool):
    # Non-blocking: the run succeeds whatever the check says.
    @asset_check(asset=orders_table, name="orders_have_customers")
    def _check():
        return AssetCheckResult(
            passed=passed,
            severity=AssetCheckSeverity.ERROR,
            description="3 of 3 orders name no known customer" if not passed else "all known",
        )

    return _check


def test_a_failed_error_check_in_a_run_that_succeeded_alerts_too(tmp_path):
    instance = DagsterInstance.ephemeral()
    with smtp_server() as smtp, http_server() as hook:
        settings = alert_settings_from_env(alert_env(smtp.port, hook.url))
        sensors = {s.name: s for s in build_alert_sensors(settings)}
        results = {}
        for passed in (True, False):
            results[passed] = materialize(
                [orders_table, customers_check(passed)], instance=instance, run_config=QUIET
            )
            assert results[passed].success
        outcomes = {}
        for passed, result in results.items():
            context = build_run_status_sensor_context(
                sensor_name=CHECK_FAILURE_SENSOR, dagster_event=result.get_run_success_event(),
                dagster_instance=instance, dagster_run=result.dagster_run,
            )  # fmt: skip
            outcomes[passed] = sensors[CHECK_FAILURE_SENSOR](context)

    failed = results[False].run_id
    assert outcomes[True] == SkipReason(f"run {results[True].run_id}: no ERROR check failed")
    [mail] = smtp.messages
    # (A subject this long is folded onto the header's next line: unfolded, it starts with a space.)
    assert mail["Subject"].strip() == (
        f"GoodPulse: 1 ERROR check(s) failed in run {failed[:8]} of __ephemeral_asset_job__"
    )
    assert mail.get_content() == (
        f"Run {failed} of job __ephemeral_asset_job__ succeeded, but 1 ERROR check(s) failed.\n"
        "\n"
        "Failed ERROR checks:\n"
        "  - check orders_have_customers of orders_table: 3 of 3 orders name no known customer\n"
        "\n"
        f"Run in the Dagster UI: {UI}/runs/{failed}\n"
    )
    [payload] = hook.json_bodies()
    assert payload["status"] == "SUCCESS" and payload["run_id"] == failed
    assert payload["failed_checks"] == [
        {
            "check": "orders_have_customers",
            "asset": "orders_table",
            "partition": None,
            "cause": "3 of 3 orders name no known customer",
        }
    ]


def test_webhook_credentials_are_sent_as_basic_auth_and_never_echoed(tmp_path):
    """A webhook URL with ``user:password@`` is posted with a Basic authorization header; when
    the endpoint refuses, the error (shown in the sensor's tick) masks the password."""
    with smtp_server() as smtp, http_server() as hook:
        secret_url = hook.url.replace("http://", "http://alerts:s3cret@")
        settings = alert_settings_from_env(alert_env(smtp.port, secret_url))
        instance = DagsterInstance.ephemeral()
        result = materialize([orders_table, customers_check(False)], instance=instance,
                             run_config=QUIET)  # fmt: skip
        [sensor] = [s for s in build_alert_sensors(settings) if s.name == CHECK_FAILURE_SENSOR]
        context = build_run_status_sensor_context(
            sensor_name=CHECK_FAILURE_SENSOR, dagster_event=result.get_run_success_event(),
            dagster_instance=instance, dagster_run=result.dagster_run,
        )  # fmt: skip
        sensor(context)
        hook.status = 500
        with pytest.raises(AlertDeliveryError) as refused:
            post_webhook(secret_url, _any_alert(instance, result))
    assert hook.headers[0]["Authorization"] == (
        "Basic " + base64.b64encode(b"alerts:s3cret").decode()
    )
    assert str(refused.value) == (
        f"The alert webhook {hook.url.replace('http://', 'http://***@')} refused the alert: "
        "HTTP Error 500: Internal Server Error"
    )
    assert len(smtp.messages) == 1


def _any_alert(instance, result):
    from goodpulse_dagster.automation.alerts import build_alert

    return build_alert(instance, result.dagster_run)


def test_alerts_are_off_until_a_channel_is_configured():
    assert [s.name for s in build_sensors()] == ["landing_zone_sensor",
                                                 "analytics_automation_sensor"]  # fmt: skip
    assert build_alert_sensors(alert_settings_from_env({})) == []
    webhook_only = alert_settings_from_env({"GOODPULSE_ALERT_WEBHOOK_URL": "https://hooks/x"})
    assert [s.name for s in build_sensors(webhook_only)][2:] == [
        RUN_FAILURE_SENSOR,
        CHECK_FAILURE_SENSOR,
    ]
    smtp = alert_settings_from_env({"GOODPULSE_ALERT_SMTP_HOST": "mail", "GOODPULSE_ALERT_EMAIL_TO":
                                    "a@example.com", "GOODPULSE_ALERT_EMAIL_FROM": "g@example.com",
                                    "GOODPULSE_ALERT_SMTP_SECURITY": "SSL"})  # fmt: skip
    assert (smtp.smtp_port, smtp.smtp_security, smtp.email_to) == (465, "ssl", ("a@example.com",))
    with pytest.raises(UserSettingsError, match="GOODPULSE_ALERT_EMAIL_FROM and"):
        alert_settings_from_env({"GOODPULSE_ALERT_SMTP_HOST": "mail"})
    with pytest.raises(UserSettingsError, match="must be an http"):
        alert_settings_from_env({"GOODPULSE_ALERT_WEBHOOK_URL": "hooks.example.com/x"})
    with pytest.raises(UserSettingsError, match="GOODPULSE_ALERT_SMTP_SECURITY must be one of"):
        alert_settings_from_env({"GOODPULSE_ALERT_SMTP_SECURITY": "tls"})


# --- Through the daemon --------------------------------------------------------------------------


def _wait_for(what: str, condition, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise AssertionError(f"no {what} within {timeout:.0f} s; daemon log ends:\n{tail}")


def test_the_daemon_alerts_on_a_failed_goodpulse_run(tmp_path):
    """`dagster-daemon run` on the repository's workspace and dagster.yaml, the webhook set in its
    environment; `goodpulse run` with the same DAGSTER_HOME fails (the leads file is missing).
    The daemon's alert sensor sees the CLI's run (which carries no code-location origin) and
    posts the alert."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    raw = write_zone(tmp_path / "raw", clean_tables())
    (raw / LEADS_FILE).unlink()
    log = tmp_path / "daemon.log"
    beside = Path(sys.executable).parent / "dagster-daemon"
    daemon_cmd = str(beside) if beside.exists() else shutil.which("dagster-daemon")
    with http_server() as hook:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOODPULSE_", "DAGSTER_"))}
        env.update(
            DAGSTER_HOME=str(dagster_home),
            GOODPULSE_HOME=str(tmp_path / "home"),
            GOODPULSE_RAW_DIR=str(raw),
            GOODPULSE_ALERT_WEBHOOK_URL=hook.url,
            PYTHONUNBUFFERED="1",
        )
        with open(log, "wb") as out:
            daemon = subprocess.Popen(
                [daemon_cmd, "run", "-w", str(REPO / "workspace.yaml")],
                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        try:
            # A run-status sensor's first tick only notes where the event log ends (the daemon
            # logs "Initiating <sensor>. Set cursor to ..."): the failure must come after it.
            _wait_for(
                "first tick of the alert sensor",
                lambda: f"Initiating {RUN_FAILURE_SENSOR}" in log.read_text(errors="replace"),
                timeout=240,
                log=log,
            )
            done = subprocess.run(
                [sys.executable, "-m", "goodpulse_dagster.cli", "run"],
                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert done.returncode == cli.EXIT_RUN_FAILED, done.stdout + done.stderr

            def lake_alerts() -> list[dict]:
                return [b for b in hook.json_bodies() if b["job_name"] == "lake_job"]

            _wait_for("alert", lambda: lake_alerts(), timeout=180, log=log)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
    [alert] = lake_alerts()
    assert alert["status"] == "FAILURE"
    assert [s["step"] for s in alert["failed_steps"]] == ["bronze__marketing_qualified_leads"]
    assert alert["failed_steps"][0]["cause"].startswith(
        "no source file for table 'marketing_qualified_leads'"
    )

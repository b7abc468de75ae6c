"""Alerts: a message to a webhook and/or by e-mail when a run fails or an ERROR check fails.

Two sensors, built with Dagster's own run-status sensor API and defined only when a channel is
configured (settings.AlertSettings, GOODPULSE_ALERT_*):

- ``goodpulse_alert_on_run_failure`` (``@run_failure_sensor``): a run that failed. The message
  names the run (id, job), each failed step with the assets it materializes and the cause (the
  user error's sentence, as `goodpulse run` prints it), and every check of the run that failed
  with ERROR, with its description.
- ``goodpulse_alert_on_check_failure`` (``@run_status_sensor`` on SUCCESS): a run that succeeded
  although an ERROR check of it failed (a non-blocking check: the run goes on). Runs that failed
  are the other sensor's, so one run never alerts twice.

Both read the run's events through the instance's public API (``DagsterInstance.all_logs``), so
the sensors work the same for runs of the daemon, of `dagster dev` and of the CLI with
``DAGSTER_HOME`` set. Each channel gets the same text: a webhook a JSON POST whose ``text`` field
is the message (the field Slack and Teams incoming webhooks display) beside the details; an
e-mail a plain-text message over SMTP (STARTTLS, SSL or a plain relay). Dagster's
``make_email_on_run_failure_sensor`` is not used: its body is the run's failure event alone
(no failed asset, no cause, no checks), it always logs in over TLS, and a check failure in a run
that succeeded needs a sensor of its own anyway.

Every text is passed through ``mask_url_secrets``: a cause quoting an endpoint with
``user:password@`` is sent masked.
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
)

from goodpulse_dagster.errors import mask_url_secrets
from goodpulse_dagster.run_trust import user_error_message
from goodpulse_dagster.settings import AlertSettings

RUN_FAILURE_SENSOR = "goodpulse_alert_on_run_failure"
CHECK_FAILURE_SENSOR = "goodpulse_alert_on_check_failure"
# Seconds a webhook or SMTP server may take to answer: a tick must not hang on a dead endpoint.
DELIVERY_TIMEOUT = 10


@dataclass(frozen=True)
class FailedStep:
    step: str
    assets: tuple[str, ...]
    cause: str


@dataclass(frozen=True)
class FailedCheck:
    check: str
    asset: str
    partition: str | None
    cause: str


@dataclass(frozen=True)
class Alert:
    """What is sent: ``subject`` and ``text`` for people, the rest for machines."""

    subject: str
    text: str
    run_id: str
    job_name: str
    status: str
    failed_steps: list[FailedStep] = field(default_factory=list)
    failed_checks: list[FailedCheck] = field(default_factory=list)
    run_url: str | None = None

    def payload(self) -> dict:
        return asdict(self)


# --- What failed ---------------------------------------------------------------------------------


def failed_steps(instance: DagsterInstance, run_id: str) -> list[FailedStep]:
    """Each failed step of the run with the assets it materializes and its cause. A step that
    failed only because its blocking checks failed is left out: the checks say why."""
    records = instance.all_logs(
        run_id,
        of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.ASSET_MATERIALIZATION_PLANNED},
    )
    assets: dict[str, set[str]] = {}
    failures = []
    for record in records:
        event = record.dagster_event
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            key = event.event_specific_data.asset_key.to_user_string()
            # A run over a range of quarters plans each asset once per quarter.
            assets.setdefault(event.step_key, set()).add(key)
        else:
            failures.append(event)
    steps = []
    for event in failures:
        error = event.event_specific_data.error
        if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
            continue
        cause = user_error_message(error) if error is not None else "failed"
        steps.append(
            FailedStep(event.step_key, tuple(sorted(assets.get(event.step_key, ()))), cause)
        )
    return steps


def failed_error_checks(instance: DagsterInstance, run_id: str) -> list[FailedCheck]:
    """Every asset check of the run that failed with ERROR severity."""
    checks = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if not isinstance(evaluation, AssetCheckEvaluation):
            continue
        if evaluation.passed or evaluation.severity != AssetCheckSeverity.ERROR:
            continue
        checks.append(
            FailedCheck(
                check=evaluation.check_name,
                asset=evaluation.asset_key.to_user_string(),
                partition=evaluation.partition,
                cause=evaluation.description or "no description recorded",
            )
        )
    return checks


# --- The message ---------------------------------------------------------------------------------


def _check_line(check: FailedCheck) -> str:
    where = check.asset + (f" (quarter {check.partition})" if check.partition else "")
    return f"  - check {check.check} of {where}: {check.cause}"


def _step_line(step: FailedStep) -> str:
    assets = f" (assets {', '.join(step.assets)})" if step.assets else ""
    return f"  - step {step.step}{assets}: {step.cause}"


def build_alert(
    instance: DagsterInstance,
    run: DagsterRun,
    run_failure_message: str | None = None,
    ui_url: str | None = None,
) -> Alert | None:
    """The alert for a finished run: None when the run succeeded and no ERROR check failed.

    ``run_failure_message`` is the run's failure event message, the only cause there is when the
    run failed outside any step (its process crashed, a resource could not be built)."""
    failed = run.status == DagsterRunStatus.FAILURE
    steps = failed_steps(instance, run.run_id) if failed else []
    checks = failed_error_checks(instance, run.run_id)
    if not failed and not checks:
        return None
    if failed:
        subject = f"GoodPulse: run {run.run_id[:8]} of {run.job_name} failed"
        head = f"Run {run.run_id} of job {run.job_name} failed."
    else:
        subject = (
            f"GoodPulse: {len(checks)} ERROR check(s) failed in run {run.run_id[:8]} of "
            f"{run.job_name}"
        )
        head = (
            f"Run {run.run_id} of job {run.job_name} succeeded, but {len(checks)} ERROR "
            "check(s) failed."
        )
    lines = [head]
    if steps:
        lines += ["", "Failed steps:", *map(_step_line, steps)]
    elif failed and not checks and run_failure_message:
        # Nothing failed in a step or a check: the run itself did (a crash, a resource error).
        lines += ["", f"Cause: {run_failure_message}"]
    if checks:
        lines += ["", "Failed ERROR checks:", *map(_check_line, checks)]
    run_url = f"{ui_url.rstrip('/')}/runs/{run.run_id}" if ui_url else None
    if run_url:
        lines += ["", f"Run in the Dagster UI: {run_url}"]
    return Alert(
        subject=mask_url_secrets(subject),
        text=mask_url_secrets("\n".join(lines) + "\n"),
        run_id=run.run_id,
        job_name=run.job_name,
        status=run.status.value,
        failed_steps=[FailedStep(s.step, s.assets, mask_url_secrets(s.cause)) for s in steps],
        failed_checks=[
            FailedCheck(c.check, c.asset, c.partition, mask_url_secrets(c.cause)) for c in checks
        ],
        run_url=run_url,
    )


# --- Delivery ------------------------------------------------------------------------------------


class AlertDeliveryError(Exception):
    """A channel refused the alert (the sensor tick fails and shows this in the UI)."""


def _without_userinfo(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without ``user:password@``, and the Basic authorization header it stood for
    (urllib sends no credentials from a URL by itself, and refuses one as a bad port)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    credentials = f"{urllib.parse.unquote(parts.username)}:"
    credentials += urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(credentials.encode("utf-8")).decode("ascii")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), {
        "Authorization": f"Basic {token}"
    }


def post_webhook(url: str, alert: Alert) -> None:
    body = json.dumps(alert.payload()).encode("utf-8")
    target, headers = _without_userinfo(url)
    request = urllib.request.Request(
        target, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT) as response:
            response.read()
    except OSError as error:  # URLError and HTTPError are OSErrors
        # urllib quotes the URL it was given: never the credentials in it.
        raise AlertDeliveryError(
            mask_url_secrets(f"The alert webhook {url} refused the alert: {error}")
        ) from None


def send_email(settings: AlertSettings, alert: Alert) -> None:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = settings.email_from
    message["To"] = ", ".join(settings.email_to)
    message.set_content(alert.text)
    smtp_class = smtplib.SMTP_SSL if settings.smtp_security == "ssl" else smtplib.SMTP
    kwargs = {"context": ssl.create_default_context()} if settings.smtp_security == "ssl" else {}
    try:
        with smtp_class(
            settings.smtp_host, settings.smtp_port, timeout=DELIVERY_TIMEOUT, **kwargs
        ) as server:
            if settings.smtp_security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                server.login(settings.smtp_user, settings.smtp_password or "")
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise AlertDeliveryError(
            mask_url_secrets(
                f"The SMTP server {settings.smtp_host}:{settings.smtp_port} refused the alert: "
                f"{error}"
            )
        ) from None


def deliver(settings: AlertSettings, alert: Alert) -> list[str]:
    """Send ``alert`` on every configured channel; the channels it went to. Every channel is
    tried before a refusal is raised, so one dead channel does not silence the other."""
    sent, errors = [], []
    if settings.webhook_url:
        try:
            post_webhook(settings.webhook_url, alert)
            sent.append("webhook")
        except AlertDeliveryError as error:
            errors.append(str(error))
    if settings.smtp_host:
        try:
            send_email(settings, alert)
            sent.append("email")
        except AlertDeliveryError as error:
            errors.append(str(error))
    if errors:
        raise AlertDeliveryError("; ".join(errors))
    return sent


# --- The sensors ---------------------------------------------------------------------------------


def build_alert_sensors(settings: AlertSettings) -> list:
    """The two alert sensors, running by default (an alert nobody switched on is no alert); none
    while no channel is configured.

    They watch every run of the instance (``monitor_all_code_locations``), not only the runs
    launched from this code location: `goodpulse run` with ``DAGSTER_HOME`` set executes its jobs
    in its own process, and those runs carry no code-location origin, so the default filter
    would never alert on them."""
    if not settings.enabled:
        return []

    @run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        monitor_all_code_locations=True,
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Sends an alert (webhook and/or e-mail, GOODPULSE_ALERT_*) for every failed "
        "run: the run, each failed step with its assets and cause, the failed ERROR checks.",
    )
    def alert_on_run_failure(context: RunFailureSensorContext):
        alert = build_alert(
            context.instance,
            context.dagster_run,
            run_failure_message=context.failure_event.message,
            ui_url=settings.ui_url,
        )
        sent = deliver(settings, alert)
        context.log.info(f"alert for run {alert.run_id} sent by {', '.join(sent)}")

    @run_status_sensor(
        name=CHECK_FAILURE_SENSOR,
        monitor_all_code_locations=True,
        run_status=DagsterRunStatus.SUCCESS,
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Sends an alert (webhook and/or e-mail, GOODPULSE_ALERT_*) for a run that "
        "succeeded although one of its ERROR asset checks failed.",
    )
    def alert_on_check_failure(context: RunStatusSensorContext):
        alert = build_alert(context.instance, context.dagster_run, ui_url=settings.ui_url)
        if alert is None:
            return SkipReason(f"run {context.dagster_run.run_id}: no ERROR check failed")
        sent = deliver(settings, alert)
        context.log.info(f"alert for run {alert.run_id} sent by {', '.join(sent)}")
        return None

    return [alert_on_run_failure, alert_on_check_failure]

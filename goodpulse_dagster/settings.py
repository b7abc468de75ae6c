"""Environment settings, read in one place. Every variable is documented in README.md.

| variable | default | meaning |
|---|---|---|
| GOODPULSE_HOME | ./.goodpulse | local working directory: lake, warehouse, reports, caches |
| GOODPULSE_STORAGE | local | `local` or `s3`: where raw files and the Parquet lake live |
| GOODPULSE_RAW_DIR | $GOODPULSE_HOME/raw | local landing zone (storage=local) |
| GOODPULSE_S3_BUCKET | (none) | bucket for raw/ and lake/ (storage=s3) |
| GOODPULSE_S3_RAW_PREFIX | raw | landing-zone prefix in the bucket |
| GOODPULSE_S3_LAKE_PREFIX | lake | lake prefix in the bucket |
| GOODPULSE_S3_ENDPOINT_URL / AWS_ENDPOINT_URL | (AWS) | S3-compatible endpoint (MinIO, R2, LocalStack) |
| GOODPULSE_S3_REGION / AWS_REGION | us-east-1 | region of the bucket |
| GOODPULSE_WAREHOUSE | $GOODPULSE_HOME/warehouse.duckdb | DuckDB warehouse file (gold, kpi, quarantine) |
| GOODPULSE_COMPLETED_STATUSES | delivered | comma list of statuses that count as completed |
| GOODPULSE_REGULAR_MIN_ORDERS | 2 | fewest completed orders of a Regular customer |
| GOODPULSE_POWER_USER_MIN_ORDERS | 5 | fewest completed orders of a Power User |
| GOODPULSE_VALUE_QUANTILES | 0.2,0.8,0.95 | value-segment cut points (quantiles of lifetime revenue) |
| GOODPULSE_LIFECYCLE_DAYS | 90,180,365 | Active / Warm / At Risk upper bounds in recency days |
| GOODPULSE_TOP_N_CITIES | 7 | N of the top-N city revenue share |
| GOODPULSE_AS_OF | (latest purchase date) | reference date YYYY-MM-DD |
| GOODPULSE_ORPHAN_ERROR_RATE | 0.01 | quarantine rate above which a referential check is an ERROR |
| GOODPULSE_CSV_ENCODING | auto | encoding of the raw CSV files: `auto` (UTF-8, else cp1252, else latin-1, per file) or a Python codec name |
| GOODPULSE_MAX_LINE_AMOUNT | 1000000 | R$ ceiling of one payment_value, price or freight_value; a line above it is quarantined in silver |
| GOODPULSE_AS_OF_MAX_GAP_DAYS | 90 | a derived as_of is refused when a gap of more than this many days between purchases ... |
| GOODPULSE_AS_OF_OUTLIER_MAX_SHARE | 0.001 | ... leaves at most this share of all orders after it (a mistyped year); 0 turns the check off |
| GOODPULSE_REPORT_LAPSED_MARGIN_PP | 5 | the report says "re-activate lapsed high-value customers first" only when the At Risk + Dormant share of High Value and VIP customers exceeds that of the other customers by at least this many percentage points |
| GOODPULSE_REPORT_VIP_MIN_MULTIPLE | 2 | VIP revenue per customer must be at least this multiple of High Value's for the report to call VIPs a group apart (the top-5% cut alone guarantees more than 1x) |
| GOODPULSE_REPORT_CITY_RPC_MARGIN_PCT | 10 | the report recommends focusing on the top-N cities only when their revenue share exceeds their customer share by at least this many percent (relative) |
| GOODPULSE_REPORT_MIN_GROUP_PCT | 1 | a group below this percentage of customers (Power Users, a channel) is described as negligible |
| GOODPULSE_RAW_MAX_AGE_HOURS | 26 | freshness: WARN when the newest orders, items, payments or reviews file of the landing zone is older (a daily export, plus slack) |
| GOODPULSE_SILVER_MAX_LAG_HOURS | 26 | freshness: ERROR when a landing-zone file has waited longer than this for silver to read it (the daily schedule, plus slack) |
| GOODPULSE_AUTOMATION_CYCLE_MINUTES | 30 | freshness: ERROR when the report has been older than silver for longer than this (one automation cycle: a sensor tick, the queue, one analytics run) |
| GOODPULSE_PG_HOST / _PORT / _USER / _PASSWORD / _DB | (none) | the Postgres run database; read by Dagster from deploy/dagster.postgres.yaml, not here (docs/deployment.md) |
| GOODPULSE_PG_URL | (none) | the same as one `postgresql+psycopg2://` URL, for deploy/dagster.postgres-url.yaml |
| GOODPULSE_CODE_SERVER_HOST / _PORT | (none) | the gRPC code server; read by Dagster from deploy/workspace.grpc.yaml (webserver, daemon) |
| GOODPULSE_LAKE_RUN_MAX_ORDERS | 300000 | `goodpulse run` splits the lake phase into runs of at most this many orders |
| GOODPULSE_MEMORY_LIMIT | 2GB, or a quarter of the machine's memory when less | DuckDB's memory_limit of every database the package opens (`500MB`, `2GB`); beyond it DuckDB spills to disk |
| GOODPULSE_TEMP_DIR | $GOODPULSE_HOME/tmp/duckdb | where DuckDB spills what does not fit in the memory limit |
| GOODPULSE_THREADS | (the machine's cores) | DuckDB threads of every database the package opens |
| GOODPULSE_S3_MAX_ATTEMPTS | 5 | attempts of one S3 request (boto3 standard retry mode: backoff, throttling and 5xx retried) |
| GOODPULSE_ALERT_WEBHOOK_URL | (off) | URL that run-failure and check-failure alerts are POSTed to as JSON (`text` + details) |
| GOODPULSE_ALERT_SMTP_HOST | (off) | SMTP server that alert e-mails go through |
| GOODPULSE_ALERT_SMTP_PORT | 587 / 465 / 25 | its port (by default the port of GOODPULSE_ALERT_SMTP_SECURITY) |
| GOODPULSE_ALERT_SMTP_SECURITY | starttls | `starttls`, `ssl` or `none` (a relay on a trusted network) |
| GOODPULSE_ALERT_SMTP_USER | (none) | SMTP login; no login when unset |
| GOODPULSE_ALERT_SMTP_PASSWORD | (none) | SMTP password (from the environment or a secret store only) |
| GOODPULSE_ALERT_EMAIL_FROM | (none) | sender of alert e-mails (required with GOODPULSE_ALERT_SMTP_HOST) |
| GOODPULSE_ALERT_EMAIL_TO | (none) | comma list of recipients (required with GOODPULSE_ALERT_SMTP_HOST) |
| GOODPULSE_ALERT_UI_URL | (none) | base URL of the Dagster UI, for a link to the run in each alert |
| GOODPULSE_CHURN_HIGH_BELOW | 0.3 | churn_risk is High when probability_alive is below this (docs/predictions.md) |
| GOODPULSE_CHURN_MEDIUM_BELOW | 0.6 | ... Medium below this, else Low |
| GOODPULSE_BACKTEST_HOLDOUT_DAYS | 180 | the prediction backtest fits on orders up to as_of minus this many days |
| GOODPULSE_BACKTEST_TIE_SHARE | 0.01 | the report calls model and baseline tied on a measure within this share of the baseline's figure |
| GOODPULSE_CHURN_RISE_WARN_SHARE | 0.25 | the churn monitor WARNs when High-risk revenue of High Value + VIP grows by more than this share between its last two dates |
| GOODPULSE_ENGINE | duckdb | `duckdb` or `spark`: the engine of the unified lifecycle, gold, KPI and prediction assets (docs/scale-out.md) |
| GOODPULSE_SPARK_REMOTE | local[2] | with engine=spark: a Spark Connect URL (`sc://host:15002`, Databricks Connect) or `local[N]` (a local Spark Connect server, N threads) |
| GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS | 20 | a churn-monitor date with fewer repeat customers is left out, and below it Gamma-Gamma is not fitted (spend = population mean) |

Secrets embedded in URLs (``user:password@`` or a signed query) are masked by ``mask_url_secrets``
in every message GoodPulse prints, raises or sends.
"""

from __future__ import annotations

import codecs
import math
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from goodpulse_dagster import lake_layout
from goodpulse_dagster.errors import UserSettingsError, mask_url_secrets
from goodpulse_dagster.memory_budget import MemoryBudget
from goodpulse_dagster.params import (
    MetricParams,
    element_type,
    env_var,
    is_list,
    metric_fields,
)

STORAGE_LOCAL = "local"
STORAGE_S3 = "s3"

# --- Alerts --------------------------------------------------------------------------------------

SMTP_SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class AlertSettings:
    """Where run-failure and check-failure alerts go (automation/alerts.py). Each channel is off
    while its variables are unset; with neither, no alert sensor is defined."""

    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    email_from: str | None = None
    email_to: tuple[str, ...] = ()
    ui_url: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or self.smtp_host)


def alert_settings_from_env(env: dict[str, str] | None = None) -> AlertSettings:
    host = _env("GOODPULSE_ALERT_SMTP_HOST", None, env)
    security = _env("GOODPULSE_ALERT_SMTP_SECURITY", "starttls", env).strip().lower()
    if security not in SMTP_SECURITY_PORTS:
        raise UserSettingsError(
            f"GOODPULSE_ALERT_SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY_PORTS)}, "
            f"got {security!r}."
        )
    port = _env("GOODPULSE_ALERT_SMTP_PORT", None, env)
    recipients = tuple(
        a.strip() for a in (_env("GOODPULSE_ALERT_EMAIL_TO", "", env) or "").split(",") if a.strip()
    )
    sender = _env("GOODPULSE_ALERT_EMAIL_FROM", None, env)
    if host and not (recipients and sender):
        raise UserSettingsError(
            "GOODPULSE_ALERT_SMTP_HOST is set: GOODPULSE_ALERT_EMAIL_FROM and "
            "GOODPULSE_ALERT_EMAIL_TO must name the sender and the recipients of alert e-mails."
        )
    webhook = _env("GOODPULSE_ALERT_WEBHOOK_URL", None, env)
    if webhook and not webhook.lower().startswith(("http://", "https://")):
        raise UserSettingsError(
            f"GOODPULSE_ALERT_WEBHOOK_URL must be an http(s) URL, got {mask_url_secrets(webhook)!r}."
        )
    return AlertSettings(
        webhook_url=webhook,
        smtp_host=host,
        smtp_port=(
            _whole(port, "GOODPULSE_ALERT_SMTP_PORT") if port else SMTP_SECURITY_PORTS[security]
        ),
        smtp_security=security,
        smtp_user=_env("GOODPULSE_ALERT_SMTP_USER", None, env),
        smtp_password=_env("GOODPULSE_ALERT_SMTP_PASSWORD", None, env),
        email_from=sender,
        email_to=recipients,
        ui_url=_env("GOODPULSE_ALERT_UI_URL", None, env),
    )


# --- The engine (issue 18, docs/scale-out.md) ----------------------------------------------------

ENGINE_DUCKDB = "duckdb"
ENGINE_SPARK = "spark"
ENGINES = (ENGINE_DUCKDB, ENGINE_SPARK)
# Two worker threads: what a laptop or this CI machine (2 cores) can give a local server.
DEFAULT_SPARK_REMOTE = "local[2]"


@dataclass(frozen=True)
class EngineSettings:
    """Which engine runs the unified lifecycle, gold, KPI and prediction assets, and where Spark
    is: ``spark_remote`` is a Spark Connect URL (``sc://host:15002``; Databricks Connect's
    ``sc://<workspace>:443/;token=...;x-databricks-cluster-id=...``) or ``local[N]``, a local
    Spark Connect server with N worker threads (the tests)."""

    engine: str = ENGINE_DUCKDB
    spark_remote: str = DEFAULT_SPARK_REMOTE

    @property
    def spark(self) -> bool:
        return self.engine == ENGINE_SPARK


def engine_settings_from_env(env: dict[str, str] | None = None) -> EngineSettings:
    """``GOODPULSE_ENGINE`` and ``GOODPULSE_SPARK_REMOTE``, checked."""
    engine = (_env("GOODPULSE_ENGINE", ENGINE_DUCKDB, env) or "").strip().lower()
    if engine not in ENGINES:
        raise UserSettingsError(f"GOODPULSE_ENGINE must be one of {ENGINES}, got {engine!r}")
    remote = (_env("GOODPULSE_SPARK_REMOTE", DEFAULT_SPARK_REMOTE, env) or "").strip()
    if not (remote.startswith("sc://") or remote.startswith("local")):
        raise UserSettingsError(
            "GOODPULSE_SPARK_REMOTE must be a Spark Connect URL (sc://host:15002) or local[N], "
            f"got {mask_url_secrets(remote)!r}"
        )
    return EngineSettings(engine=engine, spark_remote=remote)


@dataclass(frozen=True)
class Settings:
    home: Path
    storage: str
    raw_dir: Path
    s3_bucket: str | None
    s3_raw_prefix: str
    s3_lake_prefix: str
    s3_endpoint_url: str | None
    s3_region: str
    warehouse_path: Path
    metrics: MetricParams
    orphan_error_rate: float
    # The CLI runs the lake job over consecutive quarters holding at most this many orders per
    # run, so memory is bounded by the run size, not the data size (docs/performance.md).
    lake_run_max_orders: int = 300_000
    # The text encoding of the raw CSV files: 'auto' detects it per file (bronze/parsing.py).
    csv_encoding: str = "auto"
    # Freshness thresholds (automation/freshness_checks.py).
    raw_max_age_hours: float = 26.0
    silver_max_lag_hours: float = 26.0
    automation_cycle_minutes: float = 30.0
    # Attempts of one S3 request, retried by boto3's standard mode (resources/storage.py).
    s3_max_attempts: int = 5
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # GOODPULSE_ENGINE and GOODPULSE_SPARK_REMOTE.
    engine: EngineSettings = field(default_factory=EngineSettings)

    # The folders of the home (lake_layout.py says what each holds).
    @property
    def lake_dir(self) -> Path:
        return lake_layout.lake_dir(self.home)

    @property
    def staging_dir(self) -> Path:
        return lake_layout.staging_dir(self.home)

    @property
    def raw_cache_dir(self) -> Path:
        return lake_layout.raw_cache_dir(self.home)

    @property
    def reports_dir(self) -> Path:
        return lake_layout.reports_dir(self.home)


def _env(name: str, default: str | None = None, env: dict[str, str] | None = None) -> str | None:
    value = (env if env is not None else os.environ).get(name)
    return value if value not in (None, "") else default


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError as exc:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from exc


def _positive_int(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from exc
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def _encoding(text: str) -> str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        codecs.lookup(text.strip())
    except LookupError as exc:
        raise UserSettingsError(
            f"GOODPULSE_CSV_ENCODING must be 'auto' or a codec name such as utf-8, cp1252 or "
            f"latin-1, got {text!r}"
        ) from exc
    return text.strip()


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise UserSettingsError(f"{name} must be a number, got {text!r}.") from exc
    return value


def _whole(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise UserSettingsError(f"{name} must be a whole number, got {text!r}.") from exc


# --- Report margins (issue 20): when a finding may single a group out. ---------------------------


@dataclass(frozen=True)
class ReportMargins:
    """How far a group must stand apart before the executive report recommends acting on it.

    Without a margin, a rule fires on differences the data does not support (a lapsed share of
    70.3% against 69.2%) or on what a definition guarantees (the top 5% by revenue always bring
    more than 5% of it). Shares and margins are fractions (0.05 = 5 percentage points)."""

    # The At Risk + Dormant share of High Value and VIP customers must exceed that of the other
    # customers by at least this (absolute, in share points) to "re-activate them first".
    lapsed_margin: float = 0.05
    # VIP revenue per customer / High Value revenue per customer. Every VIP spent at least the
    # p95 cut point and every High Value customer less, so the ratio is above 1 by construction;
    # only a ratio of at least this sets VIPs apart as a group worth their own care tier.
    vip_min_multiple: float = 2.0
    # (top-N revenue share / top-N customer share) - 1: the top cities' customers must spend at
    # least this much more (relative) than the average customer for a city focus to pay.
    city_rpc_margin: float = 0.10
    # A group (frequency tier, channel) below this share of customers is called negligible.
    min_group_share: float = 0.01

    def __post_init__(self) -> None:
        for name in ("lapsed_margin", "city_rpc_margin", "min_group_share"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value < 1):
                raise UserSettingsError(
                    f"report margin {name} must be a share from 0 up to 1, got {value}"
                )
        if not (math.isfinite(self.vip_min_multiple) and self.vip_min_multiple >= 1):
            raise UserSettingsError(
                "GOODPULSE_REPORT_VIP_MIN_MULTIPLE must be at least 1 (VIPs always out-spend High "
                f"Value customers), got {self.vip_min_multiple}"
            )


def report_margins_from_env(env: dict[str, str] | None = None) -> ReportMargins:
    """ReportMargins from GOODPULSE_REPORT_* (percentages in the environment, fractions here)."""

    # The defaults are the dataclass's own, so each lives in one place.
    default = ReportMargins()

    def pct(name: str, fallback: float) -> float:
        return _number(_env(name, f"{fallback * 100:g}", env), name) / 100

    return ReportMargins(
        lapsed_margin=pct("GOODPULSE_REPORT_LAPSED_MARGIN_PP", default.lapsed_margin),
        vip_min_multiple=_number(
            _env("GOODPULSE_REPORT_VIP_MIN_MULTIPLE", f"{default.vip_min_multiple:g}", env),
            "GOODPULSE_REPORT_VIP_MIN_MULTIPLE",
        ),
        city_rpc_margin=pct("GOODPULSE_REPORT_CITY_RPC_MARGIN_PCT", default.city_rpc_margin),
        min_group_share=pct("GOODPULSE_REPORT_MIN_GROUP_PCT", default.min_group_share),
    )


def _positive_number(text: str, name: str) -> float:
    value = _number(text, name)
    if not value > 0:
        raise UserSettingsError(f"{name} must be a number above 0, got {text!r}.")
    return value


def _metric_value(param, text: str):
    """The value of the MetricParams field ``param`` from its environment variable's text."""
    name = env_var(param.name)
    kind = element_type(param)
    if is_list(param):
        if kind is str:
            return tuple(s.strip() for s in text.split(",") if s.strip())
        numbers = _floats(text, name)
        return tuple(int(x) for x in numbers) if kind is int else numbers
    if kind is int:
        return _whole(text, name)
    if kind is float:
        return _number(text, name)
    return date.fromisoformat(text)


def metric_params_from_env(env: dict[str, str] | None = None) -> MetricParams:
    """MetricParams from the GOODPULSE_<FIELD> variables (params.py declares the
    fields); an unset variable leaves the field's default. Validated by MetricParams, which
    raises UserSettingsError."""
    values = {}
    for param in metric_fields():
        text = _env(env_var(param.name), None, env)
        if text is not None:
            values[param.name] = _metric_value(param, text)
    return MetricParams(**values)


# --- The DuckDB memory budget (memory_budget.py) --------------------------------------------------

# The whole run (Python, Dagster and DuckDB) is meant to peak at no more than ~3 GB of memory, so
# DuckDB gets at most 2 GB, and on a small machine a quarter of its memory.
DEFAULT_MEMORY_LIMIT_BYTES = 2 * 10**9
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)


def default_memory_limit(total_memory_bytes: int) -> str:
    """The smaller of 2 GB and a quarter of ``total_memory_bytes``, as DuckDB size text."""
    limit = min(DEFAULT_MEMORY_LIMIT_BYTES, total_memory_bytes // 4)
    if limit == DEFAULT_MEMORY_LIMIT_BYTES:
        return "2GB"
    return f"{limit // 10**6}MB"


def _memory_limit(text: str) -> str:
    """A DuckDB size ('500MB', '2GB', '1.5GiB'), spaces removed; a percentage is not taken, as
    DuckDB's would be of the whole machine, not of what the run may use."""
    match = _SIZE.fullmatch(text.strip())
    if match is None or float(match.group(1)) == 0:
        raise UserSettingsError(
            f"GOODPULSE_MEMORY_LIMIT must be a size above 0 such as 500MB or 2GB, got {text!r}."
        )
    return f"{match.group(1)}{match.group(2).upper().replace('I', 'i')}"


def memory_budget_from_env(env: dict[str, str] | None = None) -> MemoryBudget:
    """The budget from GOODPULSE_MEMORY_LIMIT, GOODPULSE_TEMP_DIR and GOODPULSE_THREADS."""
    memory = _env("GOODPULSE_MEMORY_LIMIT", None, env)
    if memory is None:
        import psutil

        memory = default_memory_limit(psutil.virtual_memory().total)
    threads = _env("GOODPULSE_THREADS", None, env)
    try:
        thread_count = int(threads) if threads is not None else (os.cpu_count() or 1)
    except ValueError:
        thread_count = 0
    if thread_count < 1:
        raise UserSettingsError(
            f"GOODPULSE_THREADS must be a whole number of at least 1, got {threads!r}."
        )
    temp = _env("GOODPULSE_TEMP_DIR", str(lake_layout.duckdb_temp_dir(_home(env))), env)
    return MemoryBudget(
        memory_limit=_memory_limit(memory),
        temp_directory=Path(temp).absolute(),
        threads=thread_count,
    )


def _home(env: dict[str, str] | None) -> Path:
    return Path(_env("GOODPULSE_HOME", ".goodpulse", env)).absolute()


def load_settings(env: dict[str, str] | None = None) -> Settings:
    home = _home(env)
    storage = _env("GOODPULSE_STORAGE", STORAGE_LOCAL, env).lower()
    if storage not in (STORAGE_LOCAL, STORAGE_S3):
        raise ValueError(f"GOODPULSE_STORAGE must be 'local' or 's3', got {storage!r}")
    bucket = _env("GOODPULSE_S3_BUCKET", None, env)
    if storage == STORAGE_S3 and not bucket:
        raise ValueError("GOODPULSE_STORAGE=s3 needs GOODPULSE_S3_BUCKET")
    return Settings(
        home=home,
        storage=storage,
        raw_dir=Path(
            _env("GOODPULSE_RAW_DIR", str(lake_layout.default_raw_dir(home)), env)
        ).absolute(),
        s3_bucket=bucket,
        s3_raw_prefix=_env("GOODPULSE_S3_RAW_PREFIX", "raw", env),
        s3_lake_prefix=_env("GOODPULSE_S3_LAKE_PREFIX", "lake", env),
        s3_endpoint_url=_env("GOODPULSE_S3_ENDPOINT_URL", _env("AWS_ENDPOINT_URL", None, env), env),
        s3_region=_env("GOODPULSE_S3_REGION", _env("AWS_REGION", "us-east-1", env), env),
        warehouse_path=Path(
            _env("GOODPULSE_WAREHOUSE", str(lake_layout.default_warehouse(home)), env)
        ).absolute(),
        metrics=metric_params_from_env(env),
        orphan_error_rate=float(_env("GOODPULSE_ORPHAN_ERROR_RATE", "0.01", env)),
        lake_run_max_orders=_positive_int(
            _env("GOODPULSE_LAKE_RUN_MAX_ORDERS", "300000", env), "GOODPULSE_LAKE_RUN_MAX_ORDERS"
        ),
        csv_encoding=_encoding(_env("GOODPULSE_CSV_ENCODING", "auto", env)),
        raw_max_age_hours=_positive_number(
            _env("GOODPULSE_RAW_MAX_AGE_HOURS", "26", env), "GOODPULSE_RAW_MAX_AGE_HOURS"
        ),
        silver_max_lag_hours=_positive_number(
            _env("GOODPULSE_SILVER_MAX_LAG_HOURS", "26", env), "GOODPULSE_SILVER_MAX_LAG_HOURS"
        ),
        automation_cycle_minutes=_positive_number(
            _env("GOODPULSE_AUTOMATION_CYCLE_MINUTES", "30", env),
            "GOODPULSE_AUTOMATION_CYCLE_MINUTES",
        ),
        s3_max_attempts=_positive_int(
            _env("GOODPULSE_S3_MAX_ATTEMPTS", "5", env), "GOODPULSE_S3_MAX_ATTEMPTS"
        ),
        alerts=alert_settings_from_env(env),
        engine=engine_settings_from_env(env),
    )

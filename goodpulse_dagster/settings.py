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
| GOODPULSE_CHURN_HIGH_BELOW | 0.3 | churn_risk is High when probability_alive is below this (docs/predictions.md) |
| GOODPULSE_CHURN_MEDIUM_BELOW | 0.6 | ... Medium below this, else Low |
| GOODPULSE_BACKTEST_HOLDOUT_DAYS | 180 | the prediction backtest fits on orders up to as_of minus this many days |
| GOODPULSE_BACKTEST_TIE_SHARE | 0.01 | the report calls model and baseline tied on a measure within this share of the baseline's figure |
| GOODPULSE_CHURN_RISE_WARN_SHARE | 0.25 | the churn monitor WARNs when High-risk revenue of High Value + VIP grows by more than this share between its last two dates |
| GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS | 20 | a churn-monitor date with fewer repeat customers is left out, and below it Gamma-Gamma is not fitted (spend = population mean) |
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from goodpulse_dagster.errors import UserSettingsError
from goodpulse_dagster.transforms.params import MetricParams

STORAGE_LOCAL = "local"
STORAGE_S3 = "s3"


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
    lake_run_max_orders: int = 1_000_000
    # The text encoding of the raw CSV files: 'auto' detects it per file (transforms/bronze.py).
    csv_encoding: str = "auto"

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def staging_dir(self) -> Path:
        """Parsed copies of raw files, by content hash: a file is parsed once, however many
        partitions read it."""
        return self.home / "staging"

    @property
    def raw_cache_dir(self) -> Path:
        """Local copies of S3 raw objects (by ETag) for DuckDB to read."""
        return self.home / "cache" / "raw"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


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


# --- Trustworthy values (issue 14): the line-amount ceiling and the as_of outlier rule. -----------


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


def value_rule_params_from_env(env: dict[str, str] | None = None) -> dict[str, float | int]:
    """The MetricParams fields of issue 14, from GOODPULSE_MAX_LINE_AMOUNT,
    GOODPULSE_AS_OF_MAX_GAP_DAYS and GOODPULSE_AS_OF_OUTLIER_MAX_SHARE (validated by
    MetricParams, which raises UserSettingsError)."""
    return {
        "max_line_amount": _number(
            _env("GOODPULSE_MAX_LINE_AMOUNT", "1000000", env), "GOODPULSE_MAX_LINE_AMOUNT"
        ),
        "as_of_max_gap_days": _whole(
            _env("GOODPULSE_AS_OF_MAX_GAP_DAYS", "90", env), "GOODPULSE_AS_OF_MAX_GAP_DAYS"
        ),
        "as_of_outlier_max_share": _number(
            _env("GOODPULSE_AS_OF_OUTLIER_MAX_SHARE", "0.001", env),
            "GOODPULSE_AS_OF_OUTLIER_MAX_SHARE",
        ),
    }


def prediction_params_from_env(env: dict[str, str] | None = None) -> dict[str, float | int]:
    """The MetricParams fields of issue 19 (predictions), validated by MetricParams."""
    return {
        "churn_high_below": _number(
            _env("GOODPULSE_CHURN_HIGH_BELOW", "0.3", env), "GOODPULSE_CHURN_HIGH_BELOW"
        ),
        "churn_medium_below": _number(
            _env("GOODPULSE_CHURN_MEDIUM_BELOW", "0.6", env), "GOODPULSE_CHURN_MEDIUM_BELOW"
        ),
        "backtest_holdout_days": _whole(
            _env("GOODPULSE_BACKTEST_HOLDOUT_DAYS", "180", env), "GOODPULSE_BACKTEST_HOLDOUT_DAYS"
        ),
        "backtest_tie_share": _number(
            _env("GOODPULSE_BACKTEST_TIE_SHARE", "0.01", env), "GOODPULSE_BACKTEST_TIE_SHARE"
        ),
        "churn_rise_warn_share": _number(
            _env("GOODPULSE_CHURN_RISE_WARN_SHARE", "0.25", env), "GOODPULSE_CHURN_RISE_WARN_SHARE"
        ),
        "prediction_min_repeat_customers": _whole(
            _env("GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS", "20", env),
            "GOODPULSE_PREDICTION_MIN_REPEAT_CUSTOMERS",
        ),
    }


def metric_params_from_env(env: dict[str, str] | None = None) -> MetricParams:
    statuses = _env("GOODPULSE_COMPLETED_STATUSES", "delivered", env)
    as_of = _env("GOODPULSE_AS_OF", None, env)
    return MetricParams(
        completed_statuses=tuple(s.strip() for s in statuses.split(",") if s.strip()),
        regular_min_orders=int(_env("GOODPULSE_REGULAR_MIN_ORDERS", "2", env)),
        power_user_min_orders=int(_env("GOODPULSE_POWER_USER_MIN_ORDERS", "5", env)),
        value_quantiles=_floats(
            _env("GOODPULSE_VALUE_QUANTILES", "0.2,0.8,0.95", env), "GOODPULSE_VALUE_QUANTILES"
        ),
        lifecycle_days=tuple(
            int(x)
            for x in _floats(
                _env("GOODPULSE_LIFECYCLE_DAYS", "90,180,365", env), "GOODPULSE_LIFECYCLE_DAYS"
            )
        ),
        top_n_cities=int(_env("GOODPULSE_TOP_N_CITIES", "7", env)),
        as_of=date.fromisoformat(as_of) if as_of else None,
        **value_rule_params_from_env(env),
        **prediction_params_from_env(env),
    )


def load_settings(env: dict[str, str] | None = None) -> Settings:
    home = Path(_env("GOODPULSE_HOME", ".goodpulse", env)).absolute()
    storage = _env("GOODPULSE_STORAGE", STORAGE_LOCAL, env).lower()
    if storage not in (STORAGE_LOCAL, STORAGE_S3):
        raise ValueError(f"GOODPULSE_STORAGE must be 'local' or 's3', got {storage!r}")
    bucket = _env("GOODPULSE_S3_BUCKET", None, env)
    if storage == STORAGE_S3 and not bucket:
        raise ValueError("GOODPULSE_STORAGE=s3 needs GOODPULSE_S3_BUCKET")
    return Settings(
        home=home,
        storage=storage,
        raw_dir=Path(_env("GOODPULSE_RAW_DIR", str(home / "raw"), env)).absolute(),
        s3_bucket=bucket,
        s3_raw_prefix=_env("GOODPULSE_S3_RAW_PREFIX", "raw", env),
        s3_lake_prefix=_env("GOODPULSE_S3_LAKE_PREFIX", "lake", env),
        s3_endpoint_url=_env("GOODPULSE_S3_ENDPOINT_URL", _env("AWS_ENDPOINT_URL", None, env), env),
        s3_region=_env("GOODPULSE_S3_REGION", _env("AWS_REGION", "us-east-1", env), env),
        warehouse_path=Path(
            _env("GOODPULSE_WAREHOUSE", str(home / "warehouse.duckdb"), env)
        ).absolute(),
        metrics=metric_params_from_env(env),
        orphan_error_rate=float(_env("GOODPULSE_ORPHAN_ERROR_RATE", "0.01", env)),
        lake_run_max_orders=_positive_int(
            _env("GOODPULSE_LAKE_RUN_MAX_ORDERS", "1000000", env), "GOODPULSE_LAKE_RUN_MAX_ORDERS"
        ),
        csv_encoding=_encoding(_env("GOODPULSE_CSV_ENCODING", "auto", env)),
    )

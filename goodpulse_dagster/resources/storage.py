"""Dagster resources for the landing zone, the Parquet lake, and the analytics settings.

Local and S3 differ only in the store these resources build; S3 clients come from dagster-aws's
``S3Resource`` (boto3), whose ``endpoint_url`` makes MinIO, R2 or LocalStack work as well.

Transient S3 errors are retried at two levels. The client retries each request in boto3's
*standard* retry mode (throttling such as 503 SlowDown, 5xx, dropped connections; exponential
backoff with jitter) up to ``max_attempts`` attempts (GOODPULSE_S3_MAX_ATTEMPTS); a step whose
request still fails is retried whole by its Dagster ``RetryPolicy`` (goodpulse_dagster/retries.py).
"""

from __future__ import annotations

import os
import threading
from datetime import date
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field, create_model

from goodpulse_dagster import lake_layout
from goodpulse_dagster.errors import UserSettingsError, mask_url_secrets
from goodpulse_dagster.landing.zone import LandingZone, LocalLandingZone, S3LandingZone
from goodpulse_dagster.params import (
    MetricParams,
    config_value,
    description,
    element_type,
    from_config,
    is_list,
    metric_fields,
    to_config,
)
from goodpulse_dagster.resources.lake import LakeStore, LocalLakeStore, S3LakeStore
from goodpulse_dagster.resources.lake_data import LakeDataset, LakeOutput
from goodpulse_dagster.resources.s3_filesystem import s3_filesystem
from goodpulse_dagster.settings import STORAGE_LOCAL, STORAGE_S3

# One boto3 client per (process, endpoint, region, attempts), shared by every store and landing zone of
# the process: a client costs ~0.1 s to build (it loads the service model) and keeps its own
# connection pool, and a run built one per load and per store (~960 requests in a 20,000-order
# lake phase). boto3 clients are thread-safe; a forked child builds its own.
_S3_CLIENTS: dict[tuple[int, str | None, str, int], Any] = {}
_S3_CLIENTS_LOCK = threading.Lock()


class S3Connection(ConfigurableResource):
    """Where the S3 API is: AWS by default, or any S3-compatible endpoint."""

    endpoint_url: str | None = None
    region_name: str = "us-east-1"
    # Attempts of one request (the first included) in boto3's standard retry mode.
    max_attempts: int = 5

    def client(self):
        key = (os.getpid(), self.endpoint_url, self.region_name, self.max_attempts)
        with _S3_CLIENTS_LOCK:
            if key not in _S3_CLIENTS:
                # Imported here: dagster_aws pulls in Dagster's components machinery (~1.2 s of
                # every process start, a third of the import time), and only storage=s3 needs it.
                from dagster_aws.s3 import S3Resource

                # dagster-aws builds the client with Config(retries={"mode": "standard",
                # "max_attempts": ...}).
                resource = S3Resource(
                    endpoint_url=self.endpoint_url,
                    region_name=self.region_name,
                    max_attempts=self.max_attempts,
                )
                try:
                    _S3_CLIENTS[key] = resource.get_client()
                except ValueError as error:
                    # botocore quotes the endpoint it refuses, credentials included.
                    raise UserSettingsError(
                        f"The S3 endpoint {mask_url_secrets(str(self.endpoint_url))} cannot be "
                        f"used: {mask_url_secrets(str(error))}. Set GOODPULSE_S3_ENDPOINT_URL "
                        "to a URL such as http://127.0.0.1:9000."
                    ) from None
            return _S3_CLIENTS[key]

    def filesystem(self):
        """The fsspec filesystem DuckDB reads and writes ``s3://`` URIs through
        (resources/s3_filesystem.py), one per process and endpoint."""
        return s3_filesystem(self.endpoint_url, self.region_name, self.max_attempts)


class LakeResource(ConfigurableResource):
    """The Parquet lake: ``local_dir`` (storage=local) or ``s3://bucket/prefix`` (storage=s3)."""

    storage: str = STORAGE_LOCAL
    local_dir: str = ".goodpulse/lake"
    s3_bucket: str | None = None
    s3_prefix: str = "lake"
    s3: S3Connection = Field(default_factory=S3Connection)
    # Where DuckDB writes a step's lake objects before they are published
    # (lake_layout.lake_output_dir; local in both storages).
    scratch_dir: str = ".goodpulse/tmp/lake-out"

    def store(self) -> LakeStore:
        if self.storage == STORAGE_S3:
            return S3LakeStore(self.s3.client(), self.s3_bucket, self.s3_prefix)
        return LocalLakeStore(self.local_dir)

    def dataset(self, relpaths: list[str]) -> LakeDataset:
        """The objects ``relpaths`` as a dataset DuckDB scans where they lie."""
        store = self.store()
        filesystem = self.s3.filesystem() if self.storage == STORAGE_S3 else None
        return LakeDataset(tuple(store.object_uri(p) for p in relpaths), filesystem)

    def output_folder(self, run_id: str, *parts: str) -> Path:
        """A step's scratch folder for the files it writes (``<scratch>/<run>/<parts>``)."""
        return lake_layout.run_output_dir(Path(self.scratch_dir), run_id, *parts)

    def prune_output_folders(self, run_id: str) -> None:
        """Remove the run's scratch folders left empty once their files are published (only
        this run's: another run may be writing its own)."""
        root = lake_layout.run_output_dir(Path(self.scratch_dir), run_id)
        if not root.is_dir():
            return
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not any(root.iterdir()):
            root.rmdir()

    def publish_quarantine(self, table: str, layer: str, output: LakeOutput) -> str:
        """Replace a table's quarantine objects of one layer with ``output``'s files (so a re-run
        never duplicates rejected rows): one per partition key (``silver/<quarter>``) or the one
        object (``bronze``, ``silver`` of a dimension). Returns the last object's URI."""
        store = self.store()
        uri = ""
        for key, path in output.files.items():
            relpath = lake_layout.quarantine_object(table, lake_layout.quarantine_name(layer, key))
            store.publish(relpath, path)
            uri = store.object_uri(relpath)
        output.discard()
        return uri


class LandingZoneResource(ConfigurableResource):
    """The raw landing zone and the local staging cache of parsed files."""

    storage: str = STORAGE_LOCAL
    raw_dir: str = ".goodpulse/raw"
    s3_bucket: str | None = None
    s3_prefix: str = "raw"
    staging_dir: str = ".goodpulse/staging"
    cache_dir: str = ".goodpulse/cache/raw"
    # GOODPULSE_CSV_ENCODING: 'auto' (detected per file) or a Python codec name.
    csv_encoding: str = "auto"
    s3: S3Connection = Field(default_factory=S3Connection)

    def zone(self) -> LandingZone:
        if self.storage == STORAGE_S3:
            return S3LandingZone(
                self.s3.client(), self.s3_bucket, self.s3_prefix, self.cache_dir, self.csv_encoding
            )
        return LocalLandingZone(self.raw_dir, self.csv_encoding)

    @property
    def staging_path(self) -> Path:
        return Path(self.staging_dir)


class ReportsResource(ConfigurableResource):
    """Where the executive report is written."""

    directory: str = ".goodpulse/reports"


class _AnalyticsSettingsBase(ConfigurableResource):
    """What ``AnalyticsSettings`` holds besides the MetricParams fields."""

    # GOODPULSE_ORPHAN_ERROR_RATE: the quarantine rate above which a referential check is an
    # ERROR (a check setting, not a metric parameter).
    orphan_error_rate: float = 0.01

    def params(self) -> MetricParams:
        return from_config({f.name: getattr(self, f.name) for f in metric_fields()})


def _config_type(param) -> object:
    """The run-config type of a MetricParams field: a list for a tuple, YYYY-MM-DD text for a
    date (Dagster config has no date)."""
    kind = str if element_type(param) is date else element_type(param)
    if is_list(param):
        return list[kind]
    return kind | None if param.default is None else kind


# The analytic parameters of METRICS.md, one config field per MetricParams field (same name,
# default and description), so that a parameter is declared once (params.py). The
# resource's values come from the GOODPULSE_* environment variables (definitions.py); any run can
# override them in the launchpad's resource config.
AnalyticsSettings = create_model(
    "AnalyticsSettings",
    __base__=_AnalyticsSettingsBase,
    __module__=__name__,
    **{
        param.name: (
            _config_type(param),
            Field(default=config_value(param.default), description=description(param)),
        )
        for param in metric_fields()
    },
)


def analytics_settings(params: MetricParams, orphan_error_rate: float) -> AnalyticsSettings:
    """The resource holding ``params`` (and the check setting ``orphan_error_rate``)."""
    return AnalyticsSettings(**to_config(params), orphan_error_rate=orphan_error_rate)

"""Where everything lives: the folders of GOODPULSE_HOME and the objects of the Parquet lake.

The home (``GOODPULSE_HOME``, settings.py)::

    <home>/raw/                  the local landing zone (default of GOODPULSE_RAW_DIR)
    <home>/lake/                 the Parquet lake (storage=local; on S3: s3://bucket/<lake prefix>/)
    <home>/staging/              parsed copies of raw files, by content hash (bronze/staging.py)
    <home>/cache/raw/            local copies of S3 raw objects, by ETag
    <home>/reports/              the executive report
    <home>/tmp/duckdb/           DuckDB's spill files (default of GOODPULSE_TEMP_DIR), created
                                 when DuckDB first spills and removed when its database closes
    <home>/tmp/lake-out/<run>/   lake objects DuckDB wrote, until the IO manager publishes them
    <home>/warehouse.duckdb      the DuckDB warehouse (default of GOODPULSE_WAREHOUSE)

The lake, as '/'-separated paths relative to its root (``resources/lake.py``'s ``LakeStore``)::

    <layer>/<table>/<partition key>.parquet      one object per quarter of a partitioned table
    <layer>/<table>/data.parquet                 the one object of an unpartitioned table
    quarantine/<table>/bronze.parquet            rows bronze set aside (every file, one object)
    quarantine/<table>/silver/<quarter>.parquet  rows silver set aside, per quarter ...
    quarantine/<table>/silver.parquet            ... or in one object for a dimension table

With GOODPULSE_ENGINE=spark (docs/scale-out.md), Spark writes what it builds as Parquet datasets
of ``part-*.parquet`` files, in Spark's own layout::

    silver/unified_user_lifecycle/_partition=<quarter>/part-*.parquet   one Hive folder a quarter
    <gold|kpi>/<table>/part-*.parquet                                    an unpartitioned table

Every module that names one of these paths asks this one.
"""

from __future__ import annotations

from pathlib import Path

from goodpulse_dagster.schema import PARTITION_COLUMN, QUARANTINE

PARQUET = ".parquet"
UNPARTITIONED_OBJECT = f"data{PARQUET}"

# --- The home -----------------------------------------------------------------------------------


def default_raw_dir(home: Path) -> Path:
    return Path(home) / "raw"


def lake_dir(home: Path) -> Path:
    return Path(home) / "lake"


def staging_dir(home: Path) -> Path:
    """Parsed copies of raw files, by content hash: a file is parsed once, however many
    partitions read it."""
    return Path(home) / "staging"


def raw_cache_dir(home: Path) -> Path:
    """Local copies of S3 raw objects (by ETag) for DuckDB to read."""
    return Path(home) / "cache" / "raw"


def reports_dir(home: Path) -> Path:
    return Path(home) / "reports"


def home_of_reports(reports: Path) -> Path:
    """The home whose ``reports_dir`` is ``reports``."""
    return Path(reports).parent


def duckdb_temp_dir(home: Path) -> Path:
    """Where DuckDB spills what does not fit in its memory limit (memory_budget.py)."""
    return Path(home) / "tmp" / "duckdb"


def lake_output_dir(home: Path) -> Path:
    """Where a step's lake objects are written (by DuckDB) before they are published to the lake:
    local on either storage, so an S3 object is uploaded from a complete file."""
    return Path(home) / "tmp" / "lake-out"


def run_output_dir(output_dir: Path, run_id: str, *parts: str) -> Path:
    """The scratch folder of one run's step: ``<lake-out>/<run>/<layer>/<table>``."""
    return Path(output_dir, run_id, *parts)


def default_warehouse(home: Path) -> Path:
    return Path(home) / "warehouse.duckdb"


# --- The lake -----------------------------------------------------------------------------------


def table_folder(layer: str, table: str) -> str:
    """The folder of a lake table, e.g. ``silver/orders`` (an asset key's path joined by '/')."""
    return f"{layer}/{table}"


def asset_folder(asset_key_path: list[str]) -> str:
    """The folder of the lake asset whose key is ``asset_key_path`` (``[layer, table]``)."""
    return "/".join(asset_key_path)


def partition_object(folder: str, partition_key: str) -> str:
    return f"{folder}/{partition_key}{PARQUET}"


def whole_object(folder: str) -> str:
    """The one object of an unpartitioned table."""
    return f"{folder}/{UNPARTITIONED_OBJECT}"


def table_objects(folder: str, partition_keys: list[str] | None) -> list[str]:
    """The objects of a table: one per partition key, or its one object when ``None``."""
    if partition_keys is None:
        return [whole_object(folder)]
    return [partition_object(folder, key) for key in partition_keys]


def partition_key_of(relpath: str) -> str:
    """The partition key of a partition object (``silver/orders/2017-01-01.parquet``)."""
    return relpath.rsplit("/", 1)[-1].removesuffix(PARQUET)


def quarantine_folder(table: str) -> str:
    return f"{QUARANTINE}/{table}"


def quarantine_name(layer: str, partition_key: str | None = None) -> str:
    """The name of a quarantine object in its table's folder: ``bronze``, ``silver`` (a
    dimension table) or ``silver/<quarter>``."""
    return layer if partition_key is None else f"{layer}/{partition_key}"


def quarantine_object(table: str, name: str) -> str:
    """The quarantine object ``name`` (``quarantine_name``) of ``table``."""
    return f"{quarantine_folder(table)}/{name}{PARQUET}"


def is_parquet_object(relpath: str) -> bool:
    return relpath.endswith(PARQUET)


# --- Spark's datasets (GOODPULSE_ENGINE=spark) ----------------------------------------------------


def spark_partition_folder(folder: str, partition_key: str) -> str:
    """Where Spark writes one quarter of a partitioned table (``partitionBy("_partition")``): the
    Hive folder ``<folder>/_partition=<YYYY-MM-DD>``, holding ``part-*.parquet`` files."""
    return f"{folder}/{PARTITION_COLUMN}={partition_key}"


def spark_partitioned_files(folder: str) -> str:
    """The glob of every file of a Spark-partitioned table (DuckDB reads it with
    ``hive_partitioning = true`` to get ``_partition`` back from the folder names)."""
    return f"{spark_partition_folder(folder, '*')}/*{PARQUET}"


def spark_dataset_files(folder: str) -> str:
    """The glob of the files of an unpartitioned table Spark wrote (gold, KPI)."""
    return f"{folder}/*{PARQUET}"

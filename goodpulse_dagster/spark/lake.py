"""Where the Spark assets read and write: lake paths as Spark and DuckDB name them.

The folders are lake_layout.py's; this module only turns them into what an engine opens: a local
absolute path, or an ``s3a://`` URL for Spark (the cluster's Hadoop S3A connector) and the
``s3://`` URL DuckDB's httpfs reads. Spark's own layouts (Hive folders per quarter, ``part-*``
files) are lake_layout's ``spark_*`` rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from goodpulse_dagster import lake_layout
from goodpulse_dagster.engine import Relation
from goodpulse_dagster.resources.storage import LakeResource
from goodpulse_dagster.schema import LIFECYCLE, PARTITION_COLUMN, SILVER, SILVER_PARTITIONED_TABLES
from goodpulse_dagster.settings import STORAGE_S3
from goodpulse_dagster.sql_helpers import quote_literal


def lake_root(lake: LakeResource, for_spark: bool = True) -> str:
    """The lake's root: ``s3a://bucket/prefix`` (Spark) or ``s3://bucket/prefix`` (DuckDB) on
    S3, else the local folder's absolute path."""
    if lake.storage == STORAGE_S3:
        scheme = "s3a" if for_spark else "s3"
        return f"{scheme}://{lake.s3_bucket}/{lake.s3_prefix.strip('/')}"
    return str(Path(lake.local_dir).absolute())


def lake_path(lake: LakeResource, relpath: str, for_spark: bool = True) -> str:
    return f"{lake_root(lake, for_spark)}/{relpath}"


def silver_objects(lake: LakeResource, table: str, partition_keys: Sequence[str]) -> list[str]:
    """The DuckDB-written objects of silver ``table`` for ``partition_keys`` (all of a dimension
    table), as Spark paths."""
    keys = list(partition_keys) if table in SILVER_PARTITIONED_TABLES else None
    folder = lake_layout.table_folder(SILVER, table)
    return [lake_path(lake, p) for p in lake_layout.table_objects(folder, keys)]


def lifecycle_folder(lake: LakeResource, for_spark: bool = True) -> str:
    """The Spark-written lifecycle dataset (Hive folders, one a quarter)."""
    return lake_path(lake, lake_layout.table_folder(SILVER, LIFECYCLE), for_spark)


def lifecycle_relation(lake: LakeResource) -> Relation:
    """The Spark-written lifecycle for DuckDB (``as_of``; a relation over its Hive layout, whose
    ``_partition`` comes back as the DATE it was written as)."""
    files = lake_path(
        lake,
        lake_layout.spark_partitioned_files(lake_layout.table_folder(SILVER, LIFECYCLE)),
        for_spark=False,
    )
    return Relation(
        f"SELECT * FROM read_parquet({quote_literal(files)}, hive_partitioning = true, "
        f"hive_types = {{'{PARTITION_COLUMN}': DATE}})"
    )

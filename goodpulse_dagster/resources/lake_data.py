"""The two values the Parquet IO manager handles: what a lake input is, what a lake output is.

Neither holds rows (issue 17: no bronze or silver table is ever held whole in Python):

* ``LakeDataset``, what every lake input is loaded as: the object URIs of the input's partitions
  (or its one object). DuckDB reads them where they lie (``read_parquet``), only the columns and
  row groups a query needs; on S3 through the fsspec filesystem registered with the connection
  (``resources/s3_filesystem.py``).
* ``LakeOutput``, what every bronze and silver asset returns: Parquet files DuckDB wrote
  (``COPY ... TO``) into a scratch folder (``lake_layout.lake_output_dir``), one per partition
  key of the run or one for an unpartitioned table, with the row count. The IO manager publishes
  each file to its lake object (``LakeStore.publish``) and removes it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from goodpulse_dagster import engine
from goodpulse_dagster.resources.s3_filesystem import register_filesystem

S3_SCHEME = "s3://"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class LakeDataset:
    """Parquet objects DuckDB scans in place: local paths or ``s3://bucket/key`` URIs.

    ``filesystem`` is the fsspec filesystem DuckDB reads ``s3://`` URIs through (None for local
    objects). Objects of one table may differ in columns (an export added a column in a later
    quarter): they are read by name, as one table.
    """

    uris: tuple[str, ...]
    filesystem: Any = None

    def __post_init__(self) -> None:
        if not self.uris:
            raise ValueError("a lake dataset needs at least one object")

    def sql(self) -> str:
        """A DuckDB table expression over the objects."""
        files = "[" + ", ".join(_quote(u) for u in self.uris) + "]"
        return f"read_parquet({files}, union_by_name = true)"

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make ``con`` able to read the objects (the S3 filesystem, when they are on S3)."""
        if self.filesystem is not None and any(u.startswith(S3_SCHEME) for u in self.uris):
            register_filesystem(con, self.filesystem)

    def bind(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        """The objects as the temporary view ``name`` of ``con`` (nothing is read yet)."""
        self.prepare(con)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {self.sql()}")

    def schema(self) -> pa.Schema:
        """The Arrow schema of the first object, from its footer."""
        uri = self.uris[0]
        if uri.startswith(S3_SCHEME):
            return pq.read_schema(uri.removeprefix(S3_SCHEME), filesystem=self.filesystem)
        return pq.read_schema(uri)

    def count_rows(self) -> int:
        with engine.session({"t": self}) as s:
            return s.sql("SELECT count(*) FROM t").fetchall()[0][0]

    def to_arrow(self) -> pa.Table:
        """Every row as one Arrow table: for tests and small inspection only, never in a step."""
        with engine.session({"t": self}) as s:
            return s.sql("SELECT * FROM t").to_arrow_table()


@dataclass(frozen=True)
class LakeOutput:
    """Parquet files written by DuckDB, waiting in a scratch folder for the IO manager.

    ``files`` maps each partition key of the output to its file (None: the one file of an
    unpartitioned table); a partition without rows has a file with the schema and no row.
    """

    files: Mapping[str | None, Path]
    row_count: int

    @classmethod
    def write(
        cls,
        con: duckdb.DuckDBPyConnection,
        table: str,
        folder: Path | None = None,
        partition_keys: Sequence[str] | None = None,
        partitioned: bool = False,
    ) -> LakeOutput:
        """COPY the rows of ``con``'s table ``table`` (in their stored order) to one file per
        partition key of a ``partitioned`` table, or to one file: an unpartitioned table, or a
        direct call without ``partition_keys`` (tests). ``folder`` defaults to a new temporary
        folder."""
        folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="lake-out-"))
        if partitioned and partition_keys is not None:
            files = engine.copy_partitions(con, table, folder, list(partition_keys))
        else:
            target = folder / "data.parquet"
            engine.copy_to_parquet(con, f"SELECT * FROM {table}", target)
            files = {None: target}
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        return cls(files=dict(files), row_count=rows)

    def dataset(self) -> LakeDataset:
        """The files as a dataset (to profile or inspect them before they are published)."""
        return LakeDataset(tuple(str(p) for p in self.files.values()))

    def schema(self) -> pa.Schema:
        return self.dataset().schema()

    def to_arrow(self) -> pa.Table:
        """Every row as one Arrow table: for tests and small inspection only, never in a step."""
        return pa.concat_tables(
            [pq.read_table(p) for p in self.files.values()], promote_options="permissive"
        )

    def discard(self) -> None:
        """Remove the files (and their folder when it is left empty)."""
        for path in self.files.values():
            path.unlink(missing_ok=True)
        folders = {p.parent for p in self.files.values()}
        for folder in folders:
            if folder.is_dir() and not any(folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)


class BuildReadBack:
    """A build's rows and quarantine (its ``output`` and ``quarantine_output``) read back as
    Arrow tables: for tests and inspection only, never in a step."""

    output: LakeOutput
    quarantine_output: LakeOutput

    @property
    def table(self) -> pa.Table:
        return self.output.to_arrow()

    @property
    def quarantine(self) -> pa.Table:
        return self.quarantine_output.to_arrow()

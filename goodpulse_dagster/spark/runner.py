"""Run a model on Spark: its named inputs bound as temporary views over Parquet, its result
written to the lake as a Parquet dataset. The Spark counterpart of ``engine.Session``.

``SparkSteps`` mirrors ``engine.Session``'s methods (``register``, ``unregister``, ``run``,
``materialize``, ``create_table``), so a build of several steps (gold's customer tables, the
prediction steps) reads the same on either engine, and the prediction fit's helpers, which call
``run`` for their small inputs and ``register`` for the scores, work on a ``SparkSteps`` as they
do on a DuckDB session. ``run_model_on_spark`` is the one-call form an asset uses.

Types: the result is cast to the table's declared columns (``schema``, DuckDB type names) by
name, through ``spark_type``. A DuckDB TIMESTAMP (no time zone) is Spark's TIMESTAMP_NTZ, so a
time is written and read back as the same wall-clock value on any cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from goodpulse_dagster.spark.translate import spark_sql

# Where a model's inputs come from: Parquet paths (a dataset folder, files or a glob, local or
# s3a://), a Spark DataFrame, or a small Arrow table made on the driver (the fit's scores).
SparkInput = str | Sequence[str] | pa.Table | Any

_SPARK_TYPES = {
    "VARCHAR": "STRING",
    "DOUBLE": "DOUBLE",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP_NTZ",
}
_DECIMAL = re.compile(r"DECIMAL\s*\(\s*\d+\s*,\s*\d+\s*\)")


def spark_type(duckdb_type: str) -> str:
    """The Spark SQL type of a declared DuckDB type (``DECIMAL(p,s)`` is the same on both)."""
    name = duckdb_type.upper().strip()
    if _DECIMAL.fullmatch(name):
        return name.replace(" ", "")
    return _SPARK_TYPES[name]


def shaped(frame, columns: Mapping[str, str]):
    """``frame`` as exactly ``columns``: picked by name, in the declared order, each cast to its
    declared type (a model's Spark result may carry a column elsewhere, ``dialect``'s star
    rewrites, or in a wider type: Spark's datediff is INT where DuckDB's is BIGINT)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the result has no columns {missing}; it has {frame.columns}")
    return frame.selectExpr(
        *(f"CAST(`{c}` AS {spark_type(t)}) AS `{c}`" for c, t in columns.items())
    )


def read_input(spark, source: SparkInput):
    """A DataFrame of ``source`` (see ``SparkInput``)."""
    if isinstance(source, str):
        return spark.read.parquet(source)
    if isinstance(source, pa.Table):
        if source.num_rows == 0:
            # Spark cannot infer a schema from no rows: it is given, from the Arrow schema.
            from pyspark.sql.pandas.types import from_arrow_schema

            return spark.createDataFrame([], schema=from_arrow_schema(source.schema))
        return spark.createDataFrame(source)
    if isinstance(source, Sequence):
        return spark.read.parquet(*source)
    return source


def write_parquet(frame, path: str, partition_by: Sequence[str] | None = None) -> None:
    """Write ``frame`` as the Parquet dataset at ``path``, replacing what it replaces: the whole
    dataset when unpartitioned; with ``partition_by`` (``("_partition",)``, the quarter), only
    the partitions ``frame`` holds rows of (dynamic partition overwrite, session.RUNTIME_CONF),
    so re-running one quarter replaces that quarter and leaves the others."""
    writer = frame.write.mode("overwrite")
    if partition_by:
        writer = writer.option("partitionOverwriteMode", "dynamic").partitionBy(*partition_by)
    writer.parquet(path)


def _view_name(model: str) -> str:
    """The temporary view a step's result is kept as: ``gold/customer_predictions__summary`` ->
    ``summary`` (engine.Session.materialize's naming)."""
    return model.rsplit("/", 1)[-1].rsplit("__", 1)[-1]


class SparkSteps:
    """Named inputs as temporary views of one Spark session, for a build of several steps.

    Views are session-wide in Spark: one build at a time per session (a Dagster step owns its
    session). ``close`` drops the views and cached tables this object made."""

    def __init__(self, spark, inputs: Mapping[str, SparkInput] | None = None):
        self.spark = spark
        self._views: set[str] = set()
        self._cached: dict[str, Any] = {}
        for name, source in (inputs or {}).items():
            self.register(name, source)

    def register(self, name: str, source: SparkInput) -> None:
        read_input(self.spark, source).createOrReplaceTempView(name)
        self._views.add(name)

    def unregister(self, name: str) -> None:
        # A cached result is released first: releasing it resolves its plan, which reads views.
        cached = self._cached.pop(name, None)
        if cached is not None:
            cached.unpersist()
        self.spark.catalog.dropTempView(name)
        self._views.discard(name)

    def frame(
        self,
        model: str,
        params: Mapping[str, object] | None = None,
        columns: Mapping[str, str] | None = None,
    ):
        """Model ``model``'s result as a DataFrame (not yet run), shaped as ``columns``."""
        result = self.spark.sql(spark_sql(model, params or {}))
        return shaped(result, columns) if columns is not None else result

    def run(
        self,
        model: str,
        params: Mapping[str, object] | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> pa.Table:
        """Model ``model``'s result collected to the driver as Arrow: for the small results a
        build reads in Python (the fit's inputs, a KPI table), as ``engine.Session.run``."""
        return self.frame(model, params, columns).toArrow()

    def materialize(self, model: str, params: Mapping[str, object] | None = None) -> None:
        """Keep model ``model``'s result as a cached view named after its last part, for the
        next steps (``engine.Session.materialize``)."""
        name = _view_name(model)
        previous = self._cached.pop(name, None)
        result = self.frame(model, params).cache()
        result.createOrReplaceTempView(name)
        self._views.add(name)
        self._cached[name] = result
        if previous is not None:
            previous.unpersist()

    def create_table(
        self,
        model: str,
        output_path: str,
        params: Mapping[str, object] | None = None,
        columns: Mapping[str, str] | None = None,
        partition_by: Sequence[str] | None = None,
        view: str | None = None,
    ) -> int:
        """Write model ``model``'s result as the Parquet dataset ``output_path`` (``write_parquet``)
        and, with ``view``, register the written dataset under that name for the next steps (read
        back, not recomputed); its row count, as ``engine.Session.create_table``."""
        write_parquet(self.frame(model, params, columns), output_path, partition_by)
        written = self.spark.read.parquet(output_path)
        if view is not None:
            written.createOrReplaceTempView(view)
            self._views.add(view)
        return written.count()

    def close(self) -> None:
        # Cached results first (they read the views), the latest first (it may read the others).
        for name in reversed(list(self._cached)):
            self.unregister(name)
        for name in list(self._views):
            self.unregister(name)


def run_model_on_spark(
    spark,
    model: str,
    inputs: Mapping[str, SparkInput],
    params: Mapping[str, object] | None = None,
    output_path: str | None = None,
    partition_by: Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    steps: Sequence[str] = (),
):
    """Run model ``model`` on Spark over ``inputs`` (name -> Parquet paths, a DataFrame or an
    Arrow table) with ``params``, shaped as ``columns``, after its ``steps`` (models kept as
    cached views under their step names, as ``engine.Session.materialize`` keeps them). With ``output_path``, the result is
    written there as Parquet (partitioned by ``partition_by``, dynamic overwrite) and the written
    dataset is returned as a DataFrame; without, the result is collected to the driver as an
    Arrow table (a small table, or a test).

    The input views live only during the call: a DataFrame over them would be resolved again
    when it runs, after they are dropped, hence the written dataset or the collected rows."""
    session = SparkSteps(spark, inputs)
    try:
        for step in steps:
            session.materialize(step, params)
        if output_path is None:
            return session.run(model, params, columns)
        write_parquet(session.frame(model, params, columns), output_path, partition_by)
        return spark.read.parquet(output_path)
    finally:
        session.close()

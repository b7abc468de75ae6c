"""The same models on Apache Spark through Spark Connect (issue 18): docs/scale-out.md.

- the settings ``GOODPULSE_ENGINE`` and ``GOODPULSE_SPARK_REMOTE`` are settings.py's
  (``EngineSettings``).
- ``session``: the Dagster resource that owns a Spark Connect session (local or remote).
- ``translate`` and ``dialect``: a model file -> Spark SQL, by SQLGlot, with the DuckDB
  constructs SQLGlot does not carry rewritten in one place.
- ``runner``: a model run on Spark over Parquet inputs, written to the lake as Parquet.
- ``layers``: the gold, KPI and prediction builds of the DuckDB path, step by step on Spark.

Nothing here is imported by the DuckDB path: pyspark is an optional extra (``.[spark]``).
"""

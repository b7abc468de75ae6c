"""The engine settings of issue 18: which engine runs the models, and where Spark is.

- ``GOODPULSE_ENGINE``: ``duckdb`` (the default, as before) or ``spark``.
- ``GOODPULSE_SPARK_REMOTE``: the Spark Connect URL, ``sc://host:15002`` for a cluster or
  Databricks Connect (``sc://<workspace>:443/;token=...;x-databricks-cluster-id=...``), or
  ``local[N]`` to start a local Spark Connect server with N worker threads (the tests).

Kept apart from settings.py until phase 2 wires the engine into the assets; read through
``engine_settings`` like ``load_settings`` reads the rest (an ``env`` mapping, or the process's).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from goodpulse_dagster.errors import UserSettingsError

ENGINE_DUCKDB = "duckdb"
ENGINE_SPARK = "spark"
ENGINES = (ENGINE_DUCKDB, ENGINE_SPARK)
# Two worker threads: what a laptop or this CI machine (2 cores) can give a local server.
DEFAULT_REMOTE = "local[2]"


@dataclass(frozen=True)
class EngineSettings:
    engine: str = ENGINE_DUCKDB
    spark_remote: str = DEFAULT_REMOTE


def engine_settings(env: Mapping[str, str] | None = None) -> EngineSettings:
    """``GOODPULSE_ENGINE`` and ``GOODPULSE_SPARK_REMOTE`` of ``env`` (default: the process's)."""
    values = os.environ if env is None else env
    engine = (values.get("GOODPULSE_ENGINE") or ENGINE_DUCKDB).strip().lower()
    if engine not in ENGINES:
        raise UserSettingsError(f"GOODPULSE_ENGINE must be one of {ENGINES}, got {engine!r}")
    remote = (values.get("GOODPULSE_SPARK_REMOTE") or DEFAULT_REMOTE).strip()
    if not (remote.startswith("sc://") or remote.startswith("local")):
        raise UserSettingsError(
            "GOODPULSE_SPARK_REMOTE must be a Spark Connect URL (sc://host:15002) or local[N], "
            f"got {remote!r}"
        )
    return EngineSettings(engine=engine, spark_remote=remote)

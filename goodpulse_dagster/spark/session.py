"""The Spark Connect session: opened, configured and stopped in one place.

``SparkConnectResource`` is the Dagster resource (a ``ConfigurableResource``: dagster-pyspark's
``PySparkResource`` 0.29 builds a classic ``SparkSession`` from a config dict, with no ``remote``
and no stop of a Connect session, so it does not fit). ``spark_session`` is the same as a
context manager, for tests and scripts.

``remote`` is a Spark Connect URL (``sc://host:15002``, Databricks Connect) or ``local[N]``:
pyspark 4 then starts a Spark Connect server in this process's own JVM, from the jars inside
the pyspark wheel (the server jar, ``spark-connect_2.13-4.x.jar``, ships in ``pyspark/jars``;
nothing is downloaded), and stops it with the session. A local server gets small-machine
settings: few shuffle partitions, no UI, a bounded driver heap, and its warehouse, Derby
metastore and scratch space in a temporary folder that is removed at the end.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from goodpulse_dagster.settings import DEFAULT_SPARK_REMOTE as DEFAULT_REMOTE
from goodpulse_dagster.settings import engine_settings_from_env

# Settings every session gets, local or remote (runtime SQL settings, which a Connect client may
# set on a cluster too):
RUNTIME_CONF: dict[str, str] = {
    # Timestamps are DuckDB's TIMESTAMP (no time zone): UTC makes every cast and truncation of a
    # Spark TIMESTAMP read them as the same wall-clock time on any cluster.
    "spark.sql.session.timeZone": "UTC",
    # A partitioned write with mode "overwrite" replaces only the partitions it writes: a re-run
    # of one quarter replaces that quarter and keeps the others (runner.write_parquet).
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    # DuckDB's arithmetic: x / 0 is NULL, not an error. Spark 4 turns ANSI mode on by default,
    # which would fail a model DuckDB answers (the models guard shares with nullif, but a
    # ratio over an empty group must still be NULL on both engines).
    "spark.sql.ansi.enabled": "false",
}


def local_conf(work_dir: Path, shuffle_partitions: int, driver_memory: str) -> dict[str, str]:
    """The settings of a local Spark Connect server on a small machine, its files under
    ``work_dir``."""
    return {
        # 200 by default: 200 tasks per shuffle of a few thousand rows on 2 cores.
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(shuffle_partitions),
        "spark.ui.enabled": "false",
        "spark.driver.memory": driver_memory,
        "spark.sql.warehouse.dir": str(work_dir / "warehouse"),
        "spark.local.dir": str(work_dir / "scratch"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={work_dir / 'derby'}",
        "spark.log.level": "ERROR",
        "spark.ui.showConsoleProgress": "false",
    }


def _start(remote: str, conf: Mapping[str, str]):
    # Imported here: pyspark is the optional extra ``spark``; the DuckDB path never loads it.
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.remote(remote)
    for key, value in conf.items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():
        # A local server takes its static settings (driver memory, UI) when it starts; pyspark
        # then tries to set them again as session settings and warns that it cannot.
        warnings.filterwarnings("ignore", message="Failed to set spark", category=UserWarning)
        # A server URL gets a session of its own (``create``): ``getOrCreate`` would hand back
        # the process's default session, e.g. the one of a local server started earlier.
        spark = builder.getOrCreate() if _is_local(remote) else builder.create()
    for key, value in RUNTIME_CONF.items():
        spark.conf.set(key, value)
    return spark


def _is_local(remote: str) -> bool:
    return remote.startswith("local")


def _release(spark, remote: str) -> None:
    """End ``spark``: a local session stops its server with it. A session on a server URL only
    releases its server-side session and closes its channel: ``stop()`` would also stop a local
    server this process started for someone else (pyspark stops it whenever one runs)."""
    if _is_local(remote):
        spark.stop()
        return
    with contextlib.suppress(Exception):  # the server may be gone already
        spark.client.release_session()
    spark.client.close()


@contextlib.contextmanager
def spark_session(
    remote: str = DEFAULT_REMOTE,
    shuffle_partitions: int = 4,
    driver_memory: str = "1g",
) -> Iterator[Any]:
    """A Spark Connect session to ``remote``, stopped on exit (with its local server)."""
    local = _is_local(remote)
    work_dir = Path(tempfile.mkdtemp(prefix="goodpulse-spark-")) if local else None
    conf = local_conf(work_dir, shuffle_partitions, driver_memory) if work_dir else {}
    spark = _start(remote, conf)
    try:
        yield spark
    finally:
        _release(spark, remote)
        if work_dir is not None:
            shutil.rmtree(work_dir, ignore_errors=True)


class SparkConnectResource(ConfigurableResource):
    """A Spark Connect session for the run: started when a step that needs it begins, stopped
    when it ends. ``remote`` defaults to ``GOODPULSE_SPARK_REMOTE`` (``local[2]``)."""

    remote: str = ""
    shuffle_partitions: int = 4
    driver_memory: str = "1g"

    _session: Any = PrivateAttr(default=None)
    _stack: contextlib.ExitStack | None = PrivateAttr(default=None)

    def resolved_remote(self) -> str:
        return self.remote or engine_settings_from_env().spark_remote

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._stack = contextlib.ExitStack()
        self._session = self._stack.enter_context(
            spark_session(self.resolved_remote(), self.shuffle_partitions, self.driver_memory)
        )

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._stack is not None:
            self._stack.close()
        self._session, self._stack = None, None

    @property
    def session(self):
        """The open ``pyspark.sql.SparkSession`` (Spark Connect)."""
        if self._session is None:
            raise RuntimeError("the Spark session is open only while a step runs")
        return self._session

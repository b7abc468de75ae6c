"""One local Spark Connect server for every Spark test (the conftest ``spark`` fixture).

A machine runs one local server at a time (port 15002): the session fixture starts it once,
``local[2]``, and the Dagster runs of test_spark_dagster.py reach it through ``SPARK_REMOTE``,
so no test starts a second one. The server stops with the fixture.
"""

import shutil
from collections.abc import Iterator

import pytest

# Where the local server listens; Dagster runs connect here (GOODPULSE_SPARK_REMOTE).
LOCAL_SERVER = "sc://localhost:15002"


def skip_without_spark() -> None:
    """Skip the calling test module when the spark extra or Java is missing."""
    pytest.importorskip(
        "pyspark", reason="the spark extra is not installed (pip install -e .[spark])"
    )
    if shutil.which("java") is None:
        pytest.skip(
            "no Java runtime for Spark (.ci/run installs openjdk-17)", allow_module_level=True
        )


def spark_server_fixture() -> Iterator:
    """The session of the one local server, started on first use and stopped at the end."""
    skip_without_spark()
    from goodpulse_dagster.spark.session import spark_session

    with spark_session("local[2]") as session:
        yield session

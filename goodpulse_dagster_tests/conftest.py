"""Shared pytest fixtures."""

import pytest

from goodpulse_dagster_tests.s3_server import s3_endpoint_fixture
from goodpulse_dagster_tests.spark_server import spark_server_fixture


@pytest.fixture
def s3_endpoint():
    """Endpoint URL of a real S3 API (moto server mode) on 127.0.0.1, with dummy AWS
    credentials in the environment; stopped after the test."""
    yield from s3_endpoint_fixture()


@pytest.fixture(scope="session")
def spark():
    """One local Spark Connect server for every Spark test, stopped at the end
    (spark_server.py)."""
    yield from spark_server_fixture()

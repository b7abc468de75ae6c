"""Shared pytest fixtures."""

import tempfile

import pytest

# Imported first: it reads the system's temporary folder before the session fixture below moves
# Python's temporary files (its server runs as another user, who cannot enter pytest's folder).
from goodpulse_dagster_tests import pg_server  # noqa: F401
from goodpulse_dagster_tests.s3_server import s3_endpoint_fixture
from goodpulse_dagster_tests.spark_server import spark_server_fixture


@pytest.fixture(scope="session", autouse=True)
def temporary_files_in_the_session_folder(tmp_path_factory):
    """Python's temporary files and folders of this session (the output folder of a transform
    called without one, such as ``silver.clean_source`` in a test) in pytest's base folder,
    which keeps the last three sessions only: before, each session left hundreds of
    ``lake-out-*`` folders in /tmp."""
    previous = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))
    yield
    tempfile.tempdir = previous


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

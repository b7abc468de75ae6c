"""Shared pytest fixtures."""

import pytest

from goodpulse_dagster_tests.s3_server import s3_endpoint_fixture


@pytest.fixture
def s3_endpoint():
    """Endpoint URL of a real S3 API (moto server mode) on 127.0.0.1, with dummy AWS
    credentials in the environment; stopped after the test."""
    yield from s3_endpoint_fixture()

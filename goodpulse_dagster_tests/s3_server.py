"""A real S3 API on 127.0.0.1 for tests: moto's server mode in a thread of the test process.

Nothing is mocked at the Python level: boto3 (and everything built on it) talks HTTP to the
server exactly as it would to AWS, MinIO or R2. Use the ``s3_endpoint`` fixture (conftest.py), or
``moto_s3_server()`` directly::

    with moto_s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="lake")
"""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

HOST = "127.0.0.1"
# Dummy credentials and region: boto3 refuses to sign requests without some, and they must never
# be real ones (the server accepts anything).
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def moto_s3_server() -> Iterator[str]:
    """Start moto's threaded server on a free port of 127.0.0.1; yield its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        pytest.skip(f"moto[server] is not installed ({exc}): pip install -e '.[test]'")
    port = free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.stop()


@contextmanager
def dummy_aws_env() -> Iterator[None]:
    """Set dummy AWS credentials/region (and no profile or endpoint from the host) for a block."""
    saved = {k: os.environ.get(k) for k in (*DUMMY_AWS_ENV, "AWS_PROFILE", "AWS_ENDPOINT_URL")}
    os.environ.update(DUMMY_AWS_ENV)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def s3_client(endpoint_url: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=DUMMY_AWS_ENV["AWS_REGION"])


def s3_endpoint_fixture() -> Iterator[str]:
    """Body of the ``s3_endpoint`` fixture: a fresh server (empty buckets) per test."""
    with dummy_aws_env(), moto_s3_server() as endpoint:
        yield endpoint

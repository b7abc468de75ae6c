"""A real S3 API on 127.0.0.1 for tests: moto's server mode in a thread of the test process.

Nothing is mocked at the Python level: boto3 (and everything built on it) talks HTTP to the
server exactly as it would to AWS, MinIO or R2. Use the ``s3_endpoint`` fixture (conftest.py), or
``moto_s3_server()`` directly::

    with moto_s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="lake")

``moto_s3_server(refusals)`` puts a ``Refusals`` in front of moto: the requests it takes are
answered ``503 SlowDown`` (what S3 answers a client that is throttled) instead of reaching moto.
"""

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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


SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


@dataclass
class Refusals:
    """Refuse the next ``count`` requests whose method is ``method`` (any when None) and whose
    path contains ``path_contains`` with 503 SlowDown; ``refused`` counts those refused."""

    count: int = 0
    method: str | None = None
    path_contains: str = ""
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, method: str, path: str) -> bool:
        with self._lock:
            if self.count <= 0 or (self.method and method != self.method):
                return False
            if self.path_contains not in path:
                return False
            self.count -= 1
            self.refused += 1
            return True

    def middleware(self, app):
        """A WSGI wrapper of moto's app answering the requests this takes."""

        def wrapped(environ, start_response):
            if self.take(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")):
                # The request body must be read, or the client may see a reset connection.
                length = int(environ.get("CONTENT_LENGTH") or 0)
                if length:
                    environ["wsgi.input"].read(length)
                start_response(
                    "503 Slow Down",
                    [("Content-Type", "application/xml"), ("Content-Length", str(len(SLOW_DOWN)))],
                )
                return [SLOW_DOWN]
            return app(environ, start_response)

        return wrapped


@contextmanager
def moto_s3_server(refusals: Refusals | None = None) -> Iterator[str]:
    """Start moto's threaded server on a free port of 127.0.0.1; yield its endpoint URL. With
    ``refusals``, the requests it takes are answered 503 SlowDown."""
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from moto.server import ThreadedMotoServer
        from werkzeug.serving import make_server
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        pytest.skip(f"moto[server] is not installed ({exc}): pip install -e '.[test]'")

    class Server(ThreadedMotoServer):
        # ThreadedMotoServer's own entry point, with the app wrapped by the refusals.
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            if refusals is not None:
                app = refusals.middleware(app)
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    port = free_port()
    server = Server(ip_address=HOST, port=port, verbose=False)
    server.start()
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.stop()


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for a block, then put them back."""
    saved = {k: os.environ.get(k) for k in values}

    def apply(pairs) -> None:
        for key, value in pairs:
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    apply(values.items())
    try:
        yield
    finally:
        apply(saved.items())


def dummy_aws_env():
    """Set dummy AWS credentials/region (and no profile or endpoint from the host) for a block."""
    return environment(**DUMMY_AWS_ENV, AWS_PROFILE=None, AWS_ENDPOINT_URL=None)


def s3_client(endpoint_url: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=DUMMY_AWS_ENV["AWS_REGION"])


def s3_endpoint_fixture() -> Iterator[str]:
    """Body of the ``s3_endpoint`` fixture: a fresh server (empty buckets) per test."""
    with dummy_aws_env(), moto_s3_server() as endpoint:
        yield endpoint

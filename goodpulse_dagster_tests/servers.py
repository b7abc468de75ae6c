"""Real SMTP and HTTP servers on 127.0.0.1 for the alert tests, started and stopped by each test.

- ``smtp_server()``: aiosmtpd's SMTP server in a thread; every message it accepts is kept as an
  ``email.message.EmailMessage``. With ``tls=True`` it offers STARTTLS with a self-signed
  certificate (made with ``cryptography``) and requires a login after it.
- ``http_server()``: ``http.server`` in a thread answering every POST with ``status``; every
  request's body and headers are kept.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from goodpulse_dagster_tests.s3_server import HOST, free_port


@dataclass
class SmtpServer:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    cert_file: Path | None = None


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1, valid one day, made with ``cryptography`` (which moto
    requires, so the test extra has it)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def smtp_server(tls_folder: Path | None = None, login: tuple[str, str] | None = None):
    """An SMTP server on a free port of 127.0.0.1. With ``tls_folder``: STARTTLS offered with a
    certificate written there (``cert_file``) and ``login`` required once it is on."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server = SmtpServer(port=free_port())

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):
            # SMTP's CRLF line ends, as the sender's text had them.
            content = envelope.original_content.replace(b"\r\n", b"\n")
            server.messages.append(message_from_bytes(content, policy=policy.default))
            return "250 OK"

    def authenticator(_server, _session, _envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            pair = (auth_data.login.decode(), auth_data.password.decode())
            server.logins.append(pair)
            return AuthResult(success=pair == login)
        return AuthResult(success=False)

    kwargs: dict = {}
    if tls_folder is not None:
        cert, key = self_signed_certificate(tls_folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server.cert_file = cert
        kwargs = {
            "tls_context": context,
            "require_starttls": True,
            "authenticator": authenticator,
            "auth_required": True,
            "auth_require_tls": True,
        }
    controller = Controller(Handler(), hostname=HOST, port=server.port, **kwargs)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass
class HttpServer:
    url: str
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    status: int = 200

    def json_bodies(self) -> list[dict]:
        return [json.loads(b) for b in self.bodies]


@contextmanager
def http_server(path: str = "/hooks/alerts") -> Iterator[HttpServer]:
    """An HTTP server on a free port of 127.0.0.1 keeping each POST body; its ``url`` ends in
    ``path``. Set ``status`` to make it refuse."""
    port = free_port()
    state = HttpServer(url=f"http://{HOST}:{port}{path}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.bodies.append(body)
            state.headers.append(dict(self.headers))
            self.send_response(state.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args):  # no request lines on the test's stderr
            pass

    httpd = ThreadingHTTPServer((HOST, port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()

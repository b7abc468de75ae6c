"""A real PostgreSQL server on 127.0.0.1 for tests: Debian's ``postgresql`` binaries (``initdb``,
``pg_ctl``) on a temporary data directory, stopped and deleted afterwards.

Nothing is mocked: dagster-postgres and psycopg2 talk to the server over TCP with a password, as
they would to a managed database. Use the ``postgres_server`` fixture (conftest.py), or
``postgres_server()`` directly::

    with postgres_server() as pg:
        psycopg2.connect(pg.dsn)

``initdb`` refuses to run as root (a cluster owned by root would let the database server write
anywhere), so as root the cluster is created and run as the ``postgres`` system user that the
Debian package adds; as any other user it runs as that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from goodpulse_dagster_tests.s3_server import HOST, free_port

USER = "goodpulse"
# A throwaway password for a server that lives for one test module and listens on 127.0.0.1
# only; with it the tests exercise password authentication (scram-sha-256), as in production.
PASSWORD = "pulse-test-Pa55"
DATABASE = "goodpulse_runs"
START_TIMEOUT_S = 30
# The user the cluster runs as when the tests run as root (the Debian package creates it).
SYSTEM_USER = "postgres"

# The system's temporary folder, read when this module is imported: conftest.py imports it before
# its session fixture moves Python's temporary files into pytest's base folder (as root, a 0700
# folder of root's, which the server's user cannot enter).
SYSTEM_TEMP_DIR = tempfile.gettempdir()


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    database: str

    @property
    def url(self) -> str:
        """The GOODPULSE_PG_URL of deploy/dagster.postgres-url.yaml (driver named, see there)."""
        return f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        return (
            f"host={self.host} port={self.port} user={self.user} password={self.password} "
            f"dbname={self.database}"
        )

    def env(self) -> dict[str, str]:
        """The GOODPULSE_PG_* variables that deploy/dagster.postgres.yaml reads."""
        return {
            "GOODPULSE_PG_HOST": self.host,
            "GOODPULSE_PG_PORT": str(self.port),
            "GOODPULSE_PG_USER": self.user,
            "GOODPULSE_PG_PASSWORD": self.password,
            "GOODPULSE_PG_DB": self.database,
        }


def postgres_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding initdb and pg_ctl (Debian puts them
    there, not on PATH), else the directory of an ``initdb`` on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", SYSTEM_USER, "--", *cmd]


def _run(cmd: list[str]) -> None:
    done = subprocess.run(_as_owner(cmd), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """initdb a temporary cluster, start it on a free port of 127.0.0.1 (unix socket in the same
    temporary folder, so it never touches /var/run/postgresql), create the database, yield the
    server, then stop it (fast shutdown) and delete the folder."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL binaries not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on "
            "PATH): apt-get install postgresql"
        )
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            pytest.skip(f"running as root and there is no {SYSTEM_USER!r} user to run initdb as")
    # Not pytest's tmp_path: as root that is a 0700 folder of root's, which the server's user
    # cannot enter.
    root = Path(tempfile.mkdtemp(prefix="goodpulse-pg-", dir=SYSTEM_TEMP_DIR))
    data, sockets, pwfile = root / "data", root / "sockets", root / "pwfile"
    sockets.mkdir()
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        for path in (root, sockets, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    server = PostgresServer(HOST, port, USER, PASSWORD, DATABASE)
    started = False
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D", str(data),
                "-U", USER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ]
        )  # fmt: skip
        options = f"-c listen_addresses={HOST} -c port={port} -c unix_socket_directories={sockets}"
        _run(
            [
                str(bin_dir / "pg_ctl"),
                "-D", str(data),
                "-o", options,
                "-l", str(root / "server.log"),
                "-w", "-t", str(START_TIMEOUT_S),
                "start",
            ]
        )  # fmt: skip
        started = True
        import psycopg2

        admin = psycopg2.connect(
            host=HOST, port=port, user=USER, password=PASSWORD, dbname="postgres"
        )
        admin.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DATABASE}")
        admin.close()
        yield server
    finally:
        if started:
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)

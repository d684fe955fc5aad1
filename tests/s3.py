"""A throwaway S3 for the tests: moto in server mode on a free loopback port.

Like tests/pg.py, one server per test session, started by the first test that needs it and
stopped at the end. Each test gets a bucket of its own (`S3.bucket`). The session sets dummy
AWS credentials and a region in the environment and switches the instance metadata lookup
off, so a credential chain that finds nothing else never reaches beyond loopback. In CI
(CI=true) a server that cannot start fails the tests that need it; elsewhere they are
skipped, saying why.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import servers
from tests.servers import ServerUnavailable

KEY_ID, SECRET = "hygge-test-key", "hygge-test-secret"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": KEY_ID,
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class S3:
    endpoint: str  # http://127.0.0.1:PORT

    def filesystem(self) -> Any:
        import s3fs

        return s3fs.S3FileSystem(
            key=KEY_ID, secret=SECRET, endpoint_url=self.endpoint, use_listings_cache=False
        )

    def bucket(self, seed: str | Path) -> str:
        """A bucket of its own for seed (a test's tmp_path), created on first ask."""
        name = "t-" + hashlib.sha256(str(seed).encode()).hexdigest()[:20]
        fs = self.filesystem()
        if not fs.exists(name):
            fs.mkdir(name)
        return name

    def connection_yaml(self, **extra: str) -> str:
        """hygge.yml's `connections:` entry `lake`, its secret read from ${LAKE_SECRET}."""
        fields = {
            "type": "s3",
            "endpoint_url": self.endpoint,
            "access_key_id": KEY_ID,
            "secret_access_key": '"${LAKE_SECRET}"',
            **extra,
        }
        return "connections:\n  lake: {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}\n"

    def credentials(self) -> dict[str, str]:
        """What planning fills into a file plugin's section for that connection."""
        return {
            "type": "s3",
            "endpoint_url": self.endpoint,
            "access_key_id": KEY_ID,
            "secret_access_key": SECRET,
        }


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        missing = f"moto is not installed ({exc.name}): pip install 'moto[server]'"
        raise ServerUnavailable(missing) from exc
    home = Path(tempfile.mkdtemp(prefix="hygge-s3-"))
    port = servers.free_port()
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        servers.wait_ready("moto", home, server, lambda: _answers(port), pause=0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        servers.reap(server)
        shutil.rmtree(home, ignore_errors=True)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3]:
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    try:
        for endpoint in servers.session_url("S3 (moto)", running_server):
            yield S3(endpoint)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

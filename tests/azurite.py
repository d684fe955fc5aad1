"""A throwaway Azure Blob Storage for the tests: Azurite (npm) on a free loopback port.

Like tests/s3.py, one server per test session, started by the first test that needs it, and
a container per test (`Azure.bucket`). Azurite serves the blob endpoint (path-style URLs,
`http://127.0.0.1:PORT/devstoreaccount1`) with its documented development account; the ADLS
Gen2 (dfs) endpoint, hierarchical namespaces and OneLake it does not emulate, so hygge is
tested there on blobs. In CI (CI=true) a server that cannot start fails the tests that need
it; elsewhere they are skipped, saying why (`.ci/run` installs it: npm install -g azurite).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import servers
from tests.servers import ServerUnavailable

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (published in its documentation), not a secret.
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azure:
    endpoint: str  # http://127.0.0.1:PORT/devstoreaccount1
    scheme = "az"
    secret = KEY

    def filesystem(self) -> Any:
        import adlfs

        return adlfs.AzureBlobFileSystem(
            connection_string=self._connection_string(), skip_instance_cache=True
        )

    def _connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def bucket(self, seed: str | Path) -> str:
        """A container of its own for seed (a test's tmp_path), created on first ask."""
        name = "t-" + hashlib.sha256(str(seed).encode()).hexdigest()[:20]
        fs = self.filesystem()
        if not fs.exists(name):
            fs.mkdir(name)
        return name

    def connection_yaml(self, **extra: str) -> str:
        """hygge.yml's `connections:` entry `lake`, its key read from ${LAKE_SECRET}."""
        fields = {
            "type": "azure",
            "account": ACCOUNT,
            "endpoint_url": self.endpoint,
            "account_key": '"${LAKE_SECRET}"',
            **extra,
        }
        return "connections:\n  lake: {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}\n"

    def credentials(self) -> dict[str, str]:
        """What planning fills into a file plugin's section for that connection."""
        return {
            "type": "azure",
            "account": ACCOUNT,
            "endpoint_url": self.endpoint,
            "account_key": KEY,
        }


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    binary = shutil.which("azurite-blob")
    if binary is None:
        raise ServerUnavailable("no azurite-blob on PATH (npm install -g azurite)")
    home = Path(tempfile.mkdtemp(prefix="hygge-azurite-"))
    port = servers.free_port()
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
             str(home / "data"), "--silent", "--skipApiVersionCheck", "--loose"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        servers.wait_ready("azurite", home, server, lambda: _answers(port), pause=0.1)
        yield f"http://127.0.0.1:{port}/{ACCOUNT}"
    finally:
        server.terminate()
        servers.reap(server)
        shutil.rmtree(home, ignore_errors=True)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azure]:
    for endpoint in servers.session_url("Azure (Azurite)", running_server):
        yield Azure(endpoint)


@pytest.fixture(scope="session")
def azurite_throttled(azurite: Azure) -> Iterator[Azure]:
    """The session's Azurite behind a proxy that answers its third request with 503 (once:
    Azure's storage library waits some 15 seconds before its first retry)."""
    from tests.s3 import throttling_proxy

    with throttling_proxy(azurite.endpoint, limit=1) as proxy:
        yield Azure(f"{proxy}/{ACCOUNT}")

"""A throwaway Azure Blob Storage for the tests: Azurite (npm) on a free loopback port.

Like tests/s3.py, one server per test session, started by the first test that needs it, and
a container per test (`bucket`, tests/cloud.py). Azurite serves the blob endpoint (path-style URLs,
`http://127.0.0.1:PORT/devstoreaccount1`) with its documented development account; the ADLS
Gen2 (dfs) endpoint, hierarchical namespaces and OneLake it does not emulate, so hygge is
tested there on blobs. In CI (CI=true) a server that cannot start fails the tests that need
it; elsewhere they are skipped, saying why (`.ci/run` installs it: npm install -g azurite).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import servers
from tests.cloud import CloudEmulator, serving
from tests.servers import ServerUnavailable

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (published in its documentation), not a secret.
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azure(CloudEmulator):
    """Azurite's blob endpoint (http://127.0.0.1:PORT/devstoreaccount1)."""

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

    def credentials(self) -> dict[str, Any]:
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
    command = [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
               str(home / "data"), "--silent", "--skipApiVersionCheck", "--loose"]  # fmt: skip
    try:
        with serving("azurite", home, command, port):
            yield f"http://127.0.0.1:{port}/{ACCOUNT}"
    finally:
        shutil.rmtree(home, ignore_errors=True)


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

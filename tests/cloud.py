"""What the object-storage emulators of the tests share (tests/s3.py, tests/azurite.py,
tests/gcs.py): a bucket (or container) per test, the hygge.yml connection `lake` reaching the
emulator with its secret read from ${LAKE_SECRET}, and the credentials planning fills into a
file plugin's section for it. Each emulator says how to reach it (`credentials`,
`filesystem`); its server is started once per session by its own fixture."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from tests import servers

SECRET_REFERENCE = '"${LAKE_SECRET}"'


@dataclass(frozen=True)
class CloudEmulator:
    endpoint: str
    scheme: ClassVar[str]  # of the URLs its tests write: s3://, az://, gs://
    secret: ClassVar[str]  # the value its connection's ${LAKE_SECRET} must hold

    def filesystem(self) -> Any:
        """An fsspec filesystem on the emulator, for a test to look with its own eyes."""
        raise NotImplementedError

    def credentials(self) -> dict[str, Any]:
        """What planning fills into a file plugin's section for the connection `lake`."""
        raise NotImplementedError

    def bucket(self, seed: str | Path) -> str:
        """A bucket of its own for seed (a test's tmp_path), created on first ask."""
        name = "t-" + hashlib.sha256(str(seed).encode()).hexdigest()[:20]
        fs = self.filesystem()
        if not fs.exists(name):
            fs.mkdir(name)
        return name

    def connection_yaml(self, **extra: str) -> str:
        """hygge.yml's `connections:` entry `lake`: the credentials, the secret as
        ${LAKE_SECRET}."""
        fields = {
            key: SECRET_REFERENCE if value == self.secret else _yaml(value)
            for key, value in self.credentials().items()
        }
        fields |= extra
        return "connections:\n  lake: {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}\n"


def _yaml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@contextlib.contextmanager
def serving(name: str, home: Path, command: list[str], port: int, **popen: Any) -> Iterator[None]:
    """Run an emulator's server (its output in home/server.log) until it answers on port
    (loopback), and stop it at the end."""
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **popen)
    try:
        servers.wait_ready(name, home, server, lambda: _answers(port), pause=0.1)
        yield
    finally:
        server.terminate()
        servers.reap(server)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def rows_per_landing_run(
    hygge_cli: Any, root: Path, fs: Any, landing: str, arrivals: list[dict[str, bytes]]
) -> list[int]:
    """Before each `hygge go --json` in root, the files of one arrival land under `landing`
    on the emulator; the rows each run moved."""
    rows = []
    for arrival in arrivals:
        for name, body in arrival.items():
            fs.pipe(f"{landing}/{name}", body)
        result = hygge_cli("go", "--json", cwd=root)
        assert result.exit_code == 0, result.output
        rows.append(json.loads(result.stdout)["entities"][0]["rows"])
    return rows

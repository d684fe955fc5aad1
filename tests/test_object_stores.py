"""What every object store does alike, as a user runs it, on each emulator in turn (S3 by
moto, Azure Blob by Azurite, GCS by fake-gcs-server; tests/cloud.py): a hygge.yml connection
`lake`, its secret from the environment, file homes and stores on its URLs. What only one
cloud does is tested in its own file (tests/test_s3.py, tests/test_azure.py)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests import proc
from tests.azurite import ACCOUNT, Azure
from tests.cloud import CloudEmulator
from tests.conftest import ProjectMaker, read_lake

READERS = {"parquet": pl.read_parquet, "csv": pl.read_csv, "ndjson": pl.read_ndjson}


@pytest.fixture(params=["s3_server", "azurite", "gcs"])
def lake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> CloudEmulator:
    emulator: CloudEmulator = request.getfixturevalue(request.param)
    monkeypatch.setenv("LAKE_SECRET", emulator.secret)
    return emulator


def lake_project(root: Path, lake: CloudEmulator, flow: str) -> Path:
    (root / "flows/x").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "hygge.yml").write_text(f"name: {root.name}\n" + lake.connection_yaml())
    (root / "flows/x/flow.yml").write_text(flow)
    return root


def ids(frame: pl.DataFrame) -> list[int]:
    return sorted(frame["id"].to_list())


@pytest.mark.parametrize("kind", ["parquet", "csv", "ndjson"])
def test_a_flow_writes_to_object_storage_and_another_reads_it_back(
    kind: str, lake: CloudEmulator, tmp_path: Path, hygge_cli
) -> None:
    bucket = lake.bucket(tmp_path)
    folder = f"{lake.scheme}://{bucket}/lake"
    up = lake_project(
        tmp_path / "up",
        lake,
        f"home: {{type: parquet, path: data/x.parquet}}\n"
        f"store: {{type: {kind}, connection: lake, path: {folder}}}\n",
    )
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(up / "data/x.parquet")
    for _ in range(2):  # the second full_drop replaces the first
        result = hygge_cli("go", cwd=up)
        assert result.exit_code == 0, result.output
    fs = lake.filesystem()
    files = [p for p in fs.ls(f"{bucket}/lake", detail=False) if p.endswith(f".{kind}")]
    assert len(files) == 1
    assert ids(READERS[kind](io.BytesIO(fs.cat(files[0])))) == [1, 2, 3]

    down = lake_project(
        tmp_path / "down",
        lake,
        f"home: {{type: {kind}, connection: lake, path: {folder}}}\n"
        "store: {type: parquet, path: lake}\n",
    )
    result = hygge_cli("go", cwd=down)
    assert result.exit_code == 0, result.output
    assert ids(read_lake(down / "lake")) == [1, 2, 3]


@pytest.mark.parametrize(
    ("path", "library", "extra"),
    [
        ("s3://bucket/lake", "s3fs", "s3"),
        ("az://container/lake", "adlfs", "azure"),
        ("gs://bucket/lake", "gcsfs", "gcs"),
    ],
)
def test_a_path_without_its_extra_names_the_extra(
    path: str, library: str, extra: str, make_project: ProjectMaker
) -> None:
    root = make_project(
        {"flows/x/flow.yml": "home: {type: parquet, path: data/x.parquet}\n"
         f"store: {{type: parquet, path: {path}}}\n"}
    )  # fmt: skip
    code = f"import sys; sys.modules[{library!r}] = None; from hygge.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "go", "--dry-run"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"pip install '.[{extra}]' in a checkout of hygge" in done.stderr
    assert "Traceback" not in done.stderr


def test_debug_names_a_missing_bucket(lake: CloudEmulator, tmp_path: Path, hygge_cli) -> None:
    missing = f"{lake.scheme}://no-such-bucket-42/lake"
    root = lake_project(
        tmp_path / "p",
        lake,
        "home: {type: parquet, path: data/x.parquet}\n"
        f"store: {{type: parquet, connection: lake, path: {missing}}}\n",
    )
    pl.DataFrame({"id": [1]}).write_parquet(root / "data/x.parquet")
    result = hygge_cli("debug", cwd=root)
    assert result.exit_code == 1, result.output
    shown = " ".join(result.stdout.split())
    assert f"cannot write in {missing}" in shown
    assert "does not exist" in shown


def test_two_projects_cannot_write_one_container_folder_by_two_spellings_at_once(
    azurite: Azure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`az://` with the connection's account and `abfss://` naming it are one destination to
    the destination lock too: the second run is skipped (75) naming the first's entity and
    path."""
    monkeypatch.setenv("LAKE_SECRET", azurite.secret)
    container = azurite.bucket(tmp_path)
    spellings = {
        "one": f"az://{container}/lake/orders",
        "two": f"abfss://{container}@{ACCOUNT}.dfs.core.windows.net/lake/orders/",
    }
    roots = {}
    for name, path in spellings.items():
        root = lake_project(
            tmp_path / name,
            azurite,
            "home: {type: parquet, path: data}\n"
            f"store: {{type: parquet, connection: lake, path: '{path}'}}\nbatch_rows: 10\n",
        )
        pl.DataFrame({"id": range(50)}).write_parquet(root / "data/x.parquet")
        roots[name] = root
    held_pid, held_code, other = proc.go_beside_a_paused_go(
        roots["one"], roots["two"], tmp_path / "paused"
    )

    assert held_code == 0
    assert other.returncode == 75, other.stdout + other.stderr
    line = " ".join(other.stdout.split())
    assert f"held by pid {held_pid}" in line
    assert f"for x.x writing {spellings['one']}" in line
    assert azurite.secret not in other.stdout + other.stderr

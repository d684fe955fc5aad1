"""hygge on Azure Blob Storage (Azurite, tests/azurite.py) as a user runs it: a `type: azure`
connection in hygge.yml, its key from the environment, `az://` paths on file homes and
stores. (Azurite serves the blob endpoint only: ADLS Gen2's dfs endpoint, OneLake and
azure-identity's default chain, which needs https and a token service, are not run here.)"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.azurite import ACCOUNT, Azure
from tests.conftest import ProjectMaker, read_lake
from tests.proc import run


@pytest.fixture
def container(azurite: Azure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LAKE_SECRET", azurite.secret)
    return azurite.bucket(tmp_path)


def azure_project(make_project: ProjectMaker, azure: Azure, flow: str) -> Path:
    files = {"hygge.yml": "name: t\n" + azure.connection_yaml(), "flows/x/flow.yml": flow}
    root = make_project(files)
    (root / "data").mkdir(exist_ok=True)
    return root


def test_a_flow_writes_to_azure_and_another_reads_it_back(
    container: str, azurite: Azure, make_project: ProjectMaker, hygge_cli, tmp_path: Path
) -> None:
    lake = f"az://{container}/lake"
    up = azure_project(
        make_project,
        azurite,
        f"home: {{type: parquet, path: data/x.parquet}}\n"
        f"store: {{type: parquet, connection: lake, path: {lake}}}\n",
    )
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(up / "data/x.parquet")
    for _ in range(2):  # the second full_drop replaces the first
        result = hygge_cli("go", cwd=up)
        assert result.exit_code == 0, result.output
    fs = azurite.filesystem()
    files = [p for p in fs.ls(f"{container}/lake", detail=False) if p.endswith(".parquet")]
    assert len(files) == 1
    assert pl.read_parquet(io.BytesIO(fs.cat(files[0])))["id"].to_list() == [1, 2, 3]

    down = tmp_path / "down"
    (down / "flows/x").mkdir(parents=True)
    (down / "hygge.yml").write_text("name: d\n" + azurite.connection_yaml())
    (down / "flows/x/flow.yml").write_text(
        f"home: {{type: parquet, connection: lake, path: {lake}}}\n"
        "store: {type: parquet, path: lake}\n"
    )
    result = hygge_cli("go", cwd=down)
    assert result.exit_code == 0, result.output
    assert sorted(read_lake(down / "lake")["id"].to_list()) == [1, 2, 3]


@pytest.mark.parametrize("scheme", ["az", "abfss"])
def test_a_landing_container_is_read_file_by_file(
    scheme: str, container: str, azurite: Azure, make_project: ProjectMaker, hygge_cli
) -> None:
    """Listed files keep the URL as written: Polars reads them by it."""
    account = f"@{ACCOUNT}.dfs.core.windows.net" if scheme == "abfss" else ""
    landing = f"{scheme}://{container}{account}/landing"
    root = azure_project(
        make_project,
        azurite,
        f"home: {{type: csv, connection: lake, path: {landing}, new_files_only: true}}\n"
        "store: {type: parquet, path: lake}\n",
    )
    fs = azurite.filesystem()
    fs.pipe(f"{container}/landing/a.csv", b"id\n1\n2\n")
    rows = []
    for new in ({}, {"2026/b.csv": b"id\n3\n"}, {}):
        for name, body in new.items():
            fs.pipe(f"{container}/landing/{name}", body)
        result = hygge_cli("go", "--json", cwd=root)
        assert result.exit_code == 0, result.output
        rows.append(json.loads(result.stdout)["entities"][0]["rows"])
    assert rows == [2, 1, 0]


def test_an_account_key_written_into_hygge_yml_is_refused(
    make_project: ProjectMaker, hygge_cli
) -> None:
    root = make_project(
        {"hygge.yml": "name: t\nconnections:\n  lake:\n    type: azure\n    account: a\n"
         "    account_key: c2VjcmV0\n"}
    )  # fmt: skip
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2
    assert "hygge.yml:6" in result.stderr
    assert "'connections.lake.account_key' holds a secret" in result.stderr
    assert "c2VjcmV0" not in result.output


@pytest.mark.parametrize("side", ["store", "home"])
def test_a_refused_key_fails_at_once_naming_the_place_and_never_shows_the_key(
    side: str, container: str, azurite: Azure, make_project: ProjectMaker
) -> None:
    canary = base64.b64encode(b"canary-7c1f-not-the-key").decode()
    lake = f"az://{container}/lake"
    local, remote = (
        "{type: parquet, path: data/x.parquet}",
        f"{{type: parquet, connection: lake, path: {lake}}}",
    )
    home, store = (local, remote) if side == "store" else (remote, "{type: parquet, path: lake}")
    root = azure_project(make_project, azurite, f"home: {home}\nstore: {store}\n")
    pl.DataFrame({"id": [1]}).write_parquet(root / "data/x.parquet")

    done = run(root, "go", "-v", "--json", env={"LAKE_SECRET": canary})

    assert done.returncode == 1, done.stdout + done.stderr
    entity = json.loads(done.stdout)["entities"][0]
    assert entity["attempts"] <= 1, json.dumps(entity)  # no retry
    assert lake in entity["error"]
    journal = (root / ".hygge/journal.db").read_bytes().decode("latin-1")
    for text in (done.stdout, done.stderr, journal):
        assert canary not in text


def test_debug_names_a_missing_container(
    container: str, azurite: Azure, make_project: ProjectMaker, hygge_cli
) -> None:
    root = azure_project(
        make_project,
        azurite,
        "home: {type: parquet, path: data/x.parquet}\n"
        "store: {type: parquet, connection: lake, path: az://no-such-container/lake}\n",
    )
    pl.DataFrame({"id": [1]}).write_parquet(root / "data/x.parquet")
    result = hygge_cli("debug", cwd=root)
    assert result.exit_code == 1, result.output
    assert "az://no-such-container/lake" in result.stdout
    assert "container does not exist" in result.stdout


def test_an_azure_path_without_its_extra_names_the_extra(make_project: ProjectMaker) -> None:
    root = make_project(
        {"flows/x/flow.yml": "home: {type: parquet, path: data/x.parquet}\n"
         "store: {type: parquet, path: az://container/lake}\n"}
    )  # fmt: skip
    code = "import sys; sys.modules['adlfs'] = None; from hygge.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "go", "--dry-run"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "pip install '.[azure]' in a checkout of hygge" in done.stderr
    assert "Traceback" not in done.stderr

"""hygge on Azure Blob Storage (Azurite, tests/azurite.py) as a user runs it: a `type: azure`
connection in hygge.yml, its key from the environment, `az://` paths on file homes and
stores. (Azurite serves the blob endpoint only: ADLS Gen2's dfs endpoint, OneLake and
azure-identity's default chain, which needs https and a token service, are not run here.)"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import polars as pl
import pytest

from tests.azurite import ACCOUNT, Azure
from tests.cloud import rows_per_landing_run
from tests.conftest import ProjectMaker
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
    arrivals: list[dict[str, bytes]] = [{}, {"2026/b.csv": b"id\n3\n"}, {}]
    rows = rows_per_landing_run(hygge_cli, root, fs, f"{container}/landing", arrivals)
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

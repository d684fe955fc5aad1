"""Object-storage locations as destination identities (`Store.target`, `Home.origin`): every
spelling of one bucket or container folder is one destination, and OneLake paths reach
adlfs and Polars with OneLake's host. OneLake cannot run here: what is tested is the parsing,
the identity and the options handed to adlfs and Polars, never a request to the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hygge.clouds.azure import adlfs_options, polars_options
from hygge.config.connection_models import AzureConnection
from tests.conftest import ProjectMaker
from tests.test_contracts import home, store

ACCOUNT = {"type": "azure", "account": "ShopLake"}
ONELAKE = "abfss://Sales@onelake.dfs.fabric.microsoft.com/Orders.Lakehouse/Files/raw"
ANONYMOUS_GCS = {"type": "gcs", "anonymous": True}  # Google's default chain finds nothing here
PRINCIPAL = {"type": "azure", "tenant_id": "t", "client_id": "c", "client_secret": "s3cret"}
SAME = [
    pytest.param("s3://lake/x", None, "s3://lake/x/", None, id="s3: a trailing slash"),
    pytest.param("s3://Lake/a/../x", None, "s3://lake/x", None, id="s3: case of bucket, .."),
    pytest.param(
        "az://lake/x",
        ACCOUNT,
        "abfss://lake@shoplake.dfs.core.windows.net/x",
        None,
        id="azure: az with the connection's account, and abfss",
    ),
    pytest.param(
        "abfss://Lake@ShopLake.dfs.core.windows.net/x",
        None,
        "abfs://lake@shoplake.blob.core.windows.net/./x//",
        None,
        id="azure: the dfs and blob hosts",
    ),
    pytest.param(
        "az://lake/x",
        ACCOUNT,
        "az://lake@shoplake.blob.core.windows.net/x",
        None,
        id="azure: az naming its account",
    ),
    pytest.param(
        ONELAKE,
        PRINCIPAL,
        ONELAKE.replace(".dfs.", ".blob.") + "/",
        None,
        id="onelake: dfs and blob hosts",
    ),
    pytest.param(
        "gs://Lake/x", ANONYMOUS_GCS, "gcs://lake/x/", ANONYMOUS_GCS, id="gcs: gs and gcs"
    ),
]
OTHER = [
    pytest.param("s3://lake/x", None, "s3://lake/X", None, id="s3: keys keep their case"),
    pytest.param(
        "az://lake/x",
        ACCOUNT,
        "abfss://lake@other.dfs.core.windows.net/x",
        None,
        id="azure: another account",
    ),
    pytest.param(
        ONELAKE,
        None,
        ONELAKE.replace("Sales", "Marketing"),
        None,
        id="onelake: another workspace",
    ),
    pytest.param(
        "s3://lake/x",
        {"type": "s3", "endpoint_url": "http://127.0.0.1:9000"},
        "s3://lake/x",
        None,
        id="s3: an S3-compatible endpoint is not AWS",
    ),
]


def target(tmp_path: Path, path: str, credentials: dict[str, Any] | None) -> str:
    return store("parquet", tmp_path, path=path, credentials=credentials).target()


@pytest.mark.parametrize(("one", "one_with", "two", "two_with"), SAME)
def test_spellings_of_one_object_folder_are_one_target(
    one: str, one_with: Any, two: str, two_with: Any, tmp_path: Path
) -> None:
    assert target(tmp_path, one, one_with) == target(tmp_path, two, two_with)


@pytest.mark.parametrize(("one", "one_with", "two", "two_with"), OTHER)
def test_other_object_folders_are_other_targets(
    one: str, one_with: Any, two: str, two_with: Any, tmp_path: Path
) -> None:
    assert target(tmp_path, one, one_with) != target(tmp_path, two, two_with)


def test_a_target_never_holds_a_secret(tmp_path: Path) -> None:
    keyed = {**ACCOUNT, "account_key": "canary-key"}
    assert "canary" not in target(tmp_path, "az://lake/x", keyed)
    assert "s3cret" not in target(tmp_path, ONELAKE, PRINCIPAL)


def test_a_home_reading_an_object_folder_names_it_as_a_store_would(tmp_path: Path) -> None:
    read = home("parquet", tmp_path, path="abfss://lake@shoplake.dfs.core.windows.net/x/*.pq")
    assert read.origin() == target(tmp_path, "az://lake/x", ACCOUNT)


def test_two_entities_writing_one_container_folder_by_two_spellings_are_refused(
    make_project: ProjectMaker, hygge_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused by the plan, before any request (none could be answered here)."""
    monkeypatch.setenv("KEY", "canary-key")
    connections = (
        "name: t\nconnections:\n  adls: {type: azure, account: shoplake, account_key: '${KEY}'}\n"
    )
    flows = {
        f"flows/{name}/flow.yml": f"home: {{type: parquet, path: data}}\n"
        f"store: {{type: parquet, connection: adls, path: '{path}'}}\n"
        for name, path in (
            ("one", "az://lake/orders"),
            ("two", "abfss://lake@ShopLake.dfs.core.windows.net/orders/"),
        )
    }
    root = make_project({"hygge.yml": connections, **flows})
    (root / "data").mkdir()

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2, result.output
    assert "one.one and two.two write the same destination" in result.stderr
    assert "both az://shoplake/lake/orders" in result.stderr
    assert "canary-key" not in result.output


def test_a_onelake_path_reaches_adlfs_by_onelakes_blob_host_with_a_token(
    tmp_path: Path,
) -> None:
    """Workspace and item by id are parsed alike; OneLake takes Entra ID tokens only."""
    by_id = (
        "abfss://0a1b2c3d-0000-4000-8000-00000000000a@onelake.dfs.fabric.microsoft.com/"
        "0a1b2c3d-0000-4000-8000-00000000000b/Files/raw"
    )
    principal = AzureConnection.model_validate(PRINCIPAL)
    for path in (ONELAKE, by_id):
        options = adlfs_options(principal, path)
        assert options["account_name"] == "onelake"
        assert options["account_host"] == "onelake.blob.fabric.microsoft.com"
        assert (options["tenant_id"], options["client_id"]) == ("t", "c")
        assert options["anon"] is False  # no credential given: azure-identity's default chain
        assert adlfs_options(None, path)["anon"] is False
        assert "account_host" not in adlfs_options(
            None, path.replace("onelake.dfs.fabric.microsoft.com", "acct.dfs.core.windows.net")
        )
    assert target(tmp_path, by_id, None) == (
        "onelake://0a1b2c3d-0000-4000-8000-00000000000a/"
        "0a1b2c3d-0000-4000-8000-00000000000b/Files/raw"
    )


def test_a_onelake_path_is_read_by_polars_through_the_fabric_endpoint() -> None:
    principal = AzureConnection.model_validate({**PRINCIPAL, "account": "ignored"})
    options = polars_options(principal, ONELAKE)
    assert options is not None
    assert options["use_fabric_endpoint"] == "true"
    assert options["account_name"] == "onelake"
    ordinary = polars_options(principal, "abfss://lake@shoplake.dfs.core.windows.net/x")
    assert ordinary is not None and "use_fabric_endpoint" not in ordinary

"""The Delta store on object storage: S3 (moto, tests/s3.py), with delta-rs's options made
from the hygge.yml connection. Azure Blob is not tested here: on Azurite, delta-rs itself
(write_deltalake alone, without hygge) fails every write from a table's third version on
with "Invalid table version: 1", so only the option mapping is checked for Azure.

The store contract runs there, and so does the PostgreSQL to Delta flow as a process: a full
copy, incremental runs with rows tied at the watermark, a crash at each failpoint and a
rerun: the table equals the source, no row twice, with exact types.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as dbapi
import polars as pl
import pytest
from deltalake import DeltaTable

from hygge.clouds import cloud_of
from hygge.config.connection_models import CLOUD_CONNECTIONS
from hygge.plugin import Context, Store
from hygge.registry import store_class
from hygge.testing import StoreContract
from tests import proc
from tests.azurite import Azure
from tests.s3 import S3
from tests.test_delta_flow import T0, add_orders, go, source

CLOUDS = ["s3_server"]


def options(lake: S3 | Azure, url: str) -> dict[str, str]:
    """delta-rs's options for the emulator, as the store makes them from its connection."""
    cloud = cloud_of(url)
    assert cloud is not None
    credentials = CLOUD_CONNECTIONS[lake.credentials()["type"]](**lake.credentials())
    return cloud.polars_options(credentials, url) or {}


def read_table(lake: S3 | Azure, url: str) -> pl.DataFrame | None:
    opts = options(lake, url)
    if not DeltaTable.is_deltatable(url, opts):
        return None
    return pl.read_delta(url, storage_options=opts)


class InCloudDelta(StoreContract):
    server: str

    @pytest.fixture(autouse=True)
    def _server(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
        self.lake: S3 | Azure = request.getfixturevalue(self.server)
        self.url = f"{self.lake.scheme}://{self.lake.bucket(tmp_path)}/Tables/orders"
        yield

    def make_store(self, tmp_path: Path) -> Store[Any]:
        cls = store_class("delta")
        settings = {"type": "delta", "path": self.url, "credentials": self.lake.credentials()}
        return cls(cls.Config.model_validate(settings), Context(tmp_path, "shop", "orders"))

    def make_broken_store(self, tmp_path: Path) -> Store[Any]:
        """A bucket or container that does not exist."""
        cls = store_class("delta")
        settings = {
            "type": "delta", "path": f"{self.lake.scheme}://no-such-bucket-here/Tables/orders",
            "credentials": self.lake.credentials(),
        }  # fmt: skip
        return cls(cls.Config.model_validate(settings), Context(tmp_path, "shop", "orders"))

    def read_back(self, store: Store[Any]) -> pl.DataFrame | None:
        return read_table(self.lake, self.url)

    def leftovers(self, store: Store[Any]) -> list[str]:
        """Objects beside the table (its staging is local, in the temp folder)."""
        fs = self.lake.filesystem()
        parent = self.url.rpartition("/")[0]
        bare = fs._strip_protocol(self.url)
        return sorted(p for p in fs.find(parent) if not p.startswith(bare + "/"))

    def test_an_empty_full_drop_publishes_an_empty_destination(self, tmp_path: Path) -> None:
        """As locally: Delta has no table of no columns, so a first empty copy publishes
        nothing; over a table, an empty copy empties it."""
        from hygge.testing import sample

        store = self.make_store(tmp_path)
        self.load(store, "full_drop", run_id="run-1")
        assert self.read_back(store) is None
        self.load(store, "full_drop", sample(10), run_id="run-2")
        self.load(store, "full_drop", sample(0), run_id="run-3")
        empty = self.read_back(store)
        assert empty is not None and empty.height == 0


class TestS3DeltaStore(InCloudDelta):
    server = "s3_server"


# PostgreSQL into Delta on the emulators, as a process.

FLOW = """\
home: {{type: postgres, connection: db, table: "{schema}.{{entity}}"}}
store: {{type: delta, connection: lake, path: "{tables}"}}
batch_rows: 7
entities:
  - name: orders
    primary_key: [id]
    watermark: {{column: updated_at}}
"""


@pytest.fixture(params=CLOUDS)
def cloud_shop(
    request: pytest.FixtureRequest,
    make_project: Any,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, S3 | Azure, str]:
    """A project reading table orders (30 rows) of a schema of its own into a Delta table
    on the emulator, reached through hygge.yml's connection `lake`."""
    lake: S3 | Azure = request.getfixturevalue(request.param)
    monkeypatch.setenv("PG_URL", postgres_url)
    monkeypatch.setenv("LAKE_SECRET", lake.secret)
    schema = "s_" + os.urandom(6).hex()
    with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(
            f"CREATE TABLE {schema}.orders (id bigint, amount numeric(12, 2), note text,"
            " updated_at timestamptz)"
        )
    root: Path = make_project({"flows/shop/flow.yml": ""})
    table = f"{lake.scheme}://{lake.bucket(root)}/Tables/orders"
    (root / "hygge.yml").write_text(
        "name: test\n" + lake.connection_yaml() + '  db: {type: postgres, url: "${PG_URL}"}\n'
    )
    tables = table.rpartition("/")[0]  # each entity's table is a folder in it
    (root / "flows/shop/flow.yml").write_text(FLOW.format(schema=schema, tables=tables))
    (root / "schema").write_text(schema)
    add_orders(root, postgres_url, range(30), T0)
    return root, lake, table


def test_full_copy_then_incremental_runs_with_ties(
    cloud_shop: tuple[Path, S3 | Azure, str], postgres_url: str
) -> None:
    root, lake, table = cloud_shop
    assert go(root, "--entity", "shop.orders:d")["rows"] == 30
    copied = read_table(lake, table)
    assert copied is not None, lake.filesystem().find(lake.bucket(root))
    assert copied.schema["amount"] == pl.Decimal(12, 2)
    assert copied.schema["updated_at"] == pl.Datetime("us", "UTC")

    add_orders(root, postgres_url, range(30, 35), T0)  # tied with the watermark
    add_orders(root, postgres_url, range(35, 40), T0 + timedelta(microseconds=1))
    assert go(root)["rows"] == 10
    assert go(root)["rows"] == 0
    landed = read_table(lake, table)
    assert landed is not None and landed.sort("id", "note").equals(source(root, postgres_url))
    delta = DeltaTable(table, storage_options=options(lake, table))
    assert delta.version() == 2, "one commit per run"
    assert delta.transaction_version("hygge") == 3


@pytest.mark.parametrize(
    ("run_type", "point"),
    [("i", "after_batch"), ("i", "mid_publish"), ("i", "after_publish"),
     ("d", "after_publish")],
)  # fmt: skip
def test_a_crash_then_a_rerun_leaves_every_row_once(
    run_type: str, point: str, cloud_shop: tuple[Path, S3 | Azure, str], postgres_url: str
) -> None:
    root, lake, table = cloud_shop
    go(root)
    add_orders(root, postgres_url, range(30, 45), T0)  # tied with the watermark
    add_orders(root, postgres_url, range(45, 60), T0 + timedelta(seconds=1))
    selected = f"shop.orders:{run_type}"
    crashed = proc.run(root, "go", "--entity", selected, env={"HYGGE_FAILPOINT": point})
    assert crashed.returncode == 99, crashed.stdout + crashed.stderr

    go(root, "--entity", selected)
    landed = read_table(lake, table)
    assert landed is not None and landed.sort("id", "note").equals(source(root, postgres_url))


def test_an_azure_connection_gives_delta_rs_its_account_and_key(tmp_path: Path) -> None:
    cls = store_class("delta")
    credentials = {"type": "azure", "account": "acct", "account_key": "a2V5",
                   "endpoint_url": "http://127.0.0.1:1/acct"}  # fmt: skip
    settings = {"type": "delta", "path": "az://lake/Tables/orders", "credentials": credentials,
                "storage_options": {"timeout": "60s"}}  # fmt: skip
    made = cls(cls.Config.model_validate(settings), Context(tmp_path, "shop", "orders"))
    assert made.options == {  # type: ignore[attr-defined]
        "account_name": "acct", "account_key": "a2V5",
        "azure_storage_endpoint": "http://127.0.0.1:1/acct", "azure_allow_http": "true",
        "timeout": "60s",
    }  # fmt: skip

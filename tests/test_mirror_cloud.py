"""The open_mirroring store on object storage: S3 (moto, tests/s3.py) and Azure Blob
(Azurite, tests/azurite.py), as OneLake is reached through the same Azure filesystem.

The store contracts run there, and after every test the landing zone, copied down, is held to
tests/landing_zone.py's rules. Real processes crash at every failpoint of an incremental run
and of a full_drop rebuild (whose table folder moves as a whole), and the rerun lands every
row once, its sequence numbers continuing without a gap.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from hygge.plugin import Context, Store
from hygge.registry import store_class
from hygge.testing import StoreContract
from tests.azurite import Azure
from tests.landing_zone import check_landing_zone, read_mirror
from tests.s3 import S3
from tests.test_open_mirroring import T0, add_orders, hygge, source

ZONE = "LandingZone"


def copy_down(lake: S3 | Azure, zone: str, into: Path) -> Path:
    """The landing zone's objects as a local folder (empty folders do not exist there)."""
    fs = lake.filesystem()
    into.mkdir(parents=True, exist_ok=True)
    if fs.exists(zone):
        bare = fs._strip_protocol(zone)
        for path in fs.find(zone):
            local = into / path[len(bare) + 1 :]
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(fs.cat_file(path))
    return into


class InCloudMirror(StoreContract):
    server: str
    lake: S3 | Azure

    @pytest.fixture(autouse=True)
    def _server(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
        self.lake = request.getfixturevalue(self.server)
        self.zone = f"{self.lake.scheme}://{self.lake.bucket(tmp_path)}/{ZONE}"
        yield
        with tempfile.TemporaryDirectory() as folder:
            check_landing_zone(copy_down(self.lake, self.zone, Path(folder)))

    def make_store(self, tmp_path: Path, **config: Any) -> Store:
        cls = store_class("open_mirroring")
        settings = {
            "type": "open_mirroring", "path": self.zone, "drop_wait": 0, "file_rows": 4,
            "credentials": self.lake.credentials(), **config,
        }  # fmt: skip
        return cls(cls.Config.model_validate(settings), Context(tmp_path, "shop", "orders"))

    def make_broken_store(self, tmp_path: Path) -> Store:
        """A bucket or container that does not exist."""
        broken = self.make_store(tmp_path)
        cls = type(broken)
        settings = {
            "type": "open_mirroring", "path": f"{self.lake.scheme}://no-such-bucket-here/{ZONE}",
            "credentials": self.lake.credentials(),
        }  # fmt: skip
        return cls(cls.Config.model_validate(settings), Context(tmp_path, "shop", "orders"))

    def read_back(self, store: Store) -> pl.DataFrame | None:
        with tempfile.TemporaryDirectory() as folder:
            zone = copy_down(self.lake, self.zone, Path(folder))
            table = zone / "orders"
            return read_mirror(table) if table.is_dir() else None

    def leftovers(self, store: Store) -> list[str]:
        fs = self.lake.filesystem()
        bare = fs._strip_protocol(self.zone)
        found = [p[len(bare) + 1 :] for p in fs.find(self.zone)] if fs.exists(self.zone) else []
        kept = ("orders/_metadata.json", "orders/_hygge/", "_partnerEvents.json")
        return sorted(p for p in found if "/_" in "/" + p and not p.startswith(kept))


class TestS3OpenMirroringStore(InCloudMirror):
    server = "s3_server"


class TestAzureOpenMirroringStore(InCloudMirror):
    server = "azurite"


# Real processes, a crash at every failpoint.

FLOW = """\
home: {{type: parquet, path: "data/{{entity}}"}}
store: {{type: open_mirroring, connection: lake, path: "{zone}", schema: dbo, drop_wait: 0}}
primary_key: [id]
watermark: {{column: updated_at}}
entities: [orders]
"""


@pytest.fixture(params=["s3_server", "azurite"])
def cloud_shop(
    request: pytest.FixtureRequest, make_project: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, S3 | Azure, str]:
    lake: S3 | Azure = request.getfixturevalue(request.param)
    root = make_project({"flows/shop/flow.yml": ""})
    zone = f"{lake.scheme}://{lake.bucket(root)}/{ZONE}"
    (root / "flows/shop/flow.yml").write_text(FLOW.format(zone=zone))
    (root / "hygge.yml").write_text((root / "hygge.yml").read_text() + lake.connection_yaml())
    monkeypatch.setenv("LAKE_SECRET", lake.secret)
    add_orders(root, range(100), T0, "a")
    return root, lake, zone


def landed(lake: S3 | Azure, zone: str, into: Path) -> Path:
    """The zone copied down and checked; its table folder."""
    check_landing_zone(copy_down(lake, zone, into))
    return into / "dbo.schema/orders"


@pytest.mark.parametrize("point", ["after_batch", "before_publish", "mid_publish", "after_publish"])
def test_an_incremental_crash_anywhere_then_a_rerun_lands_every_row_once(
    point: str, cloud_shop: tuple[Path, S3 | Azure, str], tmp_path: Path
) -> None:
    root, lake, zone = cloud_shop
    assert hygge(root).returncode == 0
    add_orders(root, range(50, 53), T0, "tie", status="changed")  # at the watermark: a tie
    for part in range(3):
        add_orders(root, range(100 + 10 * part, 110 + 10 * part), T0 + timedelta(hours=part + 1),
                   f"n{part}")  # fmt: skip

    crashed = hygge(root, failpoint=point)
    assert crashed.returncode == 99, crashed.stderr
    landed(lake, zone, tmp_path / "crashed")
    rerun = hygge(root)

    assert rerun.returncode == 0, rerun.stderr
    table = landed(lake, zone, tmp_path / "after")
    expected = source(root).unique("id", keep="last").sort("id")
    assert read_mirror(table).sort("id").equals(expected)
    files = sorted(table.glob("0*.parquet"))
    assert sum(pl.read_parquet(f).height for f in files) == 100 + 33  # no row twice
    assert not [p for p in lake.filesystem().find(zone) if ".hygge-" in p]  # no staging left


@pytest.mark.parametrize("point", ["before_drop", "after_drop", "after_publish"])
def test_a_full_drop_crash_anywhere_then_a_rerun_lands_the_new_copy(
    point: str, cloud_shop: tuple[Path, S3 | Azure, str], tmp_path: Path
) -> None:
    """The rebuild moves a whole staged table folder into place, object by object."""
    root, lake, zone = cloud_shop
    assert hygge(root, "go", "--entity", "shop.orders:d").returncode == 0
    for old in (root / "data/orders").glob("*.parquet"):
        old.unlink()
    add_orders(root, range(40), T0 + timedelta(days=1), "b", status="new copy")

    crashed = hygge(root, "go", "--entity", "shop.orders:d", failpoint=point)
    assert crashed.returncode == 99, crashed.stderr
    again = ("--entity", "shop.orders:d") if point == "before_drop" else ()
    rerun = hygge(root, "go", *again)

    assert rerun.returncode == 0, rerun.stderr
    table = landed(lake, zone, tmp_path / "after")
    assert read_mirror(table).sort("id").equals(source(root).sort("id"))
    assert sum(pl.read_parquet(f).height for f in table.glob("0*.parquet")) == 40
    assert not [p for p in lake.filesystem().find(zone) if ".hygge-" in p]

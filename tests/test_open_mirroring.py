"""The open mirroring store on a local folder: the landing zone format, keys, sequence numbers,
rebuilds, refused columns, and every row landed once after a crash at any failpoint.

After every test, every landing zone it made (a folder named `landing`) is held to the
format by `tests.landing_zone.check_landing_zone`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from hygge.errors import ConfigError, StoreError
from hygge.plugin import Context, LoadRun, Store
from hygge.registry import store_class
from hygge.testing import StoreContract, sample
from hygge.testing.contracts import commit_of
from tests.landing_zone import MARKER, check_landing_zone, keys_of, leftovers, read_mirror

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FLOW = """\
home: {type: parquet, path: "data/{entity}"}
store: {type: open_mirroring, path: landing, schema: dbo, drop_wait: 0}
entities:
  - name: orders
    primary_key: [id]
    watermark: {column: updated_at}
"""


@pytest.fixture(autouse=True)
def _landing_zones_keep_the_format(tmp_path: Path) -> Iterator[None]:
    yield
    zones = [p for p in tmp_path.rglob("landing") if p.is_dir()]
    for zone in zones:
        check_landing_zone(zone)


def mirror_store(tmp_path: Path, **config: Any) -> Store:
    cls = store_class("open_mirroring")
    settings = {"type": "open_mirroring", "path": "landing", "drop_wait": 0, **config}
    return cls(cls.Config.model_validate(settings), Context(tmp_path, "shop", "orders"))


def table_of(store: Store) -> Path:
    return Path(store.target())


def land(store: Store, run_type: str, *frames: pl.DataFrame, run_id: str, keys=("id",)) -> None:
    load = store.begin(LoadRun(run_id, run_type, keys, "version"))  # type: ignore[arg-type]
    for frame in frames:
        load.write(frame)
    load.publish(commit_of(run_id))


class TestOpenMirroringStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return mirror_store(tmp_path, file_rows=4)

    def make_broken_store(self, tmp_path: Path) -> Store:
        (tmp_path / "landing").write_text("a file, not a folder")
        return mirror_store(tmp_path)

    def read_back(self, store: Store) -> pl.DataFrame | None:
        table = table_of(store)
        return read_mirror(table) if table.is_dir() else None

    def leftovers(self, store: Store) -> list[str]:
        return leftovers(table_of(store))


def test_a_table_folder_has_its_keys_and_numbered_files_with_the_marker_last(
    tmp_path: Path,
) -> None:
    store = mirror_store(tmp_path, schema="dbo", file_rows=4)
    table = tmp_path / "landing/dbo.schema/orders"
    assert table_of(store) == table
    land(store, "full_drop", sample(6), run_id="run-1")
    land(store, "incremental", sample(5, start=4), run_id="run-2")

    assert json.loads((table / "_metadata.json").read_text()) == {"keyColumns": ["id"]}
    names = sorted(p.name for p in table.iterdir() if not p.name.startswith("_"))
    assert names == [f"{n:020d}.parquet" for n in range(1, 5)]
    initial, change = pl.read_parquet(table / names[0]), pl.read_parquet(table / names[2])
    assert MARKER not in initial.columns  # an initial load is all inserts
    assert change.columns == ["id", "name", MARKER]
    assert set(change[MARKER]) == {4}
    assert read_mirror(table).sort("id").equals(sample(9))


def test_numbers_continue_from_the_highest_landed_even_after_fabric_took_files_away(
    tmp_path: Path,
) -> None:
    store = mirror_store(tmp_path)
    table = table_of(store)
    land(store, "incremental", sample(3), run_id="run-1")
    land(store, "incremental", sample(3, start=3), run_id="run-2")
    (table / f"{1:020d}.parquet").unlink()  # Fabric moves processed files away ...
    (table / f"{2:020d}.parquet").unlink()  # ... the last one included, in time

    land(store, "incremental", sample(3, start=6), run_id="run-3")

    assert [p.name for p in table.glob("0*")] == [f"{3:020d}.parquet"]


def test_a_changed_key_fails_naming_both_until_a_full_drop_rebuilds(tmp_path: Path) -> None:
    store = mirror_store(tmp_path)
    land(store, "incremental", sample(3), run_id="run-1")

    with pytest.raises(StoreError) as refused:
        store.begin(LoadRun("run-2", "incremental", ("id", "name")))

    assert "['id']" in refused.value.message and "['id', 'name']" in refused.value.message
    assert refused.value.hint and "shop.orders:d" in refused.value.hint
    land(store, "full_drop", sample(3), run_id="run-3", keys=("id", "name"))
    land(store, "incremental", sample(2, start=5), run_id="run-4", keys=("id", "name"))
    assert keys_of(table_of(store)) == ["id", "name"]


def test_with_deletes_the_way_to_a_new_key_turns_them_off_for_the_rebuild(
    shop: Path, hygge_cli
) -> None:
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(flow.read_text().replace("drop_wait: 0", "drop_wait: 0, deletes: true"))
    assert hygge_cli("go", cwd=shop).exit_code == 0
    flow.write_text(flow.read_text().replace("primary_key: [id]", "primary_key: [id, status]"))

    refused = hygge_cli("go", "--json", cwd=shop)

    assert refused.exit_code == 1
    (orders,) = json.loads(refused.stdout)["entities"]
    way_out = "hygge go --entity shop.orders:d --var flow.shop.store.deletes=false"
    assert way_out in orders["hint"]
    assert hygge_cli(*way_out.split()[1:], cwd=shop).exit_code == 0
    assert keys_of(shop / "landing/dbo.schema/orders") == ["id", "status"]
    assert hygge_cli("go", cwd=shop).exit_code == 0


@pytest.mark.parametrize("column", ["order id", "total(eur)", "a=b", MARKER])
def test_a_column_fabric_refuses_fails_the_load_naming_it(tmp_path: Path, column: str) -> None:
    store = mirror_store(tmp_path)
    load = store.begin(LoadRun("run-1", "full_drop", ("id",)))
    with pytest.raises(StoreError) as refused:
        load.write(sample(2).with_columns(pl.lit(1).alias(column)))
    load.abort()
    assert repr(column) in refused.value.message
    assert not table_of(store).exists()


def test_polish_renames_a_column_fabric_refuses(shop: Path, hygge_cli) -> None:
    frame = pl.DataFrame({"id": [500], "unit price": [2.5], "updated_at": [T0]})
    frame.write_parquet(shop / "data/orders/prices.parquet")

    refused = hygge_cli("go", "--json", cwd=shop)

    assert refused.exit_code == 1
    (orders,) = json.loads(refused.stdout)["entities"]
    assert "'unit price'" in orders["error"] and "remove_spaces" in orders["hint"]
    assert not (shop / "landing/dbo.schema/orders").exists()
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(flow.read_text() + "    polish: {remove_spaces: true}\n")
    assert hygge_cli("go", cwd=shop).exit_code == 0
    assert "unit_price" in mirrored(shop).columns


def test_debug_names_a_column_fabric_refuses_unless_polish_renames_it(
    shop: Path, hygge_cli
) -> None:
    """Before any run: the home's columns, as polish would name them, against Fabric's rule."""
    frame = pl.DataFrame({"id": [500], "status": ["x"], "unit price": [2.5], "updated_at": [T0]})
    frame.write_parquet(shop / "data/orders/prices.parquet")

    checked = hygge_cli("debug", cwd=shop)

    assert checked.exit_code == 1, checked.output
    assert "column 'unit price' cannot be mirrored" in checked.stdout
    assert "remove_spaces" in checked.stdout
    assert not (shop / "landing").exists()
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(flow.read_text() + "    polish: {remove_spaces: true}\n")
    renamed = hygge_cli("debug", cwd=shop)
    assert renamed.exit_code == 0, renamed.output


def test_a_run_keeps_the_newest_version_of_a_key_across_a_column_it_added(
    tmp_path: Path,
) -> None:
    store = mirror_store(tmp_path)
    first = pl.DataFrame({"id": [1, 2], "name": ["a", "b"], "version": [1, 1]})
    later = pl.DataFrame({"id": [1], "name": ["a2"], "version": [2], "extra": [5]})
    land(store, "merge", first, later, run_id="run-1")  # two parts, one key twice

    (landed,) = table_of(store).glob("0*.parquet")
    assert pl.read_parquet_schema(landed).names() == ["id", "name", "version", "extra", MARKER]
    assert read_mirror(table_of(store)).sort("id")["name"].to_list() == ["a2", "b"]


def test_a_key_column_fabric_refuses_fails_before_a_row_is_read(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="'order id'"):
        mirror_store(tmp_path).begin(LoadRun("run-1", "incremental", ("order id",)))


def test_a_rebuild_waits_for_fabric_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("hygge.stores.open_mirroring.time.sleep", waits.append)
    store = mirror_store(tmp_path, drop_wait=42)
    land(store, "full_drop", sample(3), run_id="run-1")  # a new table: nothing to drop
    assert waits == []
    with caplog.at_level(logging.WARNING):
        land(store, "full_drop", sample(2, start=10), run_id="run-2")
    assert waits == [42]
    assert "waiting 42 s (drop_wait) for Fabric to drop table" in caplog.text
    assert read_mirror(table_of(store)).equals(sample(2, start=10))


def test_a_full_drop_refuses_a_table_folder_hygge_did_not_write(tmp_path: Path) -> None:
    table = tmp_path / "landing/orders"
    table.mkdir(parents=True)
    (table / "_metadata.json").write_text('{"keyColumns": ["id"]}')
    sample(2).write_parquet(table / f"{1:020d}.parquet")
    with pytest.raises(StoreError, match=r"00000000000000000001\.parquet") as refused:
        mirror_store(tmp_path).begin(LoadRun("run-1", "full_drop", ("id",)))
    assert refused.value.hint and "overwrite_foreign: true" in refused.value.hint
    land(mirror_store(tmp_path, overwrite_foreign=True), "full_drop", sample(1), run_id="run-2")
    assert read_mirror(table).equals(sample(1))


def test_an_incremental_run_continues_a_table_another_writer_started(tmp_path: Path) -> None:
    table = tmp_path / "landing/orders"
    table.mkdir(parents=True)
    (table / "_metadata.json").write_text('{"keyColumns": ["id"]}')
    sample(2).write_parquet(table / f"{7:020d}.parquet")
    land(mirror_store(tmp_path), "incremental", sample(2, start=1), run_id="run-1")
    assert (table / f"{8:020d}.parquet").is_file()
    assert read_mirror(table).sort("id").equals(sample(3))


@pytest.mark.parametrize("name", ["_orders", "a/b", "orders.schema", "a.hygge-b"])
def test_a_table_name_that_cannot_be_a_table_folder_is_a_config_error(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(ValueError, match=f"'{re.escape(name)}' cannot name"):
        mirror_store(tmp_path, table=name)


def test_an_entity_named_like_a_folder_fabric_ignores_needs_a_table_name(tmp_path: Path) -> None:
    cls = store_class("open_mirroring")
    config = cls.Config.model_validate({"type": "open_mirroring", "path": "landing"})
    with pytest.raises(ConfigError, match="'_orders'") as refused:
        cls(config, Context(tmp_path, "shop", "_orders"))
    assert refused.value.hint and "table:" in refused.value.hint
    assert cls(config.model_copy(update={"table": "orders"}), Context(tmp_path, "shop", "_orders"))


def test_rows_without_a_key_column_fail_the_load_naming_it(tmp_path: Path) -> None:
    load = mirror_store(tmp_path).begin(LoadRun("run-1", "incremental", ("order_id",)))
    with pytest.raises(StoreError, match=r"\['order_id'\]"):
        load.write(sample(2))
    load.abort()


def write_zone(zone: Path, files: dict[str, pl.DataFrame], metadata: bool = True) -> Path:
    table = zone / "orders"
    table.mkdir(parents=True)
    if metadata:
        (table / "_metadata.json").write_text('{"keyColumns": ["id"]}')
    for name, frame in files.items():
        frame.write_parquet(table / name)
    return table


def changes(frame: pl.DataFrame, marker: int = 4) -> pl.DataFrame:
    return frame.with_columns(pl.lit(marker, pl.Int32).alias(MARKER))


@pytest.mark.parametrize(
    ("files", "metadata", "problem"),
    [
        ({"00000000000000000001.parquet": sample(1)}, False, "without _metadata.json"),
        ({"1.parquet": sample(1)}, True, "not a data file name"),
        ({f"{n:020d}.parquet": sample(1) for n in (1, 3)}, True, "gap"),
        ({f"{1:020d}.parquet": changes(sample(1)).select(MARKER, "id")}, True, "last column"),
        ({f"{1:020d}.parquet": changes(sample(1), 3)}, True, "markers"),
        ({f"{1:020d}.parquet": changes(sample(1)), f"{2:020d}.parquet": sample(1)}, True, "after"),
        ({f"{1:020d}.parquet": sample(1).drop("id")}, True, "key columns"),
    ],
)
def test_the_checker_finds_each_broken_rule(
    tmp_path: Path, files: dict[str, pl.DataFrame], metadata: bool, problem: str
) -> None:
    write_zone(tmp_path / "zone", files, metadata)
    with pytest.raises(AssertionError, match=problem):
        check_landing_zone(tmp_path / "zone")


def test_the_checker_finds_a_partial_file(tmp_path: Path) -> None:
    table = write_zone(tmp_path / "zone", {f"{1:020d}.parquet": sample(5)})
    whole = (table / f"{1:020d}.parquet").read_bytes()
    (table / f"{1:020d}.parquet").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(pl.exceptions.PolarsError):
        check_landing_zone(tmp_path / "zone")


@pytest.mark.parametrize(
    "events", ['{"sourceInfo": {"sourceType": "x"}}', '{"partnerName": "p", "sourceInfo": 1}']
)
def test_the_checker_finds_a_broken_partner_events_file(tmp_path: Path, events: str) -> None:
    write_zone(tmp_path / "zone", {})
    (tmp_path / "zone/_partnerEvents.json").write_text(events)
    with pytest.raises(AssertionError):
        check_landing_zone(tmp_path / "zone")


# Real processes: a crash at every failpoint, then a rerun lands every row once.


def add_orders(root: Path, ids: range, at: datetime, name: str, status: str = "new") -> None:
    folder = root / "data/orders"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame({"id": list(ids), "status": [status] * len(ids), "at": [at] * len(ids)})
    frame.rename({"at": "updated_at"}).write_parquet(folder / f"{name}.parquet")


def source(root: Path) -> pl.DataFrame:
    return pl.read_parquet(sorted((root / "data/orders").glob("*.parquet")))


def hygge(root: Path, *args: str, failpoint: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYGGE_FAILPOINT"}
    if failpoint:
        env["HYGGE_FAILPOINT"] = failpoint
    command = args or ("go", "--var", "flow.shop.store.file_rows=10")
    return subprocess.run(
        [sys.executable, "-m", "hygge", *command],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def shop(make_project) -> Path:
    root = make_project({"flows/shop/flow.yml": FLOW})
    add_orders(root, range(100), T0, "a")
    return root


def mirrored(root: Path) -> pl.DataFrame:
    return read_mirror(root / "landing/dbo.schema/orders").sort("id")


@pytest.mark.parametrize("point", ["after_batch", "before_publish", "mid_publish", "after_publish"])
def test_an_incremental_crash_anywhere_then_a_rerun_lands_every_row_once(
    point: str, shop: Path
) -> None:
    assert hygge(shop).returncode == 0
    add_orders(shop, range(50, 53), T0, "tie", status="changed")  # same time as the watermark
    for part in range(3):  # new rows in several files, so a publish lands several
        ids = range(100 + 10 * part, 110 + 10 * part)
        add_orders(shop, ids, T0 + timedelta(hours=part + 1), f"n{part}")

    crashed = hygge(shop, failpoint=point)
    assert crashed.returncode == 99, crashed.stderr
    check_landing_zone(shop / "landing")
    rerun = hygge(shop)

    assert rerun.returncode == 0, rerun.stderr
    expected = source(shop).unique("id", keep="last").sort("id")
    assert mirrored(shop).equals(expected)
    table = shop / "landing/dbo.schema/orders"
    landed = pl.concat([pl.read_parquet(f) for f in sorted(table.glob("0*.parquet"))])
    assert landed.height == 100 + 33  # each new or changed row landed once, none twice
    assert leftovers(table) == []


@pytest.mark.parametrize(
    ("point", "survivor"),
    [
        ("after_batch", "old"),
        ("before_publish", "old"),
        ("before_drop", "old"),
        ("after_drop", None),
        ("after_publish", "new"),
    ],
)
def test_a_full_drop_crash_anywhere_then_a_rerun_lands_the_new_copy(
    point: str, survivor: str | None, shop: Path
) -> None:
    assert hygge(shop, "go", "--entity", "shop.orders:d").returncode == 0
    for old in (shop / "data/orders").glob("*.parquet"):
        old.unlink()
    add_orders(shop, range(40), T0 + timedelta(days=1), "b", status="new copy")

    crashed = hygge(shop, "go", "--entity", "shop.orders:d", failpoint=point)

    assert crashed.returncode == 99, crashed.stderr
    table = shop / "landing/dbo.schema/orders"
    if survivor is None:
        assert not table.exists()  # dropped; the staged copy lands on the next run
    else:
        assert mirrored(shop).height == (100 if survivor == "old" else 40)
    # A rebuild under way is finished by the rerun's recover and its record adopted, so an
    # incremental rerun reads nothing new; a rebuild that never began is run again.
    again = ("--entity", "shop.orders:d") if survivor == "old" else ()
    rerun = hygge(shop, "go", *again, "--var", "flow.shop.store.drop_wait=0.01")

    assert rerun.returncode == 0, rerun.stderr
    waited = "waiting 0.01 s (drop_wait) for Fabric to drop table" in rerun.stderr
    assert waited == (point != "after_publish"), rerun.stderr  # a rebuild always waits
    assert mirrored(shop).equals(source(shop).sort("id"))
    assert leftovers(table) == []
    files = sorted(table.glob("0*.parquet"))
    assert sum(pl.read_parquet(file).height for file in files) == 40  # no row twice
    assert all(MARKER not in pl.read_parquet_schema(file) for file in files)  # the rebuild


def test_an_incremental_entity_with_a_key_upserts_without_a_warning(shop: Path, hygge_cli) -> None:
    """Other file stores append, so a key on an incremental entity is warned about there."""
    result = hygge_cli("go", "--json", cwd=shop)
    assert result.exit_code == 0, result.output
    (orders,) = json.loads(result.stdout)["entities"]
    assert (orders["rows"], orders["warnings"]) == (100, [])
    add_orders(shop, range(3), T0 + timedelta(hours=1), "b", status="changed")
    assert hygge_cli("go", cwd=shop).exit_code == 0
    assert mirrored(shop).equals(source(shop).unique("id", keep="last").sort("id"))


def readme_example() -> str:
    """The README's open mirroring flow.yml, as written there."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("# flows/fabric/flow.yml\n", 1)[1]
    return block.split("```", 1)[0]


def test_the_readme_example_runs(make_project, hygge_cli) -> None:
    root = make_project({"flows/fabric/flow.yml": readme_example()})
    add_orders(root, range(20), T0, "a")
    assert hygge_cli("go", cwd=root).exit_code == 0
    add_orders(root, range(15, 25), T0 + timedelta(hours=1), "b", status="changed")

    again = hygge_cli("go", "--json", cwd=root)

    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["entities"][0]["rows"] == 10
    table = root / "landing/dbo.schema/orders"
    assert read_mirror(table).sort("id").equals(source(root).unique("id", keep="last").sort("id"))


def test_with_deletes_a_full_read_lands_deletes_of_the_keys_gone_since_the_last(
    tmp_path: Path,
) -> None:
    store = mirror_store(tmp_path, deletes=True)
    table = table_of(store)
    land(store, "full_drop", sample(10), run_id="run-1")  # a new table: an initial load
    land(store, "incremental", sample(2, start=20), run_id="run-2")
    kept = pl.concat([sample(3), sample(5, start=5), sample(1, start=30)])

    land(store, "full_drop", kept, run_id="run-3")  # 3, 4, 20 and 21 are gone

    assert read_mirror(table).sort("id").equals(kept)
    deleted = pl.read_parquet(sorted(table.glob("0*.parquet"))[-1])
    assert deleted.columns == ["id", "name", MARKER]
    assert (sorted(deleted["id"]), set(deleted[MARKER])) == ([3, 4, 20, 21], {2})
    assert deleted["name"].null_count() == 4
    before = sorted(table.glob("0*.parquet"))
    land(store, "full_drop", kept, run_id="run-4")  # nothing gone since run-3
    assert len(sorted(table.glob("0*.parquet"))) == len(before) + 1
    land(store, "full_drop", run_id="run-5")  # the source is empty: every key is gone
    assert read_mirror(table).height == 0


def test_deletes_need_a_primary_key(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no primary_key") as refused:
        mirror_store(tmp_path, deletes=True).begin(LoadRun("run-1", "full_drop", ()))
    assert refused.value.hint and "primary_key" in refused.value.hint


@pytest.mark.parametrize("point", ["before_publish", "mid_publish", "after_publish"])
def test_a_crash_landing_deletes_then_a_rerun_lands_each_change_once(
    point: str, shop: Path
) -> None:
    flow = shop / "flows/shop/flow.yml"
    flow.write_text(flow.read_text().replace("drop_wait: 0", "drop_wait: 0, deletes: true"))
    assert hygge(shop, "go", "--entity", "shop.orders:d").returncode == 0
    (shop / "data/orders/a.parquet").unlink()
    add_orders(shop, range(0, 100, 2), T0, "a")  # the odd ids are gone
    add_orders(shop, range(100, 125), T0 + timedelta(hours=1), "b")

    args = ("go", "--entity", "shop.orders:d", "--var", "flow.shop.store.file_rows=10")
    crashed = hygge(shop, *args, failpoint=point)
    assert crashed.returncode == 99, crashed.stderr
    rerun = hygge(shop, *(args if point == "before_publish" else ()))

    assert rerun.returncode == 0, rerun.stderr
    assert mirrored(shop).equals(source(shop).sort("id"))
    table = shop / "landing/dbo.schema/orders"
    changes = pl.concat([pl.read_parquet(f) for f in sorted(table.glob("0*.parquet"))[1:]])
    assert changes.filter(pl.col(MARKER) == 2).height == 50  # each gone row deleted once
    assert changes.filter(pl.col(MARKER) == 4).height == 75  # each row read upserted once
    assert leftovers(table) == []
    assert hygge(shop, *args).returncode == 0  # the keys the crashed run landed are known
    again = pl.concat([pl.read_parquet(f) for f in sorted(table.glob("0*.parquet"))[1:]])
    assert again.filter(pl.col(MARKER) == 2).height == 50  # so no key is deleted twice


def test_the_landing_zone_says_who_writes_it_once_and_keeps_another_writers_events(
    tmp_path: Path,
) -> None:
    """`_partnerEvents.json` at the zone's root, as the pages describe it; never rewritten."""
    land(mirror_store(tmp_path, source_type="SQL Server"), "full_drop", sample(3), run_id="r1")
    events = json.loads((tmp_path / "landing/_partnerEvents.json").read_text())
    assert events["partnerName"] == "hygge"
    assert events["sourceInfo"]["sourceType"] == "SQL Server"
    assert not list((tmp_path / "landing").glob("_partnerEvents.json.*"))

    other = tmp_path / "other"
    (other / "landing").mkdir(parents=True)
    theirs = '{"partnerName": "someone else", "sourceInfo": {"sourceType": "Oracle"}}'
    (other / "landing/_partnerEvents.json").write_text(theirs)
    land(mirror_store(other), "full_drop", sample(3), run_id="r1")
    assert (other / "landing/_partnerEvents.json").read_text() == theirs

"""The Delta Lake store on real tables in tmp_path: the store contract, the commit record in
the table's log, schema changes, types read back by three readers, and merges."""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from deltalake import DeltaTable

from hygge.errors import MissingDriverError, StoreError
from hygge.plugin import Commit, Context, LoadRun, Store
from hygge.registry import store_class
from hygge.testing import StoreContract, assert_same_rows, sample
from hygge.watermark import Mark


def commit_of(run_id: str) -> Commit:
    return Commit(run_id, datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=UTC), None, None)


def delta_store(tmp_path: Path, **config: Any) -> Store[Any]:
    cls = store_class("delta")
    settings = cls.Config.model_validate({"type": "delta", "path": "lake/orders", **config})
    return cls(settings, Context(root=tmp_path, flow="shop", entity="orders"))


def read_delta(store: Store[Any]) -> pl.DataFrame | None:
    path = store.destination()
    return pl.read_delta(path) if DeltaTable.is_deltatable(path) else None


def load(store: Store[Any], run_type: Any, *frames: pl.DataFrame, run_id: str = "run-1") -> None:
    loaded = store.begin(LoadRun(run_id, run_type, ("id",), "version"))
    for frame in frames:
        loaded.write(frame)
    loaded.publish(commit_of(run_id))


class TestDeltaStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store[Any]:
        return delta_store(tmp_path)

    def make_broken_store(self, tmp_path: Path) -> Store[Any]:
        (tmp_path / "lake").mkdir()
        (tmp_path / "lake" / "orders").write_text("a file where the table should be")
        return self.make_store(tmp_path)

    def read_back(self, store: Store[Any]) -> pl.DataFrame | None:
        return read_delta(store)

    def leftovers(self, store: Store[Any]) -> list[str]:
        """Staging beside the table, and data files in it that no version names."""
        folder = Path(store.destination())
        beside = [p.name for p in folder.parent.iterdir() if p != folder]
        if not DeltaTable.is_deltatable(str(folder)):
            return beside
        named = set(DeltaTable(str(folder)).file_uris())
        for version in range(DeltaTable(str(folder)).version()):
            named |= set(DeltaTable(str(folder), version=version).file_uris())
        files = {str(p) for p in folder.rglob("*.parquet")}
        return sorted(beside + sorted(files - named))

    def test_an_empty_full_drop_publishes_an_empty_destination(self, tmp_path: Path) -> None:
        """Delta has no table of no columns: a first copy of no rows (no columns known)
        publishes nothing. Over a table, an empty copy empties it, as the contract says."""
        store = self.make_store(tmp_path)
        self.load(store, "full_drop", run_id="run-1")
        assert self.read_back(store) is None
        assert self.leftovers(store) == []
        self.load(store, "full_drop", sample(10), run_id="run-2")
        self.load(store, "full_drop", sample(0), run_id="run-3")
        empty = self.read_back(store)
        assert empty is not None and empty.height == 0, f"{empty} is left after an empty copy"
        self.load(store, "full_drop", sample(10), run_id="run-4")
        self.load(store, "full_drop", run_id="run-5")  # no batch at all
        empty = self.read_back(store)
        assert empty is not None and empty.height == 0, f"{empty} is left after an empty copy"
        assert self.leftovers(store) == []


def test_each_publish_is_one_commit_carrying_hygges_transaction(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    load(store, "full_drop", sample(5), sample(5, start=5), run_id="run-1")
    load(store, "incremental", sample(3, start=10), sample(2, start=13), run_id="run-2")
    table = DeltaTable(store.destination())
    assert table.version() == 1, "two loads must be two commits"
    assert table.transaction_version("hygge") == 2
    operations = [entry["operation"] for entry in table.history()]
    assert operations == ["WRITE", "WRITE"]
    assert store.last_commit() == commit_of("run-2")


def test_last_commit_survives_commits_of_other_writers(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    published = Commit("run-7", datetime(2026, 5, 1, tzinfo=UTC), Mark("int", 7).encode(), b"s")
    loaded = store.begin(LoadRun("run-7", "full_drop", ("id",)))
    loaded.write(sample(4))
    loaded.publish(published)
    table = DeltaTable(store.destination())
    table.optimize.compact()  # another writer's commit after hygge's
    table.delete("id = 1")
    assert delta_store(tmp_path).last_commit() == published


def test_an_aborted_load_commits_nothing(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    load(store, "full_drop", sample(5))
    loaded = store.begin(LoadRun("run-2", "incremental", ("id",)))
    loaded.write(sample(5, start=5))
    loaded.abort()
    assert DeltaTable(store.destination()).version() == 0


def test_a_new_column_is_added_and_reported(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    load(store, "full_drop", sample(3))
    loaded = store.begin(LoadRun("run-2", "incremental", ("id",)))
    loaded.write(sample(2, start=3))
    loaded.write(sample(2, start=5).with_columns(note=pl.lit("new")))  # mid-run
    loaded.publish(commit_of("run-2"))
    assert [(c.column, c.type) for c in loaded.schema_changes] == [("note", "String")]
    back = read_delta(store)
    assert back is not None and back.columns[-1] == "note" and back.height == 7
    assert back["note"].to_list().count("new") == 2 and back["note"].null_count() == 5


def test_a_column_of_another_type_fails_naming_it(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    load(store, "full_drop", sample(3))
    loaded = store.begin(LoadRun("run-2", "incremental", ("id",)))
    with pytest.raises(StoreError) as refused:
        loaded.write(sample(2, start=3).with_columns(pl.col("id").cast(pl.String)))
    loaded.abort()
    assert "'id'" in refused.value.message and "full_drop" in (refused.value.hint or "")
    assert "in the Delta table" in refused.value.message
    assert DeltaTable(store.destination()).version() == 0


def test_a_full_drop_may_change_a_columns_type(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    load(store, "full_drop", sample(3))
    load(store, "full_drop", sample(2).with_columns(pl.col("id").cast(pl.String)), run_id="r2")
    back = read_delta(store)
    assert back is not None and back.schema["id"] == pl.String and back.height == 2


def typed_rows() -> pl.DataFrame:
    berlin = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    return pl.DataFrame(
        {
            "id": [1, 2],
            "price": [Decimal("12345678901234.567890"), Decimal("-0.000001")],
            "at": [berlin, None],
            "local": [datetime(2026, 1, 2, 3, 4, 5, 6), datetime(1900, 1, 1)],
            "day": [date(2026, 1, 2), None],
            "small": [200, 0],
            "big": [2**64 - 1, 0],
            "kind": ["a", "b"],
        },
        schema_overrides={
            "price": pl.Decimal(20, 6),
            "at": pl.Datetime("us", "Europe/Berlin"),
            "local": pl.Datetime("ns"),
            "small": pl.UInt8,
            "big": pl.UInt64,
            "kind": pl.Categorical,
        },
    )


def test_types_read_back_exactly_by_polars_duckdb_and_deltalake(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    rows = typed_rows()
    load(store, "full_drop", rows)
    expected = {
        "id": pl.Int64(),
        "price": pl.Decimal(20, 6),
        "at": pl.Datetime("us", "UTC"),
        "local": pl.Datetime("us"),
        "day": pl.Date(),
        "small": pl.Int16(),
        "big": pl.Decimal(20, 0),
        "kind": pl.String(),
    }
    path = store.destination()
    by_polars = pl.read_delta(path).sort("id")
    by_deltalake = pl.DataFrame(DeltaTable(path).to_pyarrow_table()).sort("id")
    files = DeltaTable(path).file_uris()  # DuckDB reads the files the table's version names
    found = duckdb.sql(f"SELECT * FROM read_parquet({files!r}) ORDER BY id")
    by_duckdb = pl.from_arrow(found.to_arrow_table())
    assert isinstance(by_duckdb, pl.DataFrame)
    for back in (by_polars, by_deltalake):
        assert dict(back.schema) == expected
        assert back["price"].to_list() == rows["price"].to_list()
        assert back["at"].to_list() == [datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC), None]
        assert back["local"].to_list() == rows["local"].to_list()
        assert back["small"].to_list() == [200, 0]
        assert back["big"].to_list() == [Decimal(2**64 - 1), Decimal(0)]
    assert by_duckdb["price"].to_list() == rows["price"].to_list()
    assert by_duckdb["at"].dt.convert_time_zone("UTC").to_list()[0] == rows["at"][0]
    assert by_duckdb["local"].to_list() == rows["local"].to_list()


def test_a_value_delta_cannot_hold_fails_naming_its_column(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    loaded = store.begin(LoadRun("run-1", "full_drop", ("id",)))
    nanos = pl.DataFrame({"id": [1], "seen": [1_700_000_000_000_000_001]})
    with pytest.raises(StoreError) as lost:
        loaded.write(nanos.with_columns(pl.col("seen").cast(pl.Datetime("ns"))))
    assert "'seen'" in lost.value.message and "nanoseconds" in lost.value.message
    with pytest.raises(StoreError) as lacking:
        loaded.write(pl.DataFrame({"id": [1], "took": [timedelta(seconds=3)]}))
    assert "'took'" in lacking.value.message
    loaded.abort()
    assert read_delta(store) is None


def test_merge_upserts_and_adds_a_column(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    load(store, "merge", sample(4))
    changed = sample(2, start=3).with_columns(name=pl.lit("changed"), flag=pl.lit(True))
    loaded = store.begin(LoadRun("run-2", "merge", ("id",)))
    loaded.write(changed)
    loaded.publish(commit_of("run-2"))
    assert [c.column for c in loaded.schema_changes] == ["flag"]
    back = read_delta(store)
    expected = pl.concat([sample(3).with_columns(flag=pl.lit(None, pl.Boolean)), changed])
    assert_same_rows(back, expected)
    assert DeltaTable(store.destination()).history(1)[0]["operation"] == "MERGE"


def test_merge_on_a_key_with_an_awkward_name(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    key = 'Order "id"'
    first = pl.DataFrame({key: [1, 2], "v": ["a", "b"]})
    later = pl.DataFrame({key: [2, 3], "v": ["B", "c"]})
    for run_id, frame in (("r1", first), ("r2", later)):
        loaded = store.begin(LoadRun(run_id, "merge", (key,)))
        loaded.write(frame)
        loaded.publish(commit_of(run_id))
    back = read_delta(store)
    assert back is not None
    assert back.sort(key)["v"].to_list() == ["a", "B", "c"]
    with pytest.raises(StoreError) as refused:
        store.begin(LoadRun("r3", "merge", ("a`b",)))
    assert "'a`b'" in refused.value.message


def test_partitioned_table(tmp_path: Path) -> None:
    store = delta_store(tmp_path, partition_by=["region"])
    rows = sample(6).with_columns(region=pl.Series(["eu", "us"] * 3))
    load(store, "full_drop", rows)
    load(store, "incremental", sample(2, start=6).with_columns(region=pl.lit("eu")), run_id="r2")
    table = DeltaTable(store.destination())
    assert table.metadata().partition_columns == ["region"]
    assert (Path(store.destination()) / "region=eu").is_dir()
    assert read_delta(store) is not None and store.row_count() == 8


def test_optimize_and_vacuum_after_the_run(tmp_path: Path) -> None:
    store = delta_store(tmp_path, optimize=True, vacuum=True)
    load(store, "incremental", sample(3), sample(3, start=3))
    load(store, "incremental", sample(3, start=6), run_id="r2")
    history = [entry["operation"] for entry in DeltaTable(store.destination()).history()]
    assert "OPTIMIZE" in history
    assert_same_rows(read_delta(store), sample(9))
    assert store.last_commit() == commit_of("r2")


def test_without_deltalake_the_store_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "hygge.stores.delta", raising=False)
    monkeypatch.setitem(sys.modules, "deltalake", None)  # as if not installed
    with pytest.raises(MissingDriverError) as missing:
        store_class("delta")
    assert missing.value.exit_code == 2
    assert "pip install '.[delta]'" in (missing.value.hint or "")


def test_a_table_on_object_storage_keeps_its_url_and_stages_locally(tmp_path: Path) -> None:
    """delta-rs's storage options are its own (not fsspec's): building the store touches no
    network and no fsspec backend; the staging is in the local temp folder."""
    options = {"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret"}
    store = delta_store(tmp_path, path="s3://bucket/lake/../tables/orders", storage_options=options)
    assert store.target() == "s3://bucket/tables/orders"
    staging = store.staging_path("run-1")  # type: ignore[attr-defined]
    assert staging.parent.parent == Path(tempfile.gettempdir())
    assert "secret" not in str(staging) and "bucket" not in str(staging)


def test_a_merge_of_no_rows_still_commits_its_record(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    load(store, "merge", sample(3))
    load(store, "merge", run_id="run-2")
    assert store.last_commit() == commit_of("run-2")
    assert_same_rows(read_delta(store), sample(3))


def test_a_partition_column_the_rows_lack_is_named(tmp_path: Path) -> None:
    store = delta_store(tmp_path, partition_by=["region"])
    loaded = store.begin(LoadRun("run-1", "full_drop", ("id",)))
    loaded.write(sample(3))
    with pytest.raises(StoreError) as refused:
        loaded.publish(commit_of("run-1"))
    loaded.abort()
    assert "'region'" in refused.value.message and read_delta(store) is None

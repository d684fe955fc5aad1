"""Every built-in plugin, and the in-memory ones, pass the contracts of hygge.testing.

File plugins are built through the registry from the same config a flow.yml would give, and
work on real files under tmp_path (the project root of their context).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from hygge.errors import StoreError
from hygge.plugin import Context, Home, Load, LoadRun, Store
from hygge.registry import home_class, store_class
from hygge.testing import (
    HomeContract,
    MemoryHome,
    MemoryHomeConfig,
    MemoryLoad,
    MemoryStore,
    MemoryStoreConfig,
    StoreContract,
    drop_tables,
    get_table,
    put_table,
    staged_runs,
)

Writer = Callable[[pl.DataFrame, Path], None]
Reader = Callable[[Path], pl.DataFrame]

WRITERS: dict[str, Writer] = {  # the file extension is the plugin's type
    "parquet": lambda frame, path: frame.write_parquet(path),
    "csv": lambda frame, path: frame.write_csv(path),
    "ndjson": lambda frame, path: frame.write_ndjson(path),
}
READERS: dict[str, Reader] = {
    "parquet": pl.read_parquet,
    "csv": pl.read_csv,
    "ndjson": pl.read_ndjson,
}


def context(tmp_path: Path) -> Context:
    return Context(root=tmp_path, flow="shop", entity="orders")


def home(kind: str, tmp_path: Path, **config: Any) -> Home:
    cls = home_class(kind)
    return cls(cls.Config.model_validate({"type": kind, **config}), context(tmp_path))


def store(kind: str, tmp_path: Path, **config: Any) -> Store:
    cls = store_class(kind)
    return cls(cls.Config.model_validate({"type": kind, **config}), context(tmp_path))


class FileHomeCase(HomeContract):
    """The source is a folder of two files plus entries a reader must skip."""

    kind: str

    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        extension, write = self.kind, WRITERS[self.kind]
        folder = tmp_path / "data" / "orders"
        (folder / "_staging").mkdir(parents=True)
        half = frame.height // 2
        parts = [frame.head(half), frame.slice(half)] if half else [frame]
        for number, part in enumerate(parts):
            write(part, folder / f"part-{number}.{extension}")
        write(frame.head(1), folder / f".hidden.{extension}")  # hidden: never data
        write(frame.head(1), folder / "_staging" / f"part.{extension}")
        return home(self.kind, tmp_path, path="data/orders")

    def make_broken_home(self, tmp_path: Path) -> Home:
        return home(self.kind, tmp_path, path="data/missing")


class TestParquetHome(FileHomeCase):
    kind = "parquet"


class TestCsvHome(FileHomeCase):
    kind = "csv"


class TestNdjsonHome(FileHomeCase):
    kind = "ndjson"


class TestMemoryHome(HomeContract):
    @pytest.fixture(autouse=True)
    def _fresh_tables(self) -> Iterator[None]:
        yield
        drop_tables()

    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home:
        put_table("orders", frame)
        return MemoryHome(MemoryHomeConfig(table="orders"), context(tmp_path))

    def make_broken_home(self, tmp_path: Path) -> Home:
        return MemoryHome(MemoryHomeConfig(table="missing"), context(tmp_path))


class FileStoreCase(StoreContract):
    """The destination is tmp_path/lake/orders; small files so that loads span several."""

    kind: str

    def make_store(self, tmp_path: Path) -> Store:
        return store(self.kind, tmp_path, path="lake/orders", file_rows=7)

    def make_broken_store(self, tmp_path: Path) -> Store:
        (tmp_path / "lake").mkdir()
        (tmp_path / "lake" / "orders").write_text("a file where the folder should be")
        return self.make_store(tmp_path)

    def read_back(self, store: Store) -> pl.DataFrame | None:
        folder = Path(store.destination())
        if not folder.exists():
            return None
        files = sorted(folder.glob(f"[!._]*.{self.kind}"))
        return pl.concat([READERS[self.kind](file) for file in files]) if files else pl.DataFrame()

    def leftovers(self, store: Store) -> list[str]:
        folder = Path(store.destination())
        beside = [p.name for p in folder.parent.iterdir() if p != folder]
        inside = [p.name for p in folder.rglob(".*")]  # _hygge/ holds commit records: kept
        return sorted(beside + inside)


class TestParquetStore(FileStoreCase):
    kind = "parquet"


class TestCsvStore(FileStoreCase):
    kind = "csv"


class TestNdjsonStore(FileStoreCase):
    kind = "ndjson"


class TestMemoryStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _fresh_tables(self) -> Iterator[None]:
        yield
        drop_tables()

    def make_store(self, tmp_path: Path) -> Store:
        return MemoryStore(MemoryStoreConfig(table="orders"), context(tmp_path))

    def make_broken_store(self, tmp_path: Path) -> Store:
        return MemoryStore(MemoryStoreConfig(table="orders", fail_on="check"), context(tmp_path))

    def read_back(self, store: Store) -> pl.DataFrame | None:
        return get_table("orders")

    def leftovers(self, store: Store) -> list[str]:
        return staged_runs("orders")


class MergingMemoryStore(MemoryStore):
    """A MemoryStore that also upserts, only so that the merge contract itself gets run."""

    run_types = frozenset({"full_drop", "incremental", "merge"})

    def start(self, run: LoadRun) -> Load:
        return MergeLoad(self, run) if run.run_type == "merge" else super().start(run)


class MergeLoad(MemoryLoad):
    def combine(self, old: pl.DataFrame | None, new: list[pl.DataFrame]) -> pl.DataFrame | None:
        keys, version = list(self.run.primary_key), self.run.version
        rows = pl.concat(new).unique(maintain_order=True)
        if version in rows.columns:
            rows = rows.filter(pl.col(version) == pl.col(version).max().over(keys))
        repeated = rows.filter(rows.select(keys).is_duplicated())
        if repeated.height:
            shown = ", ".join(f"{k}={repeated[k][0]!r}" for k in keys)
            raise StoreError(f"differing versions of one primary key: {shown}")
        if old is None or not old.width:
            return rows
        return pl.concat([old.join(rows, on=keys, how="anti"), rows])


class TestMergingMemoryStore(TestMemoryStore):
    def make_store(self, tmp_path: Path) -> Store:
        return MergingMemoryStore(MemoryStoreConfig(table="orders"), context(tmp_path))


def test_importing_hygge_testing_brings_in_no_test_framework() -> None:
    """Plugin packages import it from their own tests, whatever runner they use."""
    code = "import sys, hygge.testing; print(sorted({'pytest', 'hypothesis'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

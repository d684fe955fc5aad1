"""In-memory plugins: tables kept in this process, so flow and coordinator tests need no files."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Annotated, Literal

import polars as pl
from pydantic import Field

from hygge.errors import SourceError, StoreError
from hygge.plugin import Commit, Home, Load, LoadRun, PluginConfig, Store, Window
from hygge.watermark import Mark

_lock = threading.Lock()
_tables: dict[str, pl.DataFrame] = {}  # published: what a reader sees
_staged: dict[tuple[str, str], list[pl.DataFrame]] = {}  # (table, run id) -> frames written
_commits: dict[str, Commit] = {}  # table -> the record of its newest published load


def put_table(name: str, frame: pl.DataFrame) -> None:
    """Make `frame` the content of table `name` (a MemoryHome source, or a store's old content)."""
    with _lock:
        _tables[name] = frame


def get_table(name: str) -> pl.DataFrame | None:
    """What a reader of table `name` sees; None when nothing was ever published there."""
    with _lock:
        return _tables.get(name)


def staged_runs(name: str) -> list[str]:
    """Run ids with staged, unpublished writes to table `name`: a crashed load's leftovers."""
    with _lock:
        return sorted(run_id for table, run_id in _staged if table == name)


def drop_tables() -> None:
    """Forget every table and staged load (between tests)."""
    with _lock:
        _tables.clear()
        _staged.clear()
        _commits.clear()


# --- MemoryHome -------------------------------------------------------------------------------


class MemoryHomeConfig(PluginConfig):
    type: Literal["memory"] = "memory"
    table: str
    fail_after: Annotated[int | None, Field(ge=0)] = None
    """Raise a SourceError after this many batches, to test how a flow handles a failing read."""


class MemoryHome(Home[MemoryHomeConfig]):
    """Reads a table put in memory with `put_table` (or published by a MemoryStore)."""

    Config = MemoryHomeConfig

    def describe(self) -> str:
        return f"memory:{self.config.table}"

    def check(self) -> list[str]:
        if get_table(self.config.table) is None:
            return [f"memory table {self.config.table!r} does not exist"]
        return []

    def schema(self) -> pl.Schema:
        return self._table().schema

    def high_mark(self, column: str) -> Mark | None:
        return Mark.max_of(self._table()[column])

    def batches(self, window: Window, batch_rows: int) -> Generator[pl.DataFrame]:
        frame = self._table()
        if window.column is not None:
            frame = frame.filter(_in_window(window, window.column, frame.schema[window.column]))
        for number, batch in enumerate(frame.iter_slices(batch_rows)):
            if number == self.config.fail_after:
                raise SourceError(f"memory table {self.config.table!r}: failing as configured")
            yield batch

    def _table(self) -> pl.DataFrame:
        frame = get_table(self.config.table)
        if frame is None:
            raise SourceError(f"memory table {self.config.table!r} does not exist")
        return frame


def _in_window(window: Window, column: str, dtype: pl.DataType) -> pl.Expr:
    """Rows between the bounds, and rows without a value (the flow counts those)."""
    inside = pl.lit(True)
    if window.lower is not None:
        inside &= pl.col(column) >= window.lower.expr_for(dtype, column)
    if window.upper is not None:
        inside &= pl.col(column) <= window.upper.expr_for(dtype, column)
    return inside | pl.col(column).is_null()


# --- MemoryStore ------------------------------------------------------------------------------

FailurePoint = Literal["check", "write", "publish"]


class MemoryStoreConfig(PluginConfig):
    type: Literal["memory"] = "memory"
    table: str
    fail_on: FailurePoint | None = None
    """Fail at this step (check reports a problem, write/publish raise a StoreError)."""


class MemoryStore(Store[MemoryStoreConfig]):
    """Publishes into an in-memory table; a load stays staged (invisible) until publish."""

    Config = MemoryStoreConfig
    run_types = frozenset({"full_drop", "incremental"})

    def destination(self) -> str:
        return f"memory:{self.config.table}"

    def check(self) -> list[str]:
        if self.config.fail_on == "check":
            return [f"memory table {self.config.table!r} is unreachable (fail_on: check)"]
        return []

    def start(self, run: LoadRun) -> Load:
        return MemoryLoad(self, run)

    def recover(self) -> None:
        with _lock:
            for key in [key for key in _staged if key[0] == self.config.table]:
                del _staged[key]

    def last_commit(self) -> Commit | None:
        with _lock:
            return _commits.get(self.config.table)

    def row_count(self) -> int | None:
        table = get_table(self.config.table)
        return None if table is None else table.height


class MemoryLoad(Load):
    """Frames written wait under (table, run id); publish swaps or appends them in one step."""

    def __init__(self, store: MemoryStore, run: LoadRun) -> None:
        self.store = store
        self.run = run
        self.key = (store.config.table, run.run_id)
        with _lock:
            _staged[self.key] = []

    def write(self, frame: pl.DataFrame) -> None:
        self._maybe_fail("write")
        with _lock:
            self._staging().append(frame)

    def publish(self, commit: Commit) -> None:
        self._maybe_fail("publish")
        table = self.store.config.table
        with _lock:
            try:
                published = self.combine(_tables.get(table), self._staging())
            except pl.exceptions.PolarsError as exc:
                raise StoreError(f"cannot publish to memory table {table!r}: {exc}") from exc
            if published is not None:
                _tables[table] = published
            _commits[table] = commit
            del _staged[self.key]

    def combine(self, old: pl.DataFrame | None, new: list[pl.DataFrame]) -> pl.DataFrame | None:
        """The table after this load: a full copy replaces it, an incremental load appends.

        A subclass that declares another run type overrides this (tests do, for merge).
        """
        if self.run.run_type == "full_drop":
            return pl.concat(new, how="vertical") if new else pl.DataFrame()
        parts = [old, *new] if old is not None and old.width else new
        return pl.concat(parts, how="vertical") if parts else old

    def abort(self) -> None:
        with _lock:
            _staged.pop(self.key, None)

    def _staging(self) -> list[pl.DataFrame]:
        """This load's staged frames (the caller holds the lock); gone if recover() ran."""
        frames = _staged.get(self.key)
        if frames is None:
            raise StoreError(f"load {self.run.run_id} of {self.store.destination()} was cleaned up")
        return frames

    def _maybe_fail(self, step: FailurePoint) -> None:
        if self.store.config.fail_on == step:
            raise StoreError(f"{self.store.destination()}: failing at {step} as configured")

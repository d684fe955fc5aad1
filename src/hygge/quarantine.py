"""Quarantine: the rows a check holds back, loaded to the sibling destination of the entity.

The sibling is the entity's store with the same type and settings, its table (or, for a
folder store, its folder) named `<name>__quarantine`. Its rows are polished like the good
ones and carry `hygge_failed_checks`, naming the checks each failed. A read of everything
replaces the quarantine (full_drop); a windowed read appends to it.

Two destinations cannot publish in one step, so the quarantine publishes first, then the
entity's store, then the journal. A crash between the first two leaves the quarantine
holding rows the entity's watermark never passed, so the next run reads them again. To hold
each row once, the quarantine's commit record keeps where its read began and the window
state it was to commit: a run that finds such an orphan (a quarantine record newer than the
store's) from a read that began where its own begins leaves out the rows the orphan holds,
those below its watermark and, at the watermark, those among its rows (as a window does).
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import polars as pl

from hygge.checks import FAILED_CHECKS
from hygge.config.models import RunType, Settings
from hygge.errors import ConfigError, StoreError
from hygge.plugin import Commit, Home, Load, LoadRun, Store
from hygge.window import ReadPlan, WindowState, WindowTracker

SUFFIX = "__quarantine"
Shape = Callable[[pl.DataFrame], pl.DataFrame]


def quarantine_store(
    address: str, settings: Settings, home: Home[Any], store: Store[Any]
) -> Store[Any] | None:
    """The entity's quarantine when a check of it quarantines; None otherwise. Not for a
    home of new files: its reruns are told apart by file, which a held-back row lacks."""
    if settings.checks is None or not settings.checks.quarantines():
        return None
    if home.new_files_only:
        raise ConfigError(
            f"{address}: checks with on_fail: quarantine cannot go with home.new_files_only",
            hint="use on_fail: fail or warn, or a watermark instead of new_files_only",
        )
    return sibling_store(store, address)


def sibling_store(store: Store[Any], address: str) -> Store[Any]:
    """The entity's store with its table (or folder) named `<name>__quarantine`."""
    config = store.config
    if "table" in type(config).model_fields:
        name = getattr(config, "table", None) or store.context.entity
        changed = {"table": name + SUFFIX}
    elif "path" in type(config).model_fields:
        changed = {"path": str(getattr(config, "path", "")).rstrip("/") + SUFFIX}
    else:
        raise ConfigError(
            f"{address}: a {config.type} store has no table or path to name a quarantine by",
            hint="use on_fail: fail or warn for this entity's checks",
        )
    return type(store)(config.model_copy(update=changed), store.context)


class Quarantine:
    """One run's load of held-back rows into the sibling store."""

    def __init__(self, store: Store[Any], entity_store: Store[Any], read: ReadPlan) -> None:
        self.store = store
        self.read = read
        self.rows = 0
        self.whole = read.tracker is None or read.tracker.keep_nulls  # a read of everything
        self.load: Load | None = None
        self.pending: queue.SimpleQueue[pl.DataFrame] = queue.SimpleQueue()
        self.kept: Callable[[pl.DataFrame], pl.DataFrame] = lambda rows: rows
        if not self.whole and read.tracker is not None:
            self.kept = _not_held_by_orphan(store, entity_store, read, read.tracker)

    def begin(self, run_id: str, key: tuple[str, ...]) -> None:
        self.store.recover()
        run_type: RunType = "full_drop" if self.whole else "incremental"
        self.load = self.store.begin(LoadRun(run_id, run_type, key))

    def hold(self, held: pl.DataFrame, shape: Shape) -> None:
        """Rows a check held back (source names, FAILED_CHECKS last), polished by shape, for
        `flush` to write: this runs on the reader thread, the load is the writer's."""
        held = self.kept(held)
        if held.height:
            failed = held.get_column(FAILED_CHECKS)
            self.pending.put(shape(held.drop(FAILED_CHECKS)).with_columns(failed))

    def flush(self) -> None:
        """Write the rows held so far (on the thread that writes the entity's load)."""
        while not self.pending.empty():
            frame = self.pending.get()
            if self.load is not None:
                self.load.write(frame)
                self.rows += frame.height

    def publish(self, run_id: str) -> None:
        """Publish first (see the module docstring); a windowed read that held nothing back
        leaves the quarantine alone."""
        self.flush()
        if self.load is None:
            return
        if not self.rows and not self.whole:
            self.abort()
            return
        load, self.load = self.load, None  # published: nothing left to abort
        load.publish(Commit(run_id, datetime.now(UTC), self._record(), self._recent()))
        reported = load.published_rows
        if reported is not None and reported != self.rows:
            raise StoreError(
                f"{self.rows} rows were written to the quarantine {self.store.destination()},"
                f" but it reports {reported} after publishing",
                hint="inspect the quarantine; the entity's own rows were not published",
            )

    def abort(self) -> None:
        if self.load is not None:
            self.load.abort()
            self.load = None

    def _record(self) -> str | None:
        """Where this read began and the watermark it was to commit (see the docstring)."""
        tracker, lower = self.read.tracker, self.read.window.lower
        if self.whole or tracker is None:
            return None
        top = tracker.next_state().mark
        return json.dumps(
            {"from": lower.encode() if lower else None, "to": top.encode() if top else None}
        )

    def _recent(self) -> bytes | None:
        tracker = self.read.tracker
        return None if self.whole or tracker is None else tracker.next_state().encode_recent()


def _not_held_by_orphan(
    store: Store[Any], entity_store: Store[Any], read: ReadPlan, tracker: WindowTracker
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """A filter leaving out rows an orphaned quarantine load already holds (see above)."""
    orphan, published = store.last_commit(), entity_store.last_commit()
    if orphan is None or not orphan.watermark:
        return lambda rows: rows
    if published is not None and published.published_at >= orphan.published_at:
        return lambda rows: rows
    began = json.loads(orphan.watermark)
    lower = read.window.lower
    if began["to"] is None or began["from"] != (lower.encode() if lower else None):
        return lambda rows: rows
    state = WindowState.decode(began["to"], orphan.state)
    seen = WindowTracker(tracker.column, state)
    assert state.mark is not None

    def kept(rows: pl.DataFrame) -> pl.DataFrame:
        top = state.mark.expr_for(rows.schema[tracker.column], tracker.column)  # type: ignore[union-attr]
        return seen.admit(rows.filter(pl.col(tracker.column) >= top))

    return kept

"""Incremental windows: which rows are new, and what the next watermark is.

The lower bound is inclusive, so rows sharing the last watermark value are re-read; the
ones already loaded are recognised by their whole content and dropped. Whole rows, not
just keys: a row updated without its watermark moving (same second, or a date column)
differs from what was loaded, so it loads again instead of being lost. With a lookback
the re-read reaches further back and the same rule keeps loaded rows out. Rows with a
NULL watermark fit no window: counted and never loaded, except by a full_drop, which copies
the whole table.

Identical rows are counted, not merged: an event log may hold the same row twice. The
state keeps every loaded copy, and each pairs with at most one row of a read, so a third
identical row is new when two were loaded.

When the source gains, loses or retypes a column, rows are compared on the columns both
the loaded rows and the batch have, the loaded values cast to the batch's types (a column
whose values do not survive that cast counts as not shared). Counting keeps this exact in
number: each loaded row read back finds a partner, so none loads twice, and every row
beyond the loaded copies is admitted, so none is lost. What fewer columns cannot tell is
which of two rows equal on them is the old one: within a batch, rows with NULL in the
columns the loaded rows lack pair first (rows read back have nothing there), then in read
order. The committed rows keep only the columns they all share.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import polars as pl

from hygge.config.models import Settings, Watermark
from hygge.errors import ConfigError, SourceError, UsageError, WatermarkError
from hygge.plugin import Home, Window
from hygge.watermark import Mark, mark_from_user


@dataclass(frozen=True)
class WindowState:
    """What is committed per entity: the watermark and the rows loaded near it."""

    mark: Mark | None = None
    recent: pl.DataFrame | None = None  # the rows loaded at the mark (or within lookback)

    def encode_recent(self) -> bytes | None:
        if self.recent is None:
            return None
        buffer = io.BytesIO()
        self.recent.write_ipc(buffer, compression="zstd")
        return buffer.getvalue()

    @classmethod
    def decode(cls, mark: str | None, recent: bytes | None) -> WindowState:
        return cls(
            Mark.decode(mark) if mark else None,
            pl.read_ipc(io.BytesIO(recent)) if recent else None,
        )


class WindowTracker:
    """Filters the batches of one read and learns the state to commit after it."""

    def __init__(
        self,
        column: str,
        previous: WindowState,
        lookback: int | str | None = None,
        keep_nulls: bool = False,
    ) -> None:
        self.column = column
        self.previous = previous
        self.lookback = lookback
        self.keep_nulls = keep_nulls  # a full copy keeps rows that no window can place
        self.nulls = 0
        self.top: Mark | None = previous.mark
        self.dtype: pl.DataType | None = None
        self.candidates: list[pl.DataFrame] = []
        self._cast: tuple[pl.Schema, pl.DataFrame] | None = None  # see _loaded
        self._paired = pl.Series(_ROW, [], pl.UInt32)  # loaded rows a re-read row matched

    def admit(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The rows of batch that are new; remembers what the next state needs."""
        present = batch.filter(pl.col(self.column).is_not_null())
        absent = batch.height - present.height
        recent = self.previous.recent
        if recent is not None and present.height:
            present = self._unseen(present, recent)
        if present.height:
            self._observe(present)
        if absent and self.keep_nulls:
            return pl.concat([present, batch.filter(pl.col(self.column).is_null())])
        self.nulls += absent
        return present

    def _unseen(self, rows: pl.DataFrame, recent: pl.DataFrame) -> pl.DataFrame:
        """rows without those loaded before. Only rows at or below the newest loaded value
        can be among them, so only those are compared whole (most of a read is newer)."""
        loaded = self._loaded(recent, rows.schema)
        if self.column not in loaded.columns:  # state from another watermark column
            return self._unpaired(rows, loaded)
        top = loaded[self.column].max()
        if top is None:
            return rows
        reread = pl.col(self.column) <= top
        again = rows.filter(reread)
        if not again.height:
            return rows
        return pl.concat([self._unpaired(again, loaded), rows.filter(~reread)])

    def _unpaired(self, rows: pl.DataFrame, loaded: pl.DataFrame) -> pl.DataFrame:
        """rows less one copy per loaded row equal to it on the shared columns: identical
        rows are counted, not merged. Each loaded row pairs once per read, across batches."""
        on = [c for c in loaded.columns if c not in (_ROW, _TWIN)]
        if not on:
            return rows
        left = loaded.filter(~pl.col(_ROW).is_in(self._paired.implode()))
        extra = [c for c in rows.columns if c not in on]  # columns the loaded rows lack
        first = pl.sum_horizontal(pl.col(extra).is_not_null()) if extra else None
        twins = rows.select(pl.struct(on).is_duplicated()).to_series()
        numbered = _numbered(rows, on, twins, first)
        left = _numbered(left.drop(_TWIN), on, left[_TWIN])
        keys = [*on, _COPY]
        paired = left.join(numbered.select(keys), on=keys, how="semi", nulls_equal=True)
        self._paired = pl.concat([self._paired, paired[_ROW]])
        unseen = numbered.join(left.select(keys), on=keys, how="anti", nulls_equal=True)
        return unseen.drop(_COPY)

    def _loaded(self, recent: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
        """The loaded rows on the columns they share with the batch, in the batch's types,
        numbered (_ROW) and flagged when identical to another (_TWIN); made once a read per
        schema (a read's batches mostly share one)."""
        if self._cast is None or self._cast[0] != schema:
            aligned = _aligned(recent, schema)
            twins = pl.struct(aligned.columns).is_duplicated() if aligned.width else pl.lit(False)
            numbered = aligned.with_row_index(_ROW).with_columns(twins.alias(_TWIN))
            self._cast = (schema, numbered)
        return self._cast[1]

    def next_state(self) -> WindowState:
        """The state after this read: unchanged when nothing new arrived. Every loaded copy
        of identical rows stays, so the next read can pair each with one copy it reads."""
        if self.dtype is None or self.top is None:
            return self.previous  # nothing new arrived
        frames = [f for f in (self.previous.recent, *self.candidates) if f is not None]
        return WindowState(self.top, self._near_top(_stacked(frames, self.column)))

    def _observe(self, rows: pl.DataFrame) -> None:
        self.dtype = rows.schema[self.column]
        top = Mark.max_of(rows[self.column])
        if top is not None and (self.top is None or top.value > self.top.value):  # type: ignore[operator]
            self.top = top
        self.candidates = [self._near_top(f) for f in (*self.candidates, rows)]
        if len(self.candidates) > 8:
            self.candidates = [_stacked(self.candidates, self.column)]

    def _near_top(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows a later read may see again: at the top, or within the lookback of it."""
        assert self.top is not None and self.dtype is not None
        floor = self.top.minus(self.lookback).expr_for(self.dtype, self.column)
        return rows.filter(pl.col(self.column) >= floor)


_ROW = "__hygge_row"  # a loaded row's number, so that it pairs with one re-read row
_TWIN = "__hygge_twin"  # a loaded row identical to another one
_COPY = "__hygge_copy"  # which of several identical rows this one is: 0, 1, ...


def _numbered(
    frame: pl.DataFrame, on: list[str], twins: pl.Series, order_by: pl.Expr | None = None
) -> pl.DataFrame:
    """frame with _COPY: 0 for a row unlike the others, 0, 1, ... through identical ones
    (in order_by's order). Only the twins are numbered in groups: most rows have none."""
    alone = frame.filter(~twins).with_columns(pl.lit(0, pl.UInt32).alias(_COPY))
    if not twins.any():
        return alone
    copy = pl.int_range(pl.len(), dtype=pl.UInt32).over(on, order_by=order_by)
    return pl.concat([alone, frame.filter(twins).with_columns(copy.alias(_COPY))])


def _aligned(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """frame's columns that schema has, cast to its types. A column whose values do not
    survive the cast (they would turn NULL) is left out, as if it were not shared."""
    kept = []
    for name in (c for c in frame.columns if c in schema):
        column = frame[name]
        try:
            cast = column.cast(schema[name], strict=False)
        except pl.exceptions.PolarsError:
            continue
        if cast.null_count() == column.null_count():
            kept.append(cast)
    return pl.DataFrame(kept)


def _stacked(frames: list[pl.DataFrame], column: str) -> pl.DataFrame:
    """Frames read with different columns as one, on the columns they all share, in the
    newest frame's types. Frames without the watermark column (another column's state)
    are left out."""
    frames = [f for f in frames if column in f.columns]
    newest = frames[-1].schema
    aligned = [_aligned(f, newest) for f in frames]
    shared = [c for c in newest if all(c in f.columns for f in aligned)]
    return pl.concat([f.select(shared) for f in aligned], how="vertical")


@dataclass(frozen=True)
class Backfill:
    """A one-off window from the command line (--from/--to); it moves no watermark.

    It re-reads what the window holds and writes all of it, so it only appends (incremental)
    or upserts (merge): a full_drop would replace the whole table with the window."""

    lower: Any = None
    upper: Any = None

    def describe(self) -> str:
        """--from and --to as given, as the journal keeps them."""
        return f"from {self.lower}" + ("" if self.upper is None else f" to {self.upper}")

    def bounds(self, dtype: pl.DataType, column: str) -> tuple[Mark, Mark | None]:
        """--from and --to as values of the column's type. A value that is not one, or a
        --from after --to (an empty window), is a usage error quoting them as typed."""
        marks = []
        for option, value in (("--from", self.lower), ("--to", self.upper)):
            try:
                marks.append(_user_mark(value, dtype, column, option))
            except WatermarkError as exc:
                raise UsageError(exc.message, hint=exc.hint) from None
        lower, upper = marks
        assert lower is not None
        if upper is not None and lower.value > upper.value:  # type: ignore[operator]
            raise UsageError(
                f"--from {self.lower} comes after --to {self.upper}: the window holds nothing",
                hint=f"swap them: --from {self.upper} --to {self.lower}",
            )
        return lower, upper

    @staticmethod
    def full_drop_refused(which: str = "", address: str = "F.E") -> UsageError:
        """A window must never drive a full_drop: it would replace the table with it."""
        return UsageError(
            "--from/--to cannot run with full_drop: it would replace the whole destination"
            f" with the window's rows{f' ({which})' if which else ''}",
            hint="to load a window, run incremental (appends it) or merge (upserts it on"
            f" primary_key), e.g. --entity {address}:i or {address}:m; for a full copy,"
            " leave out --from/--to",
        )


@dataclass
class ReadPlan:
    """One read: its window, the filter of rows already loaded, and the state it commits."""

    window: Window
    tracker: WindowTracker | None = None
    listing: WindowState | None = None  # new-files-only: the files seen, committed whole
    commits: bool = True  # False for a backfill: it moves no watermark
    notes: tuple[str, ...] = ()  # what the run summary should say about this read

    def admit(self, frame: pl.DataFrame) -> pl.DataFrame:
        return self.tracker.admit(frame) if self.tracker else frame

    def describe(self) -> str:
        """What this read takes, for -v."""
        window = self.window
        if window.files is not None:
            return f"{len(window.files)} new or changed files to read"
        if window.column is None:
            return "reading everything"
        lower = window.lower.display() if window.lower else "the start"
        upper = window.upper.display() if window.upper else "the end"
        return f"window on {window.column} from {lower} to {upper}"

    def next_state(self) -> WindowState | None:
        """What to commit; None leaves the committed state alone."""
        if not self.commits:
            return None
        if self.listing is not None:
            return self.listing
        return self.tracker.next_state() if self.tracker else None


def plan_read(
    home: Home[Any],
    settings: Settings,
    run_type: str,
    previous: WindowState,
    backfill: Backfill | None,
) -> ReadPlan:
    """How to read: files new since the last run, a watermark window, or everything."""
    if backfill is not None and run_type == "full_drop":
        raise Backfill.full_drop_refused()
    fresh = run_type == "full_drop" or backfill is not None
    if home.new_files_only:
        listing = home.listing()
        seen = None if fresh else previous.recent
        files = _unseen(listing, seen)
        notes = _rereads(files, seen) if run_type == "incremental" else ()
        return ReadPlan(Window(files=files), listing=_listing_state(listing), notes=notes)
    window = plan_window(home, settings, run_type, previous, backfill)
    if window.column is None or settings.watermark is None:
        return ReadPlan(window)
    start_from = WindowState() if fresh else previous
    lookback, full_copy = settings.watermark.lookback, run_type == "full_drop"
    tracker = WindowTracker(window.column, start_from, lookback, keep_nulls=full_copy)
    return ReadPlan(window, tracker, commits=backfill is None)


def _unseen(listing: pl.DataFrame, seen: pl.DataFrame | None) -> tuple[str, ...]:
    """Files not read before with this size and modification time: new or changed."""
    if seen is not None and set(listing.columns) <= set(seen.columns):
        listing = listing.join(seen.select(listing.columns), on=listing.columns, how="anti")
    return tuple(listing["path"].to_list())


def _rereads(files: tuple[str, ...], seen: pl.DataFrame | None) -> tuple[str, ...]:
    """A note on files read before that changed since: read again whole and appended, the
    rows of their earlier version are in the destination twice (merge would update them)."""
    if seen is None or "path" not in seen.columns:
        return ()
    changed = sorted(set(files) & set(seen["path"].to_list()))
    if not changed:
        return ()
    more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
    return (
        f"{changed[0]}{more} changed since an earlier run read it and was read again whole:"
        " the rows of its earlier version were appended before, so the destination holds"
        " them twice (write files under a hidden name and rename them when complete, or"
        " merge on a primary_key)",
    )


def _listing_state(listing: pl.DataFrame) -> WindowState:
    """The files seen, and the newest modification time as the watermark people read."""
    newest = listing["modified_ns"].max() if listing.height else None
    mark = Mark("datetime", int(newest), "ns", "UTC") if newest is not None else None  # type: ignore[arg-type]
    return WindowState(mark, listing)


def plan_window(
    home: Home[Any],
    settings: Settings,
    run_type: str,
    previous: WindowState,
    backfill: Backfill | None,
) -> Window:
    """The window of one read. Its upper bound is fixed now, before reading starts, so rows
    written during the read wait for the next run."""
    watermark = settings.watermark
    if watermark is None:
        if backfill is not None:
            raise UsageError("--from and --to need a watermark", hint="set watermark: {column}")
        return Window()
    column = watermark.column
    dtype, upper = home.column_bounds(column)
    if dtype is None:
        raise SourceError(
            f"watermark column {column!r} is not in {home.describe()}",
            hint=f"columns there: {', '.join(home.schema().names())}",
        )
    if backfill is not None:
        lower, until = backfill.bounds(dtype, column)
        upper = until or upper
    elif run_type == "full_drop":
        lower = None
    elif previous.mark is not None:
        lower = previous.mark.minus(watermark.lookback)
    else:
        lower = _user_mark(watermark.start, dtype, column, "watermark.start")
    for mark in (lower, upper):
        if mark is not None:
            mark.check_fits(dtype, column)
    return Window(column, lower, upper)


def _user_mark(value: Any, dtype: pl.DataType, column: str, setting: str) -> Mark | None:
    """A value the user wrote for `setting`; an error names the setting."""
    if value is None:
        return None
    try:
        return mark_from_user(value, dtype, column)
    except WatermarkError as exc:
        raise WatermarkError(f"{setting} {exc.message}", hint=exc.hint) from None


def refuse_cast_watermark(address: str, config: object, watermark: Watermark | None) -> None:
    """The window compares the watermark column as the source has it: it cannot be cast."""
    if watermark is not None and watermark.column in getattr(config, "cast", {}):
        raise ConfigError(
            f"{address}: home.cast casts the watermark column {watermark.column!r}, whose"
            " values the window compares as the source has them",
            hint="leave the watermark column out of cast (polish or the store may convert it)",
        )

"""The hot path: a reader thread reads and admits batches into a bounded queue, the caller's
thread writes.

Memory holds at most QUEUE_BATCHES batches in flight whatever the table size. The reader
stops as soon as the writer stops listening (failure or cancel). `admit` (window, checks,
polish) runs on the reader thread, so shaping a batch overlaps with writing the one before;
it is the only code on that thread that touches the run's state until the reader is joined.

Faster still when nothing is to change: files the home would give whole, in the format and
codec the load writes, are copied as they are (`copy_whole`).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from hygge.errors import Interrupted
from hygge.failpoints import failpoint
from hygge.handoff import POLL_SECONDS, put_while
from hygge.plugin import Home, Load, Window

QUEUE_BATCHES = 2
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _End:
    """The reader is done."""


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True)
class _Batch:
    read: int  # rows the home gave
    frame: pl.DataFrame  # those admitted


Item = _Batch | _End | _Failed


@dataclass
class Counts:
    read: int = 0
    written: int = 0


def transfer(
    home: Home[Any],
    window: Window,
    batch_rows: int,
    load: Load,
    cancel: threading.Event,
    admit: Callable[[pl.DataFrame], pl.DataFrame] = lambda frame: frame,
    on_rows: Callable[[int, int], None] = lambda rows, size: None,
) -> Counts:
    """Move the window's rows from home into load; `admit` filters and shapes each batch
    first, on the reader thread. `on_rows` hears, on the caller's thread after each batch, the
    rows written so far and the size in memory of the latest batch."""
    batches: queue.Queue[Item] = queue.Queue(QUEUE_BATCHES)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read, args=(home, window, batch_rows, admit, batches, stop), daemon=True
    )
    reader.start()
    counts = Counts()
    try:
        while True:
            item = _next(batches, cancel)
            if isinstance(item, _End):
                return counts
            if isinstance(item, _Failed):
                raise item.error
            counts.read += item.read
            frame = item.frame
            if frame.height:
                load.write(frame)
                counts.written += frame.height
            on_rows(counts.written, int(frame.estimated_size()) if frame.height else 0)
            failpoint("after_batch")
    finally:
        stop.set()
        reader.join()


def copy_whole(
    home: Home[Any],
    window: Window,
    load: Load,
    cancel: threading.Event,
    on_rows: Callable[[int, int], None] = lambda rows, size: None,
) -> Counts | None:
    """Copy the window's files into load as they are, when both sides allow it (the caller
    knows no batch would be filtered or changed); None when they do not, and nothing was
    done: the rows then go through `transfer`."""
    if home.whole_format is None or home.whole_format != load.whole_format:
        return None
    files = home.whole_files(window)
    if files is None:
        return None
    refused = load.refuse_whole(files)
    if refused is not None:
        log.debug("%s: files re-encoded, not copied: %s", home.describe(), refused)
        return None
    counts = Counts()
    for file in files:
        if cancel.is_set():
            raise Interrupted("interrupted")
        load.copy_in(file)
        counts.read += file.rows
        counts.written += file.rows
        on_rows(counts.written, 0)  # a copy holds no rows in memory
        failpoint("after_batch")
    log.debug(
        "copied %d files unchanged (%d rows) from %s", len(files), counts.read, home.describe()
    )
    return counts


def _read(
    home: Home[Any],
    window: Window,
    batch_rows: int,
    admit: Callable[[pl.DataFrame], pl.DataFrame],
    batches: queue.Queue[Item],
    stop: threading.Event,
) -> None:
    frames = home.batches(window, batch_rows)
    with contextlib.closing(frames):
        try:
            for frame in frames:
                if not _put(batches, _Batch(frame.height, admit(frame)), stop):
                    return
            _put(batches, _End(), stop)
        except BaseException as exc:
            _put(batches, _Failed(exc), stop)


def _next(batches: queue.Queue[Item], cancel: threading.Event) -> Item:
    while True:
        if cancel.is_set():
            raise Interrupted("interrupted")
        try:
            return batches.get(timeout=POLL_SECONDS)
        except queue.Empty:
            continue


def _put(batches: queue.Queue[Item], item: Item, stop: threading.Event) -> bool:
    """Put unless the writer has stopped listening; False when it has."""
    return put_while(batches, item, lambda: not stop.is_set())

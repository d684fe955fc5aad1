"""One open mirroring load: its files staged beside the table folder, then landed.

See `open_mirroring` for the two ways a load lands (changes, or a rebuild of the table) and
`_mirror_deletes` for the keys it keeps when the store lands deletes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import polars as pl

from hygge.errors import StoreError
from hygge.failpoints import failpoint
from hygge.plugin import Commit, Load, LoadRun
from hygge.stores._commits import prune, read_records, write_record
from hygge.stores._file_schema import FolderSchema
from hygge.stores._files import fill_files
from hygge.stores._landing import (
    UPSERT,
    data_name,
    read_keys,
    refuse_columns,
    with_marker,
    without_marker,
    write_metadata,
)
from hygge.stores._mirror_deletes import KEYS, keys_name, move_keys_in, stage_deletes, stage_keys
from hygge.stores._mirror_keys import one_row_per_key
from hygge.stores.parquet import ParquetStoreConfig, ParquetWriter

if TYPE_CHECKING:
    from hygge.stores.open_mirroring import OpenMirroringStore

log = logging.getLogger(__name__)


class MirrorLoad(Load):
    """One run's files, staged beside the table folder, then landed (module docstring)."""

    def __init__(self, store: OpenMirroringStore, run: LoadRun, changes: bool) -> None:
        self.store = store
        self.run = run
        self.changes = changes  # False: a rebuild of the table
        self.fs = store.fs
        self.staging = store.staging_path(run.run_id)
        self.parts = 0
        self.writer: ParquetWriter | None = None
        self.keep_staging = False
        self.format = ParquetStoreConfig(path=store.path, compression=store.config.compression)
        self.columns = FolderSchema(self._published(), store.path, store.address)
        self.checked: set[str] = set()
        try:
            self.fs.remove_tree(self.staging)
            self.fs.makedirs(self.staging)
        except OSError as exc:
            raise StoreError(f"cannot stage in {self.staging}: {exc.strerror or exc}") from exc

    def _published(self) -> pl.Schema | None:
        if not self.changes:
            return None
        for record in reversed(read_records(self.fs, self.store.path)):
            if record.schema is not None:
                return without_marker(record.schema)
        return None

    def write(self, frame: pl.DataFrame) -> None:
        new = [name for name in frame.columns if name not in self.checked]
        if new:
            self._check_columns(new, frame.columns)
        self.checked.update(new)
        frame, changed = self.columns.admit(frame)
        if changed:
            self._close_file()
        if self.changes:
            frame = with_marker(frame, UPSERT)
        limit = self.store.config.file_rows
        try:
            fill_files(frame, limit, lambda: self.writer or self._next_file(), self._close_file)
        except OSError as exc:
            raise StoreError(f"cannot write to {self.staging}: {exc.strerror or exc}") from exc

    def _check_columns(self, new: list[str], columns: list[str]) -> None:
        """Names Fabric refuses, and key columns the rows lack (Fabric could match nothing)."""
        refuse_columns(new, f"{self.store.address}'s rows")
        missing = [key for key in self.run.primary_key if key not in columns]
        if missing:
            raise StoreError(
                f"primary_key column(s) {missing} of {self.store.address} are not among the"
                f" columns of its rows ({', '.join(columns)})",
                hint="name columns the source has in primary_key",
            )

    def publish(self, commit: Commit) -> None:
        self._close_file()
        try:
            parts = [n for n in self.fs.list_names(self.staging) if n.startswith("part-")]
            self.published_rows = self._rows_in(parts)
            if self.changes:
                self._land_changes(commit, self._changes(parts))
            else:
                self._rebuild(commit, parts)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise StoreError(f"cannot publish to {self.store.path}: {exc}") from exc
        self.schema_changes = self.columns.changes()
        try:
            prune(self.fs, self.store.path)
        except OSError as exc:
            log.warning("cannot prune the commit records of %s: %s", self.store.path, exc)
        self.store.remove_leftover(self.staging)

    def _rows_in(self, parts: list[str]) -> int:
        """`published_rows`: the rows of the staged files, from their footers, before one row
        per key is kept (older rows of a key left out on purpose are no loss)."""
        paths = [self.fs.url(f"{self.staging}/{part}") for part in parts]
        options = self.fs.scan_options
        scans = (pl.scan_parquet(path, storage_options=options) for path in paths)
        return sum(int(scan.select(pl.len()).collect().item()) for scan in scans)

    def abort(self) -> None:
        try:
            self._close_file()
        finally:
            if not self.keep_staging:
                self.store.remove_leftover(self.staging)

    def _name_parts(self, parts: list[str], first: int) -> list[str]:
        """Give the staged files their final names, still inside the staging."""
        names = [data_name(first + offset) for offset in range(len(parts))]
        for part, name in zip(parts, names, strict=True):
            self.fs.move(f"{self.staging}/{part}", f"{self.staging}/{name}")
        return names

    def _changes(self, parts: list[str]) -> list[str]:
        """The parts to land as changes: one row per key, then (a full read, with deletes)
        a part deleting the keys it did not read."""
        run, store = self.run, self.store
        if run.primary_key and parts:
            parts = one_row_per_key(self.fs, self.staging, parts, run, self.format)
        if store.config.deletes:
            stage_keys(self.fs, self.staging, parts, run, f"{self.staging}/{keys_name(run)}")
            if run.run_type == "full_drop":
                schema = self.columns.after
                parts += stage_deletes(self.fs, self.staging, store.path, run, schema)
        return parts

    def _rebuild(self, commit: Commit, parts: list[str]) -> None:
        if self.store.config.deletes:
            self.fs.makedirs(f"{self.staging}/{KEYS}")
            keys = f"{self.staging}/{KEYS}/{keys_name(self.run)}"
            stage_keys(self.fs, self.staging, parts, self.run, keys)
        names = self._name_parts(parts, 1)
        write_metadata(self.fs, self.staging, self.run.primary_key)
        write_record(self.fs, self.staging, commit, names, self.columns.after)
        failpoint("before_drop")
        self.keep_staging = True  # from here on the publish is finished, if not now then later
        self.store.replace_table(self.staging)
        self.keep_staging = False

    def _land_changes(self, commit: Commit, parts: list[str]) -> None:
        """Record first (naming the files), then move them in, in order; a failed move is
        finished by the next run, never undone."""
        store = self.store
        if read_keys(self.fs, store.path) is None:
            write_metadata(self.fs, store.path, self.run.primary_key)
        names = self._name_parts(parts, store.next_sequence())
        schema = self.columns.after
        write_record(self.fs, store.path, commit, names, schema)
        self.keep_staging = True
        try:
            for name in names:
                self.fs.move(f"{self.staging}/{name}", f"{store.path}/{name}")
                failpoint("mid_publish")
            move_keys_in(self.fs, self.staging, store.path)
        except OSError as exc:
            raise StoreError(
                f"cannot publish to {store.path}: {exc}; it is half done, and the next run"
                " finishes it",
                hint="let the user running hygge write there",
            ) from exc
        self.keep_staging = False

    def _next_file(self) -> ParquetWriter:
        self.parts += 1
        handle = self.fs.open_write(f"{self.staging}/part-{self.parts:05d}.parquet")
        self.writer = ParquetWriter(handle, self.format)
        return self.writer

    def _close_file(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()

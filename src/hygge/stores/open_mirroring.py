"""Microsoft Fabric open mirroring: parquet change files in a landing zone (`_landing`).

Each entity is a table folder `<table>` or `<schema>.schema/<table>` of the landing zone.
A load stages its parquet files in a sibling folder `_<table>.hygge-<run id>` (Fabric skips
`_` names) and takes its sequence numbers only at publish, from the highest landed, so two
loads never draw the same ones.

- incremental and merge land upserts (marker 4, one row per key and run, as for a merge):
  the files are renamed to their final names inside the staging, the commit record (naming
  them) is written into the table folder, then each file moves in. A crash in between is
  rolled forward by `recover()`; nothing is ever rolled back, as Fabric may have read a
  published file already. A number is thus never skipped, reused or rewritten.
- full_drop rebuilds the table the way Fabric prescribes: the whole new folder (metadata,
  initial load without markers, record) is staged, the old folder deleted, then, after
  `drop_wait` seconds for Fabric to drop the table, the staging is renamed into its place.
  A staging holding a record is a publish under way: `recover()` finishes it.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import PurePosixPath
from typing import Annotated, ClassVar, Literal

import polars as pl
from pydantic import Field, field_validator

from hygge.config.models import RunType
from hygge.errors import StoreError
from hygge.failpoints import failpoint
from hygge.filesystem import FileSystem, real_path
from hygge.plugin import Commit, Context, Load, LoadRun, PluginConfig, Store
from hygge.stores._commits import last_commit, prune, read_records, write_record
from hygge.stores._file_schema import FolderSchema
from hygge.stores._landing import (
    UPSERT,
    data_name,
    highest_sequence,
    read_keys,
    refuse_columns,
    sequence_of,
    with_marker,
    without_marker,
    write_metadata,
)
from hygge.stores._mirror_keys import one_row_per_key
from hygge.stores.parquet import ParquetStoreConfig, ParquetWriter

log = logging.getLogger(__name__)
STAGING_MARK = ".hygge-"
_NAME = re.compile(r"^[^/\\_.][^/\\]*$")


def _folder_name(value: str | None) -> str | None:
    """A table or schema folder: Fabric skips `_` names, `.schema` marks a schema folder,
    and the staging mark would make one table's staging look like another's."""
    if value is None:
        return None
    if not _NAME.match(value) or value.endswith(".schema") or STAGING_MARK in value:
        raise ValueError(
            f"{value!r} cannot name a landing zone folder: no '/', no '_' or '.' first, no"
            f" '.schema' last and no {STAGING_MARK!r}"
        )
    return value


class OpenMirroringStoreConfig(PluginConfig):
    type: Literal["open_mirroring"] = "open_mirroring"
    path: str  # the landing zone
    table: str | None = None  # the entity's name when not given
    schema_name: str | None = Field(None, alias="schema")
    file_rows: Annotated[int, Field(gt=0)] = 1_000_000
    compression: Literal["snappy", "gzip", "zstd", "none"] = "snappy"
    drop_wait: Annotated[float, Field(ge=0)] = 60.0  # seconds Fabric gets to drop a table
    overwrite_foreign: bool = False  # may a full_drop replace a folder hygge did not write?

    _names = field_validator("table", "schema_name")(_folder_name)


class OpenMirroringStore(Store[OpenMirroringStoreConfig]):
    Config = OpenMirroringStoreConfig
    run_types: ClassVar[frozenset[RunType]] = frozenset({"full_drop", "incremental", "merge"})
    incremental_upserts: ClassVar[bool] = True

    def __init__(self, config: OpenMirroringStoreConfig, context: Context) -> None:
        super().__init__(config, context)
        self.landing = real_path(context.resolve(config.path).rstrip("/"))
        self.table = config.table or context.entity
        schema = f"{config.schema_name}.schema/" if config.schema_name else ""
        self.written = f"{context.resolve(config.path).rstrip('/')}/{schema}{self.table}"
        self.path = f"{self.landing}/{schema}{self.table}"
        self.fs = FileSystem(self.landing)
        self.address = f"{context.flow}.{context.entity}"

    def destination(self) -> str:
        return self.written

    def target(self) -> str:
        return self.path

    def preflight(self) -> list[str]:
        problem = self.fs.folder_problem(self.path)
        return [f"landing zone {self.landing}: {problem}"] if problem else []

    def check(self) -> list[str]:
        problem = self.fs.probe_writable(self.landing)
        return [f"landing zone {self.landing}: {problem}"] if problem else []

    def staging_path(self, run_id: str) -> str:
        folder = PurePosixPath(self.path)
        return str(folder.parent / f"_{folder.name}{STAGING_MARK}{run_id}")

    def recover(self) -> None:
        """Finish the publishes a crash cut short (change files: move the rest in; a
        rebuild: replace the table), then remove every other staging of this table."""
        try:
            for record in read_records(self.fs, self.path):
                staging = self.staging_path(record.commit.run_id)
                for name in record.files:
                    if self.fs.exists(f"{staging}/{name}"):
                        self.fs.move(f"{staging}/{name}", f"{self.path}/{name}")
            for staging in self._stagings():
                if read_records(self.fs, staging):
                    self.replace_table(staging, maybe_dropped=True)
        except OSError as exc:
            raise StoreError(
                f"cannot finish an earlier publish into {self.path}: {exc.strerror or exc}",
                hint="let the user running hygge write there; the next run finishes it",
            ) from exc
        for staging in self._stagings():
            self.remove_leftover(staging)

    def _stagings(self) -> list[str]:
        folder = PurePosixPath(self.path)
        prefix = f"_{folder.name}{STAGING_MARK}"
        names = self.fs.list_names(str(folder.parent))
        return [str(folder.parent / name) for name in names if name.startswith(prefix)]

    def replace_table(self, staging: str, maybe_dropped: bool = False) -> None:
        """Drop the table folder, give Fabric `drop_wait` to drop the table, then land the
        staged folder in its place: the pages' way to rebuild a mirrored table.
        `maybe_dropped`: a crashed run may have deleted the folder just now, so wait anyway."""
        dropped = self.fs.exists(self.path)
        if dropped:
            self.fs.remove_tree(self.path)
            failpoint("after_drop")
        if (dropped or maybe_dropped) and self.config.drop_wait:
            log.warning(
                "%s: waiting %g s (drop_wait) for Fabric to drop table %s before landing its"
                " new copy",
                self.address,
                self.config.drop_wait,
                self.path,
            )
            time.sleep(self.config.drop_wait)
        self.fs.makedirs(str(PurePosixPath(self.path).parent))
        self.fs.move(staging, self.path)

    def remove_leftover(self, path: str) -> None:
        try:
            self.fs.remove_leftover(path)
        except OSError as exc:
            log.warning("cannot remove %s, left by an earlier run: %s", path, exc)

    def last_commit(self) -> Commit | None:
        return last_commit(self.fs, self.path)

    def row_count(self) -> int | None:
        """The data rows of the files still in the landing zone (Fabric moves processed
        files away, so this may be fewer than the mirrored table holds)."""
        if not self.fs.exists(self.path):
            return None
        files = [f"{self.path}/{n}" for n in self.data_names()]
        try:
            return sum(int(pl.scan_parquet(f).select(pl.len()).collect().item()) for f in files)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise StoreError(f"cannot count the rows in {self.path}: {exc}") from exc

    def data_names(self) -> list[str]:
        return [n for n in self.fs.list_names(self.path) if sequence_of(n) is not None]

    def next_sequence(self) -> int:
        records = read_records(self.fs, self.path)
        return highest_sequence(self.fs.list_names(self.path), records) + 1

    def start(self, run: LoadRun) -> Load:
        refuse_columns(list(run.primary_key), f"the primary_key of {self.address}")
        if run.run_type == "full_drop":
            self._refuse_foreign()
        else:
            self._refuse_other_keys(run.primary_key)
        return MirrorLoad(self, run)

    def _refuse_other_keys(self, keys: tuple[str, ...]) -> None:
        """Fabric fixes a table's key columns once declared; only a rebuild changes them."""
        declared = read_keys(self.fs, self.path)
        if declared is None or declared == list(keys):
            return
        raise StoreError(
            f"the mirrored table {self.path} has key columns {declared} in its _metadata.json,"
            f" but the entity's primary_key is now {list(keys)}; Fabric cannot change them",
            hint=f"set primary_key back to {declared}, or rebuild the table with the new key"
            f" by one full_drop run: hygge go --entity {self.address}:d",
        )

    def _refuse_foreign(self) -> None:
        if self.config.overwrite_foreign or read_records(self.fs, self.path):
            return
        names = [n for n in self.fs.list_names(self.path) if n != "_hygge"]
        if names:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise StoreError(
                f"table folder {self.path} holds files hygge did not write ({shown});"
                " a full_drop would delete them",
                hint="point the store at another table, or set overwrite_foreign: true on"
                " the store to replace them",
            )


class MirrorLoad(Load):
    """One run's files, staged beside the table folder, then landed (module docstring)."""

    def __init__(self, store: OpenMirroringStore, run: LoadRun) -> None:
        self.store = store
        self.run = run
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
        if self.run.run_type == "full_drop":
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
        if self.run.run_type != "full_drop":
            frame = with_marker(frame, UPSERT)
        limit = self.store.config.file_rows
        try:
            while frame.height:
                writer = self.writer or self._next_file()
                room = limit - writer.rows
                writer.write(frame.head(room))
                frame = frame.slice(room)
                if writer.rows >= limit:
                    self._close_file()
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
            if self.run.run_type != "full_drop" and self.run.primary_key and parts:
                parts = one_row_per_key(self.fs, self.staging, parts, self.run, self.format)
            if self.run.run_type == "full_drop":
                self._rebuild(commit, parts)
            else:
                self._land_changes(commit, parts)
        except OSError as exc:
            raise StoreError(f"cannot publish to {self.store.path}: {exc}") from exc
        self.schema_changes = self.columns.changes()
        try:
            prune(self.fs, self.store.path)
        except OSError as exc:
            log.warning("cannot prune the commit records of %s: %s", self.store.path, exc)
        self.store.remove_leftover(self.staging)

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

    def _rebuild(self, commit: Commit, parts: list[str]) -> None:
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

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
- with `deletes`, a full_drop of an existing table lands as changes instead, deleting the
  keys gone since the last full read (`_mirror_deletes`).

The load itself is `_mirror_load.MirrorLoad`.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Annotated, ClassVar, Literal

import polars as pl
from pydantic import Field, field_validator

from hygge.clouds import LocationConfig
from hygge.config.models import RunType
from hygge.errors import ConfigError, StoreError
from hygge.failpoints import failpoint
from hygge.filesystem import FileSystem, real_path
from hygge.plugin import Commit, Context, Load, LoadRun, Store
from hygge.stores._commits import RECORDS_FOLDER, last_commit, read_records
from hygge.stores._landing import (
    PARTNER_EVENTS,
    column_problem,
    highest_sequence,
    read_keys,
    refuse_columns,
    sequence_of,
    write_partner_events,
)
from hygge.stores._mirror_deletes import move_keys_in
from hygge.stores._mirror_load import MirrorLoad

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


class OpenMirroringStoreConfig(LocationConfig):
    type: Literal["open_mirroring"] = "open_mirroring"
    path: str
    """The mirrored database's landing zone (folder or URL)."""
    table: str | None = None
    """The table's folder in the landing zone; none: the entity's name."""
    schema_name: str | None = Field(None, alias="schema")
    """The schema folder the table lies in; none: the default schema."""
    file_rows: Annotated[int, Field(gt=0)] = 1_000_000
    """Rows per file at most."""
    compression: Literal["snappy", "gzip", "zstd", "none"] = "snappy"
    """The codec of the parquet files."""
    drop_wait: Annotated[float, Field(ge=0)] = 60.0
    """Seconds Fabric gets to drop a table before a full_drop lands the new one."""
    overwrite_foreign: bool = False
    """May a `full_drop` replace a folder hygge did not write."""
    deletes: bool = False
    """Land deletes of rows gone since the last full read."""
    source_type: str = "hygge"
    """The kind of source `_partnerEvents.json` names, e.g. SQL Server."""

    _names = field_validator("table", "schema_name")(_folder_name)


class OpenMirroringStore(Store[OpenMirroringStoreConfig]):
    Config = OpenMirroringStoreConfig
    run_types: ClassVar[frozenset[RunType]] = frozenset({"full_drop", "incremental", "merge"})
    incremental_upserts: ClassVar[bool] = True
    refuses_names: ClassVar[bool] = True

    def __init__(self, config: OpenMirroringStoreConfig, context: Context) -> None:
        super().__init__(config, context)
        self.landing = real_path(context.resolve(config.path).rstrip("/"))
        self.table = config.table or context.entity
        if self.table.startswith("_"):  # an entity's name; a `table` was validated
            raise ConfigError(
                f"{context.flow}.{context.entity}: Fabric ignores a table folder whose name"
                f" starts with '_', as {self.table!r} does",
                hint="give the store a table: name that starts with a letter or digit",
            )
        schema = f"{config.schema_name}.schema/" if config.schema_name else ""
        self.written = f"{context.resolve(config.path).rstrip('/')}/{schema}{self.table}"
        self.path = f"{self.landing}/{schema}{self.table}"
        self.fs = FileSystem(self.landing, config.credentials)
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

    def column_problem(self, name: str) -> str | None:
        problem = column_problem(name)
        return None if problem is None else f"column {name!r} cannot be mirrored: {problem}"

    def staging_path(self, run_id: str) -> str:
        parent, _, name = self.path.rpartition("/")  # a URL's `//` kept, as Path would not
        return f"{parent}/_{name}{STAGING_MARK}{run_id}"

    def recover(self) -> None:
        """Finish the publishes a crash cut short (change files: move the rest in; a
        rebuild: replace the table), then remove every other staging of this table."""
        try:
            for record in read_records(self.fs, self.path):
                staging = self.staging_path(record.commit.run_id)
                for name in record.files:
                    if self.fs.exists(f"{staging}/{name}"):
                        self.fs.move(f"{staging}/{name}", f"{self.path}/{name}")
                if self.fs.exists(staging):
                    move_keys_in(self.fs, staging, self.path)
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
        parent, _, name = self.path.rpartition("/")
        prefix = f"_{name}{STAGING_MARK}"
        return [f"{parent}/{n}" for n in self.fs.list_names(parent) if n.startswith(prefix)]

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
        self.fs.makedirs(self.path.rpartition("/")[0])
        self.fs.move_folder(staging, self.path, deleted_first=RECORDS_FOLDER)

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
            scans = (pl.scan_parquet(f, storage_options=self.fs.scan_options) for f in files)
            return sum(int(scan.select(pl.len()).collect().item()) for scan in scans)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise StoreError(f"cannot count the rows in {self.path}: {exc}") from exc

    def data_names(self) -> list[str]:
        return [n for n in self.fs.list_names(self.path) if sequence_of(n) is not None]

    def next_sequence(self) -> int:
        records = read_records(self.fs, self.path)
        return highest_sequence(self.fs.list_names(self.path), records) + 1

    def start(self, run: LoadRun) -> Load:
        """A load landing changes, or (a full_drop, unless `deletes` and a table to compare
        with) a rebuild of the table."""
        refuse_columns(list(run.primary_key), f"the primary_key of {self.address}")
        if self.config.deletes and not run.primary_key:
            raise StoreError(
                f"the store of {self.address} lands deletes (deletes: true), which Fabric"
                " matches by key, but the entity has no primary_key",
                hint="set primary_key on the entity, or remove deletes from the store",
            )
        try:
            write_partner_events(self.fs, self.landing, self.config.source_type)
        except OSError as exc:
            raise StoreError(f"cannot write {self.landing}/{PARTNER_EVENTS}: {exc}") from exc
        changes = run.run_type != "full_drop" or (self.config.deletes and self.fs.exists(self.path))
        if changes:
            self._refuse_other_keys(run.primary_key)
        else:
            self._refuse_foreign()
        return MirrorLoad(self, run, changes)

    def _refuse_other_keys(self, keys: tuple[str, ...]) -> None:
        """Fabric fixes a table's key columns once declared; only a rebuild changes them."""
        declared = read_keys(self.fs, self.path)
        if declared is None or declared == list(keys):
            return
        raise StoreError(
            f"the mirrored table {self.path} has key columns {declared} in its _metadata.json,"
            f" but the entity's primary_key is now {list(keys)}; Fabric cannot change them",
            hint=f"set primary_key back to {declared}, or rebuild the table with the new key"
            f" by one full_drop run: hygge go --entity {self.address}:d{self._rebuilding()}",
        )

    def _rebuilding(self) -> str:
        """What a full_drop run needs to rebuild: with deletes it lands changes instead."""
        if not self.config.deletes:
            return ""
        return f" --var flow.{self.context.flow}.store.deletes=false"

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

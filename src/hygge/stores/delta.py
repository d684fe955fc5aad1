"""A Delta Lake table as a store, written by delta-rs (`deltalake`): local or object storage.

A load stages its batches as uncompressed Arrow IPC files in a local folder (beside a local
table, in the system's temp folder for a URL), so memory holds one batch whatever the table's
size and a load that aborts leaves the table untouched.
(delta-rs can write a commit only together with its data files, and hygge's record is known
only once every row is read: so the rows wait on disk, costing their size there.)
Publishing streams the staged files into ONE Delta commit, which also carries hygge's record
(`_delta_record`):
- full_drop: an overwrite (the new columns replace the old; readers see one version or the
  other, never a mix);
- incremental: an append (with the source's new columns added to the table's);
- merge: a Delta MERGE on `primary_key`, one row per key (`_delta_frames.newest_per_key`).
A crash before the commit leaves at most data files no commit names (Delta readers never see
them; `VACUUM` removes them), and the staging, which `recover()` removes. Batches are first
held to Delta's types (`_delta_frames.delta_frame`) and to the table's columns
(`_file_schema.FolderSchema`: new ones added and reported, a type that does not convert
exactly fails naming the column). A commit that conflicts with another writer is retried
(the entity's `retries`); two hygge runs never write one table at once (the destination lock).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError
from pydantic import Field

from hygge.clouds import LocationConfig, cloud_of
from hygge.config.models import RunType
from hygge.errors import RetryableError, StoreError
from hygge.failpoints import failpoint
from hygge.filesystem import FileSystem, location_identity, real_path
from hygge.plugin import Commit, Context, LandedColumn, Load, LoadRun, Store
from hygge.stores import _delta_record as record
from hygge.stores._delta_frames import delta_frame, newest_per_key, staged_stream
from hygge.stores._delta_rows import committed_rows
from hygge.stores._file_schema import FolderSchema, landed_in

STAGING_MARK = ".hygge-"
log = logging.getLogger(__name__)


class DeltaStoreConfig(LocationConfig):
    type: Literal["delta"] = "delta"
    path: str
    """The table's folder or URL (`s3://`, `abfss://`, ...)."""
    storage_options: dict[str, str] = {}
    """delta-rs's own options, over the credentials of `connection`."""
    partition_by: tuple[str, ...] = ()
    """Columns a new table (or a full_drop) is partitioned by."""
    target_file_size: Annotated[int | None, Field(gt=0)] = None
    """Bytes per data file; none: delta-rs's default."""
    optimize: bool = False
    """Compact small files after each run."""
    vacuum: bool = False
    """Remove files no version within the retention needs, after each run."""


def storage_options(config: DeltaStoreConfig, path: str) -> dict[str, str] | None:
    """delta-rs's options for path: the cloud connection's credentials (delta-rs and Polars
    share the Rust object_store's option names), then `storage_options` as written."""
    cloud = cloud_of(path)
    given = cloud.polars_options(config.credentials, path) if cloud else None
    return {**(given or {}), **config.storage_options} or None


class DeltaStore(Store[DeltaStoreConfig]):
    Config = DeltaStoreConfig
    run_types: ClassVar[frozenset[RunType]] = frozenset({"full_drop", "incremental", "merge"})
    folder_per_entity = True

    def __init__(self, config: DeltaStoreConfig, context: Context) -> None:
        super().__init__(config, context)
        self.written = context.resolve(config.path).rstrip("/")
        self.path = real_path(self.written)
        self.options = storage_options(config, self.path)
        self.local = "://" not in self.path

    def destination(self) -> str:
        return self.written

    def target(self) -> str:
        return location_identity(self.path, self.config.credentials)

    def preflight(self) -> list[str]:
        problem = FileSystem(self.path).folder_problem(self.path) if self.local else None
        return [f"store path {self.path}: {problem}"] if problem else []

    def check(self) -> list[str]:
        """A local folder must take files; a remote table must answer (its log is read)."""
        if self.local:
            problem = FileSystem(self.path).probe_writable(self.path)
            return [f"store path {self.path}: {problem}"] if problem else []
        try:
            self.table()
        except StoreError as exc:
            return [exc.message]
        return []

    def table(self) -> DeltaTable | None:
        """The table as it is now; None when there is none yet."""
        with self.errors("read"):
            if not DeltaTable.is_deltatable(self.path, self.options):
                return None
            return DeltaTable(self.path, storage_options=self.options)

    def staging_root(self) -> Path:
        """Where this table's loads stage: beside a local table, in the temp folder for a URL."""
        if self.local:
            folder = Path(self.path)
            return folder.parent / f".{folder.name}{STAGING_MARK}"
        digest = hashlib.sha256(self.path.encode()).hexdigest()[:32]
        return Path(tempfile.gettempdir()) / "hygge-delta" / f"{digest}{STAGING_MARK}"

    def staging_path(self, run_id: str) -> Path:
        root = self.staging_root()
        return root.parent / f"{root.name}{run_id}"

    def recover(self) -> None:
        """A crashed load left its staging (the table holds no part of it): removed."""
        root = self.staging_root()
        if root.parent.is_dir():
            for leftover in root.parent.glob(f"{root.name}*"):
                shutil.rmtree(leftover, ignore_errors=True)

    def last_commit(self) -> Commit | None:
        with self.errors("read"):
            return record.last_commit(self.table())

    def landed_columns(self, incoming: pl.Schema) -> list[LandedColumn] | None:
        table = self.table()
        return [] if table is None else landed_in(_polars_schema(table), incoming)

    def row_count(self) -> int | None:
        table = self.table()
        if table is None:
            return None
        with self.errors("count the rows of"):
            return table.count()

    def start(self, run: LoadRun) -> Load:
        if run.run_type == "merge" and not run.primary_key:
            raise StoreError(
                f"a merge into {self.path} needs a primary_key",
                hint="set primary_key on the entity",
            )
        awkward = [key for key in run.primary_key if "`" in key]
        if run.run_type == "merge" and awkward:
            raise StoreError(
                f"cannot merge into {self.path} on {awkward[0]!r}: delta-rs cannot name a"
                " column holding a backtick in a merge's condition",
                hint="rename the column in the source, or load it with incremental or full_drop",
            )
        return DeltaLoad(self, run)

    @contextlib.contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """The one place delta-rs errors become hygge errors: a commit that lost to another
        writer's is transient (the flow retries), the rest fail the load."""
        try:
            yield
        except CommitFailedError as exc:
            raise RetryableError(
                f"another writer committed to {self.path} meanwhile: {_first_line(exc)}",
                hint="hygge retries the load (the entity's retries); stop the other writer"
                " if it keeps happening",
            ) from exc
        except (DeltaError, pa.ArrowException, OSError) as exc:
            raise StoreError(f"cannot {doing} {self.path}: {_first_line(exc)}") from exc
        except Exception as exc:  # delta-rs raises bare Exceptions for some arrow errors
            if type(exc) is not Exception:
                raise
            raise StoreError(f"cannot {doing} {self.path}: {_first_line(exc)}") from exc


class DeltaLoad(Load):
    """One run's rows: staged in local files, then published in one Delta commit."""

    def __init__(self, store: DeltaStore, run: LoadRun) -> None:
        self.store = store
        self.run = run
        self.where = f"{store.context.flow}.{store.context.entity}"
        table = None if run.run_type == "full_drop" else store.table()
        published = None if table is None else _polars_schema(table)
        self.columns = FolderSchema(published, store.path, self.where, "Delta table")
        self.staging = store.staging_path(run.run_id)
        self.files: list[Path] = []
        self.rows = 0  # rows staged
        self.older = 0  # rows a merge left out, an older row of a key repeated in the load
        try:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging.mkdir(parents=True)
        except OSError as exc:
            raise StoreError(f"cannot stage in {self.staging}: {exc.strerror or exc}") from exc

    def write(self, frame: pl.DataFrame) -> None:
        frame, _ = self.columns.admit(delta_frame(frame, self.where))
        file = self.staging / f"{len(self.files):06d}.arrow"
        try:
            frame.write_ipc(file, compression="uncompressed")  # cheaper than a codec (bench)
        except OSError as exc:
            raise StoreError(f"cannot stage in {self.staging}: {exc.strerror or exc}") from exc
        self.files.append(file)
        self.rows += frame.height

    def publish(self, commit: Commit) -> None:
        store = self.store
        table = store.table()
        schema = self.columns.after or (None if table is None else _polars_schema(table))
        if schema is None:  # no rows, no table: Delta cannot make a table of no columns
            log.info("%s: no rows and no table %s yet: nothing to publish", self.where, store.path)
            self.abort()
            return
        missing = [c for c in (*store.config.partition_by, *self._keys()) if c not in schema]
        if missing:
            raise StoreError(
                f"the rows for {store.path} have no column {missing[0]!r}",
                hint="name columns of the source in partition_by and primary_key",
            )
        properties = record.commit_properties(table, commit)
        with store.errors("publish to"):
            if self.run.run_type == "merge" and table is not None and self.files:
                self._merge(table, schema, properties)
            else:
                self._write(table, schema, properties)
        self.schema_changes = self.columns.changes()
        self.abort()
        self._reconcile(commit.run_id)
        self._tend()

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def _write(
        self, table: DeltaTable | None, schema: pl.Schema, properties: CommitProperties
    ) -> None:
        """One overwrite or append commit; a first merge creates the table with its rows, a
        merge of no rows appends none (its commit still carries the record)."""
        config = self.store.config
        full = self.run.run_type == "full_drop"
        rows = self._newest_rows(schema) if self.run.run_type == "merge" else None
        write_deltalake(
            table if table is not None else self.store.path,
            rows.to_arrow() if rows is not None else self._stream(schema),
            mode="overwrite" if full else "append",
            schema_mode="overwrite" if full else "merge",
            partition_by=list(config.partition_by) or None,
            target_file_size=config.target_file_size,
            storage_options=self.store.options,
            commit_properties=properties,
        )

    def _merge(self, table: DeltaTable, schema: pl.Schema, properties: CommitProperties) -> None:
        """One MERGE: the staged rows update the table's rows of their key, the rest insert."""
        rows = self._newest_rows(schema)
        on = " AND ".join(f"t.{_quoted(k)} = s.{_quoted(k)}" for k in self.run.primary_key)
        merger = table.merge(
            rows.to_arrow() if rows is not None else self._stream(schema),
            predicate=on,
            source_alias="s",
            target_alias="t",
            merge_schema=True,
            commit_properties=properties,
        )
        merger.when_matched_update_all().when_not_matched_insert_all().execute()

    def _reconcile(self, run_id: str) -> None:
        """`published_rows`: what the commit's log entry says it delivered, with the older
        rows of a repeated key a merge left out on purpose (`_delta_rows`)."""
        with self.store.errors("read back the commit of"):
            delivered = committed_rows(self.store.path, self.store.options, run_id)
        self.published_rows = None if delivered is None else delivered + self.older

    def _keys(self) -> tuple[str, ...]:
        return self.run.primary_key if self.run.run_type == "merge" else ()

    def _newest_rows(self, schema: pl.Schema) -> pl.DataFrame | None:
        """The staged rows with one per key, when a key repeats (None: they are as staged)."""
        if not self.files:
            return None
        rows = newest_per_key(self.files, schema, self.run.primary_key, self.run.version)
        self.older = 0 if rows is None else self.rows - rows.height
        return rows

    def _stream(self, schema: pl.Schema) -> pa.RecordBatchReader:
        return staged_stream(self.files, schema, lambda: failpoint("mid_publish"))

    def _tend(self) -> None:
        """The optional upkeep after a publish; failing it fails nothing (the rows are in)."""
        config = self.store.config
        if not (config.optimize or config.vacuum):
            return
        try:
            table = DeltaTable(self.store.path, storage_options=self.store.options)
            if config.optimize:
                table.optimize.compact(target_size=config.target_file_size)
            if config.vacuum:
                table.vacuum(dry_run=False)
        except (DeltaError, OSError) as exc:
            log.warning("%s: cannot tend %s: %s", self.where, self.store.path, exc)


def _polars_schema(table: DeltaTable) -> pl.Schema:
    return pl.DataFrame(table.schema().to_arrow().empty_table()).schema


def _quoted(name: str) -> str:
    """A column name in delta-rs's predicates: in backticks (never inside: refused at start)."""
    return f"`{name}`"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__

"""What every file store shares: one folder per entity, staged writes, atomic publish.

A load writes into a hidden sibling folder `.<name>.hygge-<run_id>`. Publishing a
full_drop swaps that folder (commit record included) with the destination in one
rename. An incremental load first writes its commit record, naming its files, into the
destination, then moves the files in; a crash in between is rolled forward by the next
run's recover(), and a move that fails is rolled back (files out, record removed), so a
record only ever stands for a publish that happened or will be finished. Files are named by
run id and sequence number (none overwrites another's); batches obey `_file_schema`.

Before a load starts, the store refuses what it could not finish or should not do: a
destination whose folders it cannot change, and a full_drop over a folder of files that
hygge never published to (someone else's), unless `overwrite_foreign` says so.
"""

from __future__ import annotations

import contextlib
import logging
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Annotated, Any, ClassVar, TypeVar

import polars as pl
from pydantic import Field

from hygge.clouds import LocationConfig
from hygge.config.models import RunType
from hygge.errors import SourceError, StoreError
from hygge.failpoints import failpoint
from hygge.filesystem import FileSystem, location_identity, real_path
from hygge.plugin import Commit, Context, LandedColumn, Load, LoadRun, Store, WholeFile
from hygge.stores import _object_swap
from hygge.stores._commits import (
    RECORDS,
    RECORDS_FOLDER,
    Record,
    drop_record,
    last_commit,
    prune,
    read_records,
    write_record,
)
from hygge.stores._file_schema import FolderSchema, folder_landing
from hygge.stores._whole_files import copy, refusal

STAGING_MARK = ".hygge-"
log = logging.getLogger(__name__)


class FileStoreConfig(LocationConfig):
    path: str
    """The entity's folder (in a flow of entities, without `{entity}` in it, the entity's
    name is appended); relative to the project folder, or an `s3://`, `az://` or `abfss://` URL."""
    file_rows: Annotated[int, Field(gt=0)] = 1_000_000
    """Rows per file at most."""
    overwrite_foreign: bool = False
    """May a `full_drop` replace a folder of files hygge did not write."""


class FileWriter:
    """Writes frames into one open file of a given format."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.rows = 0

    @abstractmethod
    def write(self, frame: pl.DataFrame) -> None: ...

    def close(self) -> None:
        self.handle.close()


def fill_files(
    frame: pl.DataFrame, limit: int, current: Callable[[], FileWriter], close: Callable[[], None]
) -> None:
    """Write frame into files of at most `limit` rows: `current()` is the open file (a new one
    when none is open), `close()` ends it once full."""
    while frame.height:
        writer = current()
        room = limit - writer.rows
        writer.write(frame.head(room))
        frame = frame.slice(room)
        if writer.rows >= limit:
            close()


FileStoreConfigT = TypeVar("FileStoreConfigT", bound=FileStoreConfig)


class FileStore(Store[FileStoreConfigT]):
    """A store writing one folder of files per entity."""

    run_types: ClassVar[frozenset[RunType]] = frozenset({"full_drop", "incremental"})
    folder_per_entity = True
    extension: ClassVar[str]

    def __init__(self, config: FileStoreConfigT, context: Context) -> None:
        super().__init__(config, context)
        self.written = context.resolve(config.path).rstrip("/")
        # Work where the folder really is: the publish's swap of a symlink (or of a folder
        # reached through one) would replace the link and leave its data behind.
        self.path = real_path(self.written)
        self.fs = FileSystem(self.path, config.credentials)

    def destination(self) -> str:
        return self.written

    def target(self) -> str:
        return location_identity(self.path, self.config.credentials)

    def preflight(self) -> list[str]:
        if not self.fs.is_local and "/" not in self.path.partition("://")[2]:
            return [
                f"store path {self.path} is a whole bucket or container: name a folder in it"
                f" (e.g. {self.path}/{self.context.entity}), which its staging sits beside"
            ]
        problem = self.fs.folder_problem(self.path)
        return [f"store path {self.path}: {problem}"] if problem else []

    def check(self) -> list[str]:
        problem = self.fs.probe_writable(self.path)
        return [f"store path {self.path}: {problem}"] if problem else []

    def staging_path(self, run_id: str) -> str:
        parent, name = self._parent_and_name()
        return f"{parent}/.{name}{STAGING_MARK}{run_id}"

    def _parent_and_name(self) -> tuple[str, str]:
        """The folder holding the destination, and its name (URLs keep their `//`)."""
        parent, _, name = self.path.rpartition("/")
        return parent or "/", name

    def recover(self) -> None:
        """Finish the incremental publishes a crash (or a failed roll-back) left half-done,
        then drop all staging. A publish that cannot be finished fails the entity, its
        staging kept; other leftovers that cannot be removed are only warned about."""
        with self.reaching():
            self._recover()

    def _recover(self) -> None:
        if self.fs.restore_swapped(self.path):
            log.warning("%s: put back the copy a crashed full_drop had moved aside", self.path)
        for record in read_records(self.fs, self.path):
            staging = self.staging_path(record.commit.run_id)
            try:
                if record.replacing:
                    _object_swap.finish(self.fs, self.path, staging, record)
                for name in record.files:
                    if self.fs.exists(f"{staging}/{name}"):
                        self.fs.move(f"{staging}/{name}", f"{self.path}/{name}")
            except OSError as exc:
                raise StoreError(
                    f"cannot finish publishing run {record.commit.run_id} into {self.path}:"
                    f" {exc.strerror or exc}",
                    hint="let the user running hygge write there; the next run finishes it",
                ) from exc
        parent, name = self._parent_and_name()
        prefix = f".{name}{STAGING_MARK}"
        for found in self.fs.list_names(parent):
            if found.startswith(prefix):
                self.remove_leftover(f"{parent}/{found}")

    def remove_leftover(self, path: str) -> None:
        try:
            self.fs.remove_leftover(path)
        except OSError as exc:
            log.warning("cannot remove %s, left by an earlier run: %s", path, exc)

    def last_commit(self) -> Commit | None:
        with self.reaching():
            return last_commit(self.fs, self.path)

    @contextlib.contextmanager
    def reaching(self) -> Iterator[None]:
        """An error reaching the destination at all (a refused credential, a missing
        bucket, a folder hygge may not read) fails the entity naming the destination."""
        try:
            yield
        except OSError as exc:
            raise StoreError(
                f"cannot reach {self.path}: {exc.strerror or exc}",
                hint="check that it exists and that hygge's user or credentials may read and"
                " write it",
            ) from exc

    def landed_columns(self, incoming: pl.Schema) -> list[LandedColumn] | None:
        with self.reaching():
            return folder_landing(self.fs, self.path, incoming)

    def row_count(self) -> int | None:
        if not self.fs.exists(self.path):
            return None
        try:
            files = self.fs.data_files(self.path, (f".{self.extension}",))
            return self.count_rows(files) if files else 0
        except (pl.exceptions.PolarsError, OSError, SourceError) as exc:
            raise StoreError(f"cannot count the rows in {self.path}: {exc}") from exc

    def start(self, run: LoadRun) -> Load:
        with self.reaching():
            self._refuse_unchangeable(run.run_type)
            if run.run_type == "full_drop":
                self._refuse_foreign()
        return FileLoad(self, run)

    def _refuse_unchangeable(self, run_type: RunType) -> None:
        """A folder hygge cannot change would fail the publish half-way: a full_drop must
        remove the whole old copy after swapping it out, an incremental load adds files and
        a record. Found before a row is read, the destination stays as it is."""
        if run_type == "full_drop":
            folders = [self.path, *self.fs.folders_below(self.path)]
        else:
            folders = [self.path, f"{self.path}/{RECORDS_FOLDER}", f"{self.path}/{RECORDS}"]
        folder = self.fs.unchangeable(folders)
        if folder is not None:
            raise StoreError(
                f"cannot {run_type} into {self.path}: {folder} is not writable",
                hint="let the user running hygge write there (e.g. chmod u+w), or point the"
                " store at another folder",
            )

    def _refuse_foreign(self) -> None:
        """A folder with files but no record of a hygge load holds someone else's files,
        which a full_drop's swap would delete."""
        if self.config.overwrite_foreign or read_records(self.fs, self.path):
            return
        names = self.fs.some_files(self.path, limit=4, skip=RECORDS_FOLDER)
        if names:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise StoreError(
                f"store path {self.path} holds files hygge did not write ({shown});"
                " a full_drop would delete them",
                hint="point the store at a folder of its own, or set overwrite_foreign: true"
                " on the store to replace them",
            )

    @abstractmethod
    def open_writer(self, handle: IO[bytes]) -> FileWriter:
        """A writer for one new file of this store's format."""

    def whole_codecs(self) -> frozenset[str] | None:
        """The codecs of files of this store's format that a load copies whole instead of
        re-encoding their rows (`FileLoad.copy_in`); None: it copies none."""
        return None

    @abstractmethod
    def count_rows(self, files: list[str]) -> int:
        """The rows in files of this store's format, read as cheaply as the format allows."""


class FileLoad(Load):
    """One run's files: staged, then published all together."""

    def __init__(self, store: FileStore[Any], run: LoadRun) -> None:
        self.store = store
        self.run = run
        self.fs = store.fs
        self.staging = store.staging_path(run.run_id)
        self.files = 0
        self.writer: FileWriter | None = None
        self.keep_staging = False  # a record names its files: the next run finishes the publish
        self.retried_before = self.fs.retried_requests()
        address = f"{store.context.flow}.{store.context.entity}"
        self.columns = FolderSchema.of(self.fs, store.path, run, address)
        self.whole_format = store.extension if store.whole_codecs() is not None else None
        try:
            self.fs.remove_tree(self.staging)
            self.fs.makedirs(self.staging)
        except OSError as exc:
            raise StoreError(f"cannot stage in {self.staging}: {exc.strerror or exc}") from exc

    def write(self, frame: pl.DataFrame) -> None:
        limit = self.store.config.file_rows
        frame, changed = self.columns.admit(frame)  # the folder's columns, or a StoreError
        if changed:
            self._close_file()  # a file's columns are its first batch's
        try:
            fill_files(frame, limit, lambda: self.writer or self._next_file(), self._close_file)
        except OSError as exc:
            raise StoreError(f"cannot write to {self.staging}: {exc.strerror or exc}") from exc

    def refuse_whole(self, files: Sequence[WholeFile]) -> str | None:
        codecs = self.store.whole_codecs() or frozenset()
        return refusal(files, codecs, self.store.config.file_rows, self.columns)

    def copy_in(self, file: WholeFile) -> None:
        """One file of the load, its bytes those of file (a file of no rows is left out, as
        a read of it would write nothing)."""
        if not file.rows:
            return
        self._close_file()
        try:
            copy(file, self.fs, f"{self.staging}/{self._next_name()}")
        except OSError as exc:
            message = f"cannot copy {file.path} to {self.staging}: {exc.strerror or exc}"
            raise StoreError(message) from exc

    def publish(self, commit: Commit) -> None:
        self._close_file()
        try:
            files = self.fs.list_names(self.staging)
            self.published_rows = self._rows_in(files)
            if self.run.run_type == "full_drop" and not self.fs.is_local:
                self._replace_objects(Record(commit, tuple(files), self.columns.after))
            elif self.run.run_type == "full_drop":
                write_record(self.fs, self.staging, commit, files, self.columns.after)
                self.fs.exchange(self.staging, self.store.path)
                failpoint("after_swap")
            else:
                self._move_files_in(commit, files)
        except OSError as exc:
            raise StoreError(f"cannot publish to {self.store.path}: {exc}") from exc
        self.schema_changes = self.columns.changes()
        self._tidy()
        retried = self.fs.retried_requests() - self.retried_before
        if retried:
            self.notes = (
                f"{retried} requests to {self.store.path} were throttled or met a server"
                " error, and succeeded when retried",
            )

    def _rows_in(self, files: list[str]) -> int:
        """`published_rows`: the rows the staged files hold, read back as a reader will
        (parquet from its footers), file by file (a column added mid-run makes their columns
        differ); a file that cannot be read back stops the publish."""
        try:
            return sum(self.store.count_rows([f"{self.staging}/{name}"]) for name in files)
        except pl.exceptions.PolarsError as exc:
            detail = str(exc).strip().splitlines()[0]
            message = f"a file staged for {self.store.path} cannot be read back: {detail}"
            raise StoreError(message) from exc

    def abort(self) -> None:
        try:
            self._close_file()
        finally:
            if not self.keep_staging:
                self.store.remove_leftover(self.staging)

    def _tidy(self) -> None:
        """After a publish: old records and the staging (a full_drop's old copy) go. Failing
        that is no failure: the data is published, the next run's recover tries again."""
        try:
            prune(self.fs, self.store.path)
        except OSError as exc:
            log.warning("cannot prune the commit records of %s: %s", self.store.path, exc)
        self.store.remove_leftover(self.staging)

    def _next_file(self) -> FileWriter:
        name = self._next_name()
        self.writer = self.store.open_writer(self.fs.open_write(f"{self.staging}/{name}"))
        return self.writer

    def _next_name(self) -> str:
        self.files += 1
        return f"{self.run.run_id}-{self.files:05d}.{self.store.extension}"

    def _close_file(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()

    def _replace_objects(self, record: Record) -> None:
        """A full_drop on object storage (`_object_swap`): once its record is in, a failure
        leaves record and staging for the next run's recover() to finish."""
        self.keep_staging = True
        try:
            _object_swap.replace(self.fs, self.store.path, self.staging, record)
        except OSError as exc:
            raise StoreError(
                f"cannot publish to {self.store.path}: {exc}; the next run finishes or"
                " undoes the replacement",
                hint="let the credential hygge uses write and delete there",
            ) from exc

    def _move_files_in(self, commit: Commit, files: list[str]) -> None:
        """Record first, then move: the record makes a move cut by a crash finishable. A move
        that fails is rolled back; if even that fails, the staging stays for the next run."""
        write_record(self.fs, self.store.path, commit, files, self.columns.after)
        moved: list[str] = []
        try:
            for name in files:
                self.fs.move(f"{self.staging}/{name}", f"{self.store.path}/{name}")
                moved.append(name)
                failpoint("mid_publish")
        except OSError as exc:
            try:
                for name in reversed(moved):
                    self.fs.move(f"{self.store.path}/{name}", f"{self.staging}/{name}")
                drop_record(self.fs, self.store.path, commit.run_id)
            except OSError:
                self.keep_staging = True
                raise StoreError(
                    f"cannot publish to {self.store.path}: {exc}; it is half done, and"
                    " the next run finishes it",
                    hint="let the user running hygge write there",
                ) from exc
            raise

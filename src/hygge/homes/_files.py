"""What every file home shares: resolving the path, listing files, windowed batches."""

from __future__ import annotations

import contextlib
import logging
import os
from abc import abstractmethod
from collections.abc import Generator, Iterator
from typing import Any, ClassVar, TypeVar

import polars as pl

from hygge.clouds import LocationConfig
from hygge.errors import ConfigError, HyggeError, SourceError
from hygge.filesystem import GLOB_CHARS, FileSystem, glob_base, location_identity
from hygge.homes._shape import ShapeConfig, Shaper
from hygge.plugin import Context, Home, Window
from hygge.watermark import Mark

log = logging.getLogger(__name__)


class FileHomeConfig(LocationConfig, ShapeConfig):
    new_files_only: bool = False
    """Read only files new or changed since the last run (a landing folder); runs
    incrementally with no watermark."""
    source_file: str | None = None
    """A column to add naming the file each row came from, relative to `path`."""


FileHomeConfigT = TypeVar("FileHomeConfigT", bound=FileHomeConfig)


class FileHome(Home[FileHomeConfigT]):
    """A home reading files of one format through a Polars lazy scan, in batches."""

    suffixes: ClassVar[tuple[str, ...]]
    folder_per_entity = True
    entity_keys = ("path",)

    def __init__(self, config: FileHomeConfigT, context: Context) -> None:
        super().__init__(config, context)
        self.path = context.resolve(config.path)
        self.fs = FileSystem(self.path, config.credentials)
        self.shaper = Shaper(config, f"{context.flow}.{context.entity}")
        self._chosen: list[str] | None = None  # the columns read, once checked

    @property
    def reshapes(self) -> bool:
        """Do `columns`, `exclude_columns`, `cast` or `source_file` change what files give?"""
        return self.shaper.narrows or bool(self.shaper.types) or bool(self.config.source_file)

    def scan_options(self) -> dict[str, Any]:
        """Options every scan takes: the storage's, and the column of each row's file."""
        return {"storage_options": self.fs.scan_options, **self._paths()}

    def _paths(self) -> dict[str, Any]:
        return {"include_file_paths": _FILE} if self.config.source_file else {}

    def describe(self) -> str:
        return self.path

    def origin(self) -> str:
        """The file or folder read (a glob's fixed folder), as it really is."""
        read = glob_base(self.path) if _is_glob(self.path) else self.path
        return location_identity(read, self.config.credentials)

    def preflight(self) -> list[str]:
        """Cheap checks made before a run starts: a local path must exist. Object storage
        is not reached before the run (or `hygge debug`) reads."""
        return self._missing() if self.fs.is_local else []

    def _missing(self) -> list[str]:
        anchor = glob_base(self.path) if _is_glob(self.path) else self.path
        if not self.fs.exists(anchor):
            return [f"home path {self.path} does not exist{self._why_missing()}"]
        return []

    def _why_missing(self) -> str:
        """A missing `<folder>/<entity>` is most likely a flow.yml folder made per entity."""
        folder, _, name = self.path.rstrip("/").rpartition("/")
        if name != self.context.entity or not self.fs.exists(folder):
            return ""
        return (
            f" (in a flow that declares entities, a home folder written in flow.yml holds one"
            f" sub-folder per entity; to read {folder} itself, give the entity its own home.path)"
        )

    def check(self) -> list[str]:
        try:
            with self._reaching():
                problems = self._missing()
                if problems:
                    return problems
                files = self.fs.data_files(self.path, self.suffixes)
        except SourceError as exc:
            return [exc.message]
        for file in files:
            try:
                with self.fs.fs.open(file, "rb") as handle:
                    handle.read(1)
            except OSError as exc:
                problems.append(f"cannot read {file}: {exc.strerror or exc}")
        return problems

    @property
    def new_files_only(self) -> bool:
        return self.config.new_files_only

    def listing(self) -> pl.DataFrame:
        with self._reaching():
            found = self.fs.listing(self.path, self.suffixes)
        return pl.DataFrame(
            found,
            schema={"path": pl.String, "size": pl.Int64, "modified_ns": pl.Int64},
            orient="row",
        )

    def files(self) -> list[str]:
        """The data files the path names now (one listing)."""
        with self._reaching():
            return self.fs.data_files(self.path, self.suffixes)

    @contextlib.contextmanager
    def _reaching(self) -> Iterator[None]:
        """A listing that fails (a refused credential, a missing bucket) names the path."""
        try:
            yield
        except OSError as exc:
            raise SourceError(
                f"cannot list {self.path}: {exc.strerror or exc}",
                hint="check that it exists and that hygge's user or credentials may read it",
            ) from exc

    def files_of(self, window: Window) -> list[str]:
        """The files a read of window reads: a new-files-only window names them (found by
        the run's one listing: a folder of many objects is not listed twice)."""
        return sorted(window.files) if window.files is not None else self.files()

    def estimate_rows(self, window: Window) -> int | None:
        """The rows of the files a read takes, when it takes them whole (no lower bound);
        a file that cannot be measured makes it unknown, never an error."""
        if window.lower is not None and window.files is None:
            return None
        try:
            files = self.files_of(window)
            log.debug("%s: %d files to read", self.path, len(files))
            return self.count_rows(files)
        except (HyggeError, OSError, pl.exceptions.PolarsError):
            return None

    def count_rows(self, files: list[str]) -> int | None:
        """About how many rows these files hold, cheaply; None: this format cannot tell."""
        return None

    def batches(self, window: Window, batch_rows: int) -> Generator[pl.DataFrame]:
        files = self.files_of(window)
        if window.files is not None and not files:
            return
        if not files:
            with self._reaching():
                if not self.fs.exists(glob_base(self.path)):
                    raise SourceError(f"home path {self.path} does not exist")
            return
        for group in self.groups(files):
            try:
                frame = self._restrict(self.scan(group), window)
                for batch in frame.collect_batches(chunk_size=batch_rows):
                    if batch.height:
                        yield batch
            except pl.exceptions.InvalidOperationError as exc:
                if self.shaper.types:
                    raise self.shaper.cast_failed(exc, f" in {', '.join(group)}") from exc
                raise SourceError(self._read_failure(exc, group)) from exc
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise SourceError(self._read_failure(exc, group)) from exc

    @abstractmethod
    def scan(self, files: list[str]) -> pl.LazyFrame:
        """A lazy scan of the files in this home's format."""

    def groups(self, files: list[str]) -> Iterator[list[str]]:
        """The files of each scan a read runs one after the other: all at once by default."""
        yield files

    def culprit(self, files: list[str], error: BaseException) -> str | None:
        """Which file (and where in it) made a read fail, if the format can tell."""
        return None

    def schema(self) -> pl.Schema:
        """The columns of all files, scan by scan as a read goes: files that gained or lost a
        column since the others still make one schema (a later file's type wins)."""
        merged: dict[str, pl.DataType] = {}
        for group in self.groups(self.files()):
            try:
                merged.update(self._columns(self.scan(group)).collect_schema())
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise SourceError(self._read_failure(exc, group)) from exc
        return pl.Schema(merged)

    def high_mark(self, column: str) -> Mark | None:
        """The column's maximum over every scan of a read (each may lack other columns)."""
        tops = []
        for group in self.groups(self.files()):
            try:
                tops.append(self._columns(self.scan(group)).select(pl.col(column).max()).collect())
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise SourceError(self._read_failure(exc, group)) from exc
        if not tops:
            return None
        return Mark.max_of(pl.concat(tops, how="vertical_relaxed").to_series())

    def _columns(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """A scan's columns as the home's `columns`, `exclude_columns`, `cast` and
        `source_file` make them (see hygge.homes._shape)."""
        shaper, named = self.shaper, self.config.source_file
        if not (shaper.narrows or shaper.types or named):
            return frame
        present = frame.collect_schema().names()
        chosen = self._checked_columns()
        if shaper.narrows or shaper.types:
            kept = [c for c in chosen if c in present] if shaper.narrows else present
            frame = frame.select(kept + ([_FILE] if named and _FILE not in kept else []))
            frame = frame.with_columns(shaper.exprs(kept))
        if named:
            frame = frame.with_columns(self._relative(pl.col(_FILE)).alias(named)).drop(_FILE)
        return frame

    def _checked_columns(self) -> list[str]:
        """The columns to read, checked once against those of every file."""
        if self._chosen is None:
            names: dict[str, None] = {}
            for group in self.groups(self.files()):
                try:
                    names.update(dict.fromkeys(self.scan(group).collect_schema().names()))
                except (pl.exceptions.PolarsError, OSError) as exc:
                    raise SourceError(self._read_failure(exc, group)) from exc
            names.pop(_FILE, None)
            named = self.config.source_file
            if named in names:
                raise ConfigError(
                    f"{self.shaper.address}: home.source_file names column {named!r}, which"
                    " the source already has",
                    hint="give source_file another column name",
                )
            self._chosen = self.shaper.chosen(list(names))
        return self._chosen

    def _relative(self, path: pl.Expr) -> pl.Expr:
        """A file's path relative to the home's folder (for a file path, its folder)."""
        anchor = glob_base(self.path) if _is_glob(self.path) else self.path
        if not _is_glob(self.path) and self.fs.is_file(anchor):
            anchor = anchor.rsplit("/", 1)[0]
        if self.fs.is_local:
            anchor = os.path.normpath(anchor)
        return path.str.strip_prefix(anchor.rstrip("/") + "/")

    def _restrict(self, frame: pl.LazyFrame, window: Window) -> pl.LazyFrame:
        """Columns and window as a lazy predicate, so parquet statistics can skip files."""
        frame = self._columns(frame)
        if window.column is None:
            return frame
        name = window.column
        column = pl.col(name)
        dtype = frame.collect_schema()[name]
        bounds = []
        if window.lower is not None:
            bounds.append(column >= window.lower.expr_for(dtype, name))
        if window.upper is not None:
            bounds.append(column <= window.upper.expr_for(dtype, name))
        if not bounds:
            return frame
        return frame.filter(pl.all_horizontal(bounds) | column.is_null())

    def _read_failure(self, exc: BaseException, files: list[str]) -> str:
        """The failure, naming the file (and line) where it can be found, else the path."""
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = self.culprit(files, exc) or (files[0] if len(files) == 1 else self.path)
        return f"cannot read {where}: {detail}"


_FILE = "__hygge_source_file"  # the scan's column of full paths, made relative


def _is_glob(path: str) -> bool:
    return any(char in path for char in GLOB_CHARS)

"""Parquet files as a store (zstd by default), written by Polars' streaming parquet sink.

A file is one `sink_parquet` whose source is the frames the load writes, handed over
through a one-frame queue to the thread the sink runs on. Polars encodes a row group's
columns in parallel and sizes row groups itself (small batches make no small row groups).
Arrow's ParquetWriter, used before, encoded on the flow's thread alone: hygge moved parquet
at 0.64 of the speed of Polars' own scan -> sink, and reaches 0.92 with this writer
(bench/file_to_file.py, 10M rows, zstd level 1 both, 2 cores). It also writes Categorical,
Enum, Int128 and structs of strings, which Arrow's writer refused. Polars marks
`register_io_source` unstable; every test of this store goes through it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import IO, Annotated, Any, Literal

import polars as pl
from polars.io.plugins import register_io_source
from pydantic import Field

from hygge.errors import Interrupted, StoreError
from hygge.handoff import put_while
from hygge.stores._files import FileStore, FileStoreConfig, FileWriter

_POLARS_CODECS: dict[str, Any] = {"none": "uncompressed"}  # where Polars names a codec apart
# Levels when none is set: those of Arrow's writer, which hygge used before; Polars' own
# default zstd level (3) costs about a tenth more CPU for files no smaller in the bench.
DEFAULT_LEVELS = {"zstd": 1, "gzip": 9, "brotli": 8}
# The codecs a parquet footer names for column chunks written with each setting.
_FOOTER_CODECS = {
    "zstd": frozenset({"zstd"}),
    "snappy": frozenset({"snappy"}),
    "gzip": frozenset({"gzip"}),
    "lz4": frozenset({"lz4_raw", "lz4"}),
    "brotli": frozenset({"brotli"}),
    "none": frozenset({"uncompressed"}),
}


class ParquetStoreConfig(FileStoreConfig):
    type: Literal["parquet"] = "parquet"
    compression: Literal["zstd", "snappy", "gzip", "lz4", "brotli", "none"] = "zstd"
    """The codec of the files."""
    compression_level: Annotated[int | None, Field(ge=1, le=22)] = None
    """The codec's level; none: hygge's choice for zstd, gzip and brotli."""


class _EndOfFile:
    """Tells the sink's source that the file is complete."""


class ParquetWriter(FileWriter):
    """One parquet file, streamed: the schema comes from the first frame, row groups from Polars."""

    def __init__(self, handle: IO[bytes], config: ParquetStoreConfig) -> None:
        super().__init__(handle)
        self.config = config
        self.frames: queue.Queue[pl.DataFrame | _EndOfFile] = queue.Queue(1)
        self.schema: pl.Schema | None = None
        self.sink: threading.Thread | None = None
        self.failure: BaseException | None = None

    def write(self, frame: pl.DataFrame) -> None:
        if self.schema is None:
            self.schema = frame.schema
            self.sink = threading.Thread(target=self._sink, name="parquet sink", daemon=True)
            self.sink.start()
        elif frame.schema != self.schema:
            raise StoreError(
                f"a batch's columns {_columns(frame.schema)} differ from the file's first"
                f" batch's {_columns(self.schema)}"
            )
        self._hand_over(frame)
        self.rows += frame.height

    def close(self) -> None:
        """End the file and wait for the sink to finish it (its footer); the handle closes last."""
        try:
            if self.sink is not None:
                self._hand_over(_EndOfFile())
                self.sink.join()
                self._raise_failure()
        finally:
            super().close()

    def _hand_over(self, item: pl.DataFrame | _EndOfFile) -> None:
        """Queue item for the sink; a sink that failed instead raises its error here."""
        if not put_while(self.frames, item, lambda: self.failure is None):
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self.failure is None:
            return
        if isinstance(self.failure, OSError):
            raise self.failure  # the load maps it, as for every file store
        if isinstance(self.failure, KeyboardInterrupt):  # Polars stops its queries on Ctrl-C
            raise Interrupted("interrupted while writing parquet") from self.failure
        detail = str(self.failure).strip().splitlines()
        raise StoreError(
            f"cannot write parquet: {detail[0] if detail else type(self.failure).__name__}"
        ) from self.failure

    def _sink(self) -> None:
        """The sink's thread: stream every frame handed over into the file, then its footer."""
        codec = self.config.compression
        try:
            source = register_io_source(self._source, schema=self.schema or {})
            source.sink_parquet(
                self.handle,
                compression=_POLARS_CODECS.get(codec, codec),
                compression_level=self.config.compression_level or DEFAULT_LEVELS.get(codec),
                maintain_order=True,
            )
        except BaseException as exc:  # handed to the writer's thread, which raises it
            self.failure = exc

    def _source(self, *_: Any) -> Iterator[pl.DataFrame]:
        """The frames of this file as they come. The sink reads every column and row: the
        projection, filter and row limit Polars passes are empty, its batch size a hint."""
        while not isinstance(item := self.frames.get(), _EndOfFile):
            yield item


def _columns(schema: pl.Schema) -> str:
    return "(" + ", ".join(f"{name} {dtype}" for name, dtype in schema.items()) + ")"


class ParquetStore(FileStore[ParquetStoreConfig]):
    Config = ParquetStoreConfig
    extension = "parquet"

    def open_writer(self, handle: IO[bytes]) -> FileWriter:
        return ParquetWriter(handle, self.config)

    def whole_codecs(self) -> frozenset[str] | None:
        """A file's footer names its codec but not its level: with a level set, files are
        re-encoded at that level, never copied."""
        if self.config.compression_level is not None:
            return None
        return _FOOTER_CODECS[self.config.compression]

    def count_rows(self, files: list[str]) -> int:
        """From the files' footers alone."""
        options = self.fs.scan_options
        scans = (pl.scan_parquet(file, storage_options=options) for file in files)
        return sum(scan.select(pl.len()).collect().item() for scan in scans)

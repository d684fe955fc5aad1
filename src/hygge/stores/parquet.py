"""Parquet files as a store (zstd by default), written with Arrow's streaming writer."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Annotated, Literal

import polars as pl
import pyarrow.parquet as pq
from pydantic import Field

from hygge.stores._files import FileStore, FileStoreConfig, FileWriter

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

# A column is dictionary-encoded unless the start of a file shows it mostly distinct.
DICTIONARY_SAMPLE_ROWS = 10_000  # rows of a file's first frame that decide
DICTIONARY_MAX_SHARE = 0.5  # distinct values over rows, above which a dictionary cannot pay
DICTIONARY_ALWAYS = 1024  # this few distinct values always get a dictionary (small frames)


class ParquetStoreConfig(FileStoreConfig):
    type: Literal["parquet"] = "parquet"
    compression: Literal["zstd", "snappy", "gzip", "lz4", "brotli", "none"] = "zstd"
    compression_level: Annotated[int | None, Field(ge=1, le=22)] = None


class ParquetWriter(FileWriter):
    """Each frame becomes a row group of one file; the schema comes from the first frame."""

    def __init__(self, handle: IO[bytes], config: ParquetStoreConfig) -> None:
        super().__init__(handle)
        self.config = config
        self.writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.handle,
                table.schema,
                compression=self.config.compression,
                compression_level=self.config.compression_level,
                use_dictionary=dictionary_columns(frame),
            )
        self.writer.write_table(table)
        self.rows += frame.height

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        super().close()


def dictionary_columns(frame: pl.DataFrame) -> list[str]:
    """The columns (Parquet leaf paths) to dictionary-encode: those whose values repeat.

    Arrow's writer otherwise tries a dictionary on every column of every row group and
    falls back to plain encoding once it outgrows its page limit; on near-unique columns
    (ids, timestamps, free text) that attempt cost about a third of the write time in
    bench/file_to_file.py and made the files larger. A column that later repeats less
    still falls back as before. Nested columns keep Arrow's default, a dictionary.
    """
    sample = frame.head(DICTIONARY_SAMPLE_ROWS)
    limit = max(int(sample.height * DICTIONARY_MAX_SHARE), DICTIONARY_ALWAYS)
    paths = []
    for column in sample.iter_columns():
        if column.dtype.is_nested():
            paths += _leaf_paths(column.name, column.dtype)
        elif column.n_unique() <= limit:
            paths.append(column.name)
    return paths


def _leaf_paths(name: str, dtype: PolarsDataType) -> list[str]:
    """Where Arrow's writer puts a nested column's values ('tags.list.element', 'point.x')."""
    if isinstance(dtype, pl.List | pl.Array):
        return _leaf_paths(f"{name}.list.element", dtype.inner)
    if isinstance(dtype, pl.Struct):
        return [path for f in dtype.fields for path in _leaf_paths(f"{name}.{f.name}", f.dtype)]
    return [name]


class ParquetStore(FileStore):
    Config = ParquetStoreConfig
    config: ParquetStoreConfig
    extension = "parquet"

    def open_writer(self, handle: IO[bytes]) -> FileWriter:
        return ParquetWriter(handle, self.config)

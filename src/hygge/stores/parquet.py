"""Parquet files as a store (zstd by default), written with Arrow's streaming writer."""

from __future__ import annotations

from typing import IO, Annotated, Literal

import polars as pl
import pyarrow.parquet as pq
from pydantic import Field

from hygge.stores._files import FileStore, FileStoreConfig, FileWriter


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
            )
        self.writer.write_table(table)
        self.rows += frame.height

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        super().close()


class ParquetStore(FileStore):
    Config = ParquetStoreConfig
    config: ParquetStoreConfig
    extension = "parquet"

    def open_writer(self, handle: IO[bytes]) -> FileWriter:
        return ParquetWriter(handle, self.config)

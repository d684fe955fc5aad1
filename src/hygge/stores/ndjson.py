"""Newline-delimited JSON files as a store."""

from __future__ import annotations

from typing import IO, Literal

import polars as pl
from polars.datatypes import DataTypeClass

from hygge.errors import StoreError
from hygge.stores._files import FileStore, FileStoreConfig, FileWriter


class NdjsonStoreConfig(FileStoreConfig):
    type: Literal["ndjson"] = "ndjson"


class NdjsonWriter(FileWriter):
    def write(self, frame: pl.DataFrame) -> None:
        # Polars panics (an exception no flow expects) on binary data: refuse it first.
        binary = [name for name, dtype in frame.schema.items() if _holds_binary(dtype)]
        if binary:
            raise StoreError(
                f"cannot write binary data as NDJSON (columns: {', '.join(binary)})",
                hint="store this entity as parquet, or select columns JSON can hold",
            )
        try:
            frame.write_ndjson(self.handle)
        except pl.exceptions.PolarsError as exc:
            raise StoreError(f"cannot write NDJSON: {str(exc).strip().splitlines()[0]}") from exc
        self.rows += frame.height


def _holds_binary(dtype: pl.DataType | DataTypeClass) -> bool:
    if dtype == pl.Binary:
        return True
    if isinstance(dtype, pl.List | pl.Array):
        return _holds_binary(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return any(_holds_binary(field.dtype) for field in dtype.fields)
    return False


class NdjsonStore(FileStore[NdjsonStoreConfig]):
    Config = NdjsonStoreConfig
    extension = "ndjson"

    def open_writer(self, handle: IO[bytes]) -> FileWriter:
        return NdjsonWriter(handle)

    def count_rows(self, files: list[str]) -> int:
        """One row a line holding anything but whitespace, counted by Polars' reader (a
        schema given, so no types are inferred and an empty file counts 0)."""
        if not files:
            return 0
        scan = pl.scan_ndjson(files, schema=_ANY, storage_options=self.fs.scan_options)
        return int(scan.select(pl.len()).collect().item())


_ANY = {"_hygge_count": pl.String}  # a schema for counting: a line's fields are not read

"""CSV files as a store: one header per file."""

from __future__ import annotations

from typing import IO, Literal

import polars as pl
from pydantic import field_validator

from hygge.errors import StoreError
from hygge.stores._files import FileStore, FileStoreConfig, FileWriter


class CsvStoreConfig(FileStoreConfig):
    type: Literal["csv"] = "csv"
    delimiter: str = ","
    """The character between fields (one byte)."""
    header: bool = True
    """Write the column names as the first row."""
    null_value: str = ""
    """The text written for null."""

    @field_validator("delimiter")
    @classmethod
    def _one_byte(cls, value: str) -> str:
        if len(value.encode()) != 1:
            raise ValueError("must be exactly one single-byte character")
        return value


class CsvWriter(FileWriter):
    def __init__(self, handle: IO[bytes], config: CsvStoreConfig) -> None:
        super().__init__(handle)
        self.config = config

    def write(self, frame: pl.DataFrame) -> None:
        try:
            frame.write_csv(
                self.handle,
                include_header=self.config.header and self.rows == 0,
                separator=self.config.delimiter,
                null_value=self.config.null_value,
            )
        except pl.exceptions.PolarsError as exc:  # a type CSV cannot hold: binary, nested, ...
            raise StoreError(
                f"cannot write CSV: {str(exc).strip().splitlines()[0]}",
                hint="store this entity as parquet, or select columns CSV can hold",
            ) from exc
        self.rows += frame.height


class CsvStore(FileStore[CsvStoreConfig]):
    Config = CsvStoreConfig
    extension = "csv"

    def open_writer(self, handle: IO[bytes]) -> FileWriter:
        return CsvWriter(handle, self.config)

    def count_rows(self, files: list[str]) -> int:
        """Rows as written (values as text: counting needs no types)."""
        c = self.config
        scan = pl.scan_csv(
            files,
            has_header=c.header,
            separator=c.delimiter,
            infer_schema=False,
            storage_options=self.fs.scan_options,
        )
        return int(scan.select(pl.len()).collect().item())

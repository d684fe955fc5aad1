"""Parquet files as a home."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import polars as pl

from hygge.homes._files import FileHome, FileHomeConfig


class ParquetHomeConfig(FileHomeConfig):
    type: Literal["parquet"] = "parquet"


class ParquetHome(FileHome[ParquetHomeConfig]):
    Config = ParquetHomeConfig
    suffixes = (".parquet", ".pq")

    def scan(self, files: list[str]) -> pl.LazyFrame:
        return pl.scan_parquet(files, storage_options=self.fs.scan_options)

    def count_rows(self, files: list[str]) -> int:
        """From each file's footer: no row is read."""
        counts = [pl.scan_parquet(f, storage_options=self.fs.scan_options) for f in files]
        return sum(frame.select(pl.len()).collect().item() for frame in counts)

    def groups(self, files: list[str]) -> Iterator[list[str]]:
        """One file at a time: a scan of many files reads row groups ahead across them, which
        doubled peak memory from one source file to ten (bench/file_to_file.py). Files whose
        columns differ read on: the schema is merged scan by scan (`FileHome.schema`)."""
        for file in files:
            yield [file]

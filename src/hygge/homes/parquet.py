"""Parquet files as a home."""

from __future__ import annotations

from typing import Literal

import polars as pl

from hygge.homes._files import FileHome, FileHomeConfig


class ParquetHomeConfig(FileHomeConfig):
    type: Literal["parquet"] = "parquet"


class ParquetHome(FileHome):
    Config = ParquetHomeConfig
    suffixes = (".parquet", ".pq")

    def scan(self, files: list[str]) -> pl.LazyFrame:
        return pl.scan_parquet(files)

"""Newline-delimited JSON files as a home."""

from __future__ import annotations

from typing import Annotated, Literal

import polars as pl
from pydantic import Field

from hygge.homes._files import FileHome, FileHomeConfig


class NdjsonHomeConfig(FileHomeConfig):
    type: Literal["ndjson"] = "ndjson"
    infer_schema_rows: Annotated[int, Field(gt=0)] = 1000


class NdjsonHome(FileHome):
    Config = NdjsonHomeConfig
    config: NdjsonHomeConfig
    suffixes = (".ndjson", ".jsonl", ".json")

    def scan(self, files: list[str]) -> pl.LazyFrame:
        return pl.scan_ndjson(files, infer_schema_length=self.config.infer_schema_rows)

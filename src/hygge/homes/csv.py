"""CSV files as a home; parsing options are validated here and handed to Polars."""

from __future__ import annotations

from typing import Annotated, Literal

import polars as pl
from pydantic import Field, field_validator

from hygge.homes._files import FileHome, FileHomeConfig


class CsvHomeConfig(FileHomeConfig):
    type: Literal["csv"] = "csv"
    delimiter: str = ","
    header: bool = True
    quote_char: str | None = '"'
    encoding: Literal["utf8", "utf8-lossy"] = "utf8"
    null_values: list[str] = []
    skip_rows: Annotated[int, Field(ge=0)] = 0
    infer_schema_rows: Annotated[int, Field(gt=0)] = 10_000
    try_parse_dates: bool = True

    @field_validator("delimiter", "quote_char")
    @classmethod
    def _one_byte(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) != 1:
            raise ValueError("must be exactly one single-byte character")
        return value

    @field_validator("null_values", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class CsvHome(FileHome):
    Config = CsvHomeConfig
    config: CsvHomeConfig
    suffixes = (".csv", ".tsv", ".txt")

    def scan(self, files: list[str]) -> pl.LazyFrame:
        c = self.config
        return pl.scan_csv(
            files,
            separator=c.delimiter,
            has_header=c.header,
            quote_char=c.quote_char,
            encoding=c.encoding,
            null_values=c.null_values or None,
            skip_rows=c.skip_rows,
            infer_schema_length=c.infer_schema_rows,
            try_parse_dates=c.try_parse_dates,
            raise_if_empty=False,
        )

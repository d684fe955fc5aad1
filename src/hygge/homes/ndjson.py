"""Newline-delimited JSON files as a home."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Annotated, Literal

import polars as pl
from pydantic import Field

from hygge.errors import SourceError
from hygge.homes._files import FileHome, FileHomeConfig
from hygge.homes.csv import merge_schemas
from hygge.plugin import Window

# A file this small may hold only blank lines; a larger one surely holds a JSON value.
_SMALL_FILE_BYTES = 4096


class NdjsonHomeConfig(FileHomeConfig):
    type: Literal["ndjson"] = "ndjson"
    infer_schema_rows: Annotated[int, Field(gt=0)] = 1000
    """Lines read to guess the column types."""


class NdjsonHome(FileHome[NdjsonHomeConfig]):
    Config = NdjsonHomeConfig
    suffixes = (".ndjson", ".jsonl", ".json")

    def batches(self, window: Window, batch_rows: int) -> Generator[pl.DataFrame]:
        files = self.files_of(window)
        if files and not any(self._has_values(file) for file in files):
            return  # empty files: an empty source, not a failure
        yield from super().batches(window, batch_rows)

    def scan(self, files: list[str]) -> pl.LazyFrame:
        # Polars cannot infer types from an empty file, even next to others: leave those out.
        files = [file for file in files if self._has_values(file)]
        if not files:
            return pl.LazyFrame()
        schema = self._schema(files) if len(files) > 1 else None
        return pl.scan_ndjson(
            files,
            schema=schema,
            infer_schema_length=self.config.infer_schema_rows,
            **self.scan_options(),
        )

    def culprit(self, files: list[str], error: BaseException) -> str | None:
        """The first line that is no JSON object (Polars names no file or line)."""
        for file in files:
            try:
                with self.fs.fs.open(file, "rb") as handle:
                    for number, line in enumerate(handle, 1):
                        if line.strip() and not _is_object(line):
                            return f"{file} line {number}"
            except OSError:
                return file
        return None

    def _schema(self, files: list[str]) -> pl.Schema:
        """The types of several files, each inferred from its own first rows.

        Left to itself, Polars infers from the first file only and fails on the next one
        when a column was all null there, or integral there and fractional later.
        """
        schemas: list[dict[str, pl.DataType | None]] = []
        for file in files:
            try:
                scan = pl.scan_ndjson(
                    file,
                    infer_schema_length=self.config.infer_schema_rows,
                    storage_options=self.fs.scan_options,
                )
                schemas.append(dict(scan.collect_schema()))
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise SourceError(self._read_failure(exc, [file])) from exc
        return merge_schemas(schemas, untyped=pl.Null())

    def _has_values(self, file: str) -> bool:
        """Whether the file holds anything but whitespace (one stat; a read when tiny)."""
        try:
            if self.fs.fs.size(file) > _SMALL_FILE_BYTES:
                return True
            with self.fs.fs.open(file, "rb") as handle:
                return bool(handle.read().strip())
        except OSError:
            return True  # let the read itself report what is wrong with the file


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False

"""Newline-delimited JSON files as a store."""

from __future__ import annotations

from typing import IO, Literal

import polars as pl

from hygge.stores._files import FileStore, FileStoreConfig, FileWriter


class NdjsonStoreConfig(FileStoreConfig):
    type: Literal["ndjson"] = "ndjson"


class NdjsonWriter(FileWriter):
    def write(self, frame: pl.DataFrame) -> None:
        frame.write_ndjson(self.handle)
        self.rows += frame.height


class NdjsonStore(FileStore):
    Config = NdjsonStoreConfig
    extension = "ndjson"

    def open_writer(self, handle: IO[bytes]) -> FileWriter:
        return NdjsonWriter(handle)

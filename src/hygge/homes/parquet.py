"""Parquet files as a home."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import IO, Literal, cast

import polars as pl

from hygge.homes._files import FileHome, FileHomeConfig
from hygge.plugin import WholeFile, Window


class ParquetHomeConfig(FileHomeConfig):
    type: Literal["parquet"] = "parquet"


class ParquetHome(FileHome[ParquetHomeConfig]):
    Config = ParquetHomeConfig
    suffixes = (".parquet", ".pq")
    whole_format = "parquet"

    def scan(self, files: list[str]) -> pl.LazyFrame:
        return pl.scan_parquet(files, **self.scan_options())

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

    def whole_files(self, window: Window) -> list[WholeFile] | None:
        """Every file of the read, from its footer, when the read takes all of each (no
        `columns`, `exclude_columns`, `cast` or `source_file`, no watermark window). A footer
        that cannot be read gives None: the read of rows then fails naming the file, as it
        always has."""
        if self.reshapes or window.column is not None:
            return None
        files = self.files_of(window)
        if not files:
            return None
        import pyarrow as pa  # only here: a tenth of a second of start-up otherwise

        try:
            return [self._whole(file) for file in files]
        except (pl.exceptions.PolarsError, OSError, pa.ArrowException):
            return None  # e.g. Int128, which Arrow cannot read: the rows are re-encoded

    def _whole(self, path: str) -> WholeFile:
        import pyarrow.parquet as pq

        opener = partial(self.fs.fs.open, path, "rb")
        with opener() as handle:
            footer = pq.read_metadata(handle)
            handle.seek(0)
            schema = pl.Schema(pl.read_parquet_schema(handle))
        codecs = {
            footer.row_group(group).column(column).compression.lower()
            for group in range(footer.num_row_groups)
            for column in range(footer.num_columns)
        }
        return WholeFile(
            path=path,
            open=cast("partial[IO[bytes]]", opener),
            local=self.fs.is_local,
            rows=footer.num_rows,
            schema=schema,
            codecs=frozenset(codecs),
        )

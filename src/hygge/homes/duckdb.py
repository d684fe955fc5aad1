"""A DuckDB database file as a home, opened READ_ONLY and streamed as Arrow batches.

Window bounds keep their precision through `hygge.engines.duckdb`'s dialect. A flow cannot
(yet) read and write one DuckDB file: DuckDB refuses a READ_ONLY connection in a process that
has the file open for writing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import duckdb
import pyarrow as pa

from hygge.engines.dialect import SLOT
from hygge.engines.duckdb import DIALECT, connect, mapped
from hygge.errors import SourceError
from hygge.homes._sql import FileDatabaseConfig, FileDatabaseHome, PartitionedHomeConfig


class DuckDbHomeConfig(FileDatabaseConfig, PartitionedHomeConfig):
    type: Literal["duckdb"] = "duckdb"


class DuckDbHome(FileDatabaseHome[DuckDbHomeConfig]):
    Config = DuckDbHomeConfig
    dialect = DIALECT

    def row_estimate(self, table: str) -> tuple[str, list[Any]]:
        """duckdb_tables()' estimated_size: the row count DuckDB keeps for a table."""
        schema, _, name = table.rpartition(".")
        sql = (
            "SELECT estimated_size AS n FROM duckdb_tables()"
            f" WHERE schema_name = COALESCE({SLOT}, 'main') AND table_name = {SLOT}"
        )
        return sql, [schema or None, name]

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        with self._connection() as con:
            text, values = self.dialect.finish(sql, params)
            yield from con.sql(text, params=values).to_arrow_reader(batch_rows)

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        with self._connection() as con:
            text, values = self.dialect.finish(sql, params)
            table: pa.Table = con.sql(text, params=values).to_arrow_table()  # typed Any by DuckDB
            return table

    @contextlib.contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection; every DuckDB error inside leaves as a hygge error."""
        self.require_file()
        try:
            con = connect(self.path, read_only=True)
            try:
                yield con
            finally:
                con.close()
        except duckdb.Error as exc:
            raise mapped(exc, f"cannot read {self.path}", SourceError) from exc

"""A MariaDB/MySQL table or query as a home, streamed with an unbuffered cursor.

Rows are read with PyMySQL's `SSCursor` (the server streams, the client holds one batch) in
`fetchmany(batch_rows)` chunks; each chunk becomes Arrow column by column, in the types
`hygge.engines.mysql.arrow_schema` takes from the result's column metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pyarrow as pa
import pymysql.cursors

from hygge.engines.dialect import SLOT
from hygge.engines.mysql import (
    DIALECT,
    MySqlConfig,
    arrow_schema,
    connect,
    database_target,
    to_batch,
)
from hygge.errors import SourceError
from hygge.homes._sql import PartitionedHomeConfig, ServerHome, ServerHomeConfig


class MySqlHomeConfig(ServerHomeConfig, PartitionedHomeConfig, MySqlConfig):
    type: Literal["mysql"] = "mysql"


class MySqlHome(ServerHome[MySqlHomeConfig]):
    Config = MySqlHomeConfig
    dialect = DIALECT

    def table_home(self) -> tuple[str, str, bool] | None:
        """A MySQL schema is a database: an unqualified table is the URL's database's."""
        return database_target(self.config), self.config.database(), True

    def row_estimate(self, table: str) -> tuple[str, list[Any]]:
        """information_schema's table_rows: InnoDB's estimate, from its statistics."""
        schema, _, name = table.rpartition(".")
        sql = (
            "SELECT table_rows AS n FROM information_schema.tables"
            f" WHERE table_schema = COALESCE({SLOT}, DATABASE()) AND table_name = {SLOT}"
        )
        return sql, [schema or None, name]

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        with connect(self.config, self.context, SourceError) as con:
            cursor = con.cursor(pymysql.cursors.SSCursor)
            try:
                cursor.execute(*self.dialect.finish(sql, params))
                schema = arrow_schema(cursor)
                while rows := cursor.fetchmany(batch_rows):
                    yield to_batch(rows, schema)
            finally:
                cursor.close()

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        with connect(self.config, self.context, SourceError) as con, con.cursor() as cursor:
            cursor.execute(*self.dialect.finish(sql, params))
            schema = arrow_schema(cursor)
            rows = cursor.fetchall()
        return pa.Table.from_batches([to_batch(rows, schema)] if rows else [], schema)

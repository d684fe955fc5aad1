"""A PostgreSQL table or query as a home, streamed as Arrow batches through ADBC.

The window goes down as `$n` bound parameters (PostgreSQL's placeholders), with the Mark's
Python value: PostgreSQL keeps microseconds, which a Python datetime holds exactly.
TIMESTAMPTZ columns arrive in UTC. ADBC hands `numeric` over as text (an opaque Arrow type);
a column declared `numeric(p,s)` is turned into Decimal(p,s) here, in Arrow, so amounts stay
exact. A `numeric` without precision has no fixed scale to give it and stays text, and other
types ADBC does not know (json, uuid, ...) arrive as their text form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

import adbc_driver_postgresql.dbapi  # noqa: F401  (the driver: a missing one is reported early)
import polars as pl
import pyarrow as pa

from hygge.connections import server_target, where
from hygge.errors import SourceError
from hygge.homes._sql import PartitionedHomeConfig, ServerHome, ServerHomeConfig, quote_table
from hygge.pg import PgConfig, connect, mapped
from hygge.plugin import Context, Window
from hygge.watermark import Mark

_UUID_GROUPS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
_NOT_NULL = "hygge_not_null"  # column_bounds' extra answer
_SLOT = "\0?"  # where bind() put a parameter; NUL cannot occur in a PostgreSQL identifier


class PostgresHomeConfig(ServerHomeConfig, PartitionedHomeConfig, PgConfig):
    type: Literal["postgres"] = "postgres"


class PostgresHome(ServerHome):
    Config = PostgresHomeConfig
    config: PostgresHomeConfig

    def __init__(self, config: PostgresHomeConfig, context: Context) -> None:
        super().__init__(config, context)
        self._nullable: dict[str, bool] = {}

    def table_home(self) -> tuple[str, str, bool] | None:
        return server_target(self.config, 5432), "public", False

    def may_hold_nulls(self, column: str) -> bool:
        """From the table's catalog, learnt with the column's bounds (or asked once here).
        PostgreSQL 15 plans `range OR col IS NULL` as a bitmap scan, often parallel: several
        times slower than the plain index range scan it can use when the column is declared
        NOT NULL."""
        if self.config.table is None:
            return True
        if column not in self._nullable:
            sql, params = self._not_null(column)
            rows = self.fetch(f"SELECT {sql} AS not_null", params).to_pylist()
            self._nullable[column] = not rows[0]["not_null"]
        return self._nullable[column]

    def bounds_extra(self, column: str) -> tuple[str, list[Any]]:
        if self.config.table is None:
            return "", []
        sql, params = self._not_null(column)
        return f", {sql} AS {_NOT_NULL}", params

    def bounds_seen(self, column: str, top: pl.DataFrame) -> None:
        if _NOT_NULL in top.columns and top.height:
            self._nullable[column] = not top[_NOT_NULL][0]

    def _not_null(self, column: str) -> tuple[str, list[Any]]:
        """Whether the table declares column NOT NULL, as a scalar subquery."""
        table = quote_table(self.config.table or "")
        sql = (
            "(SELECT a.attnotnull FROM pg_attribute a"
            " WHERE a.attrelid = to_regclass($1) AND a.attname = $2)"
        )
        return sql, [table, column]

    def bind(self, mark: Mark) -> tuple[str, Any]:
        return _SLOT, mark.as_python()

    def predicate(self, window: Window) -> tuple[str, list[Any]]:
        """The shared predicate with its slots numbered `$1`, `$2`, ... in parameter order."""
        text, params = super().predicate(window)
        numbers = iter(range(1, len(params) + 1))
        return re.sub(re.escape(_SLOT), lambda _: f"${next(numbers)}", text), params

    def stream(self, sql: str, params: list[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
        with connect(self.config, self.context, SourceError) as con, con.cursor() as cursor:
            cursor.execute(sql, params or None)
            for batch in self._record_batches(cursor):
                batch = exact(batch)
                for offset in range(0, batch.num_rows, batch_rows):
                    yield batch.slice(offset, batch_rows)

    def _record_batches(self, cursor: Any) -> Iterator[pa.RecordBatch]:
        """The result's batches. A connection lost mid-stream surfaces from Arrow's reader
        as a bare OSError quoting libpq; it is the driver's error, mapped like the others."""
        reader = cursor.fetch_record_batch()
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except OSError as exc:
                raise mapped(exc, where(self.config), SourceError) from exc
            yield batch

    def fetch(self, sql: str, params: list[Any]) -> pa.Table:
        with connect(self.config, self.context, SourceError) as con, con.cursor() as cursor:
            cursor.execute(sql, params or None)
            table = cursor.fetch_arrow_table()
        return pa.Table.from_batches(
            [exact(b) for b in table.to_batches()], exact_schema(table.schema)
        )


def exact_schema(schema: pa.Schema) -> pa.Schema:
    """The schema with ADBC's opaque types replaced: numeric(p,s) -> decimal, others -> text."""
    return pa.schema([_field(f) for f in schema])


def exact(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch in `exact_schema`: vectorized casts, no row loop."""
    schema = exact_schema(batch.schema)
    if schema.equals(batch.schema):
        return batch
    columns = [_exact(column, field) for column, field in zip(batch.columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _exact(column: pa.Array, field: pa.Field) -> pa.Array:
    if column.type == field.type:
        return column
    if isinstance(column.type, pa.UuidType):
        return _uuid_text(column)
    storage = column.storage if isinstance(column, pa.ExtensionArray) else column
    return storage.cast(field.type)


def _uuid_text(column: pa.Array) -> pa.Array:
    """UUIDs in their canonical text (8-4-4-4-12 hex digits), as DuckDB and most tools show
    them; Polars alone would make them 16 opaque bytes."""
    storage = column.storage if isinstance(column, pa.ExtensionArray) else column
    hexed = pl.Series(pl.from_arrow(storage)).bin.encode("hex")
    parts = [hexed.str.slice(start, end - start) for start, end in _UUID_GROUPS]
    text = pl.select(pl.concat_str(parts, separator="-")).to_series()
    return text.to_arrow().cast(pa.string())


def _field(field: pa.Field) -> pa.Field:
    if isinstance(field.type, pa.UuidType):
        return pa.field(field.name, pa.string(), field.nullable, field.metadata)
    if not isinstance(field.type, pa.BaseExtensionType):
        return field
    meta = field.metadata or {}
    typmod = int(meta.get(b"POSTGRESQL:typmod", b"-1"))
    if meta.get(b"POSTGRESQL:type") == b"numeric" and typmod >= 4:
        precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
        target = (
            pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
        )
        return pa.field(field.name, target, field.nullable, meta)
    return pa.field(field.name, field.type.storage_type, field.nullable, meta)

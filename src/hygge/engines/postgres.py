"""PostgreSQL, for the postgres home and store: its driver, dialect, types and identity.

Connections: ADBC, pooled. A plugin that names a hygge.yml connection borrows from the
coordinator's pool of that name, so `pool_size` bounds what all entities open together; one
with an inline `url` borrows from a pool keyed by a digest of the URL (see
`hygge.connections.pool_key`). Connections are in autocommit mode; a store publishes with an
explicit BEGIN ... COMMIT. Driver messages may quote the URL, so every one is passed through
`redact` before it becomes a hygge error; a failed login is final (retrying only locks the
account sooner), a refused or broken connection is transient and retried by the flow.

Dialect: the SQL standard's quoting; bound values are `$1`, `$2`, ... in parameter order. A
read that streams binds them into settings of the session first (`streamed`), since ADBC
holds a whole result in memory when the query itself has parameters.

Types, written (`column_type`): the stage is created with these types before the first COPY,
and they match what ADBC's binary COPY sends for each Arrow type, so every value arrives as
it left. Types without a lossless PostgreSQL column (nested lists and structs, objects) stop
the load naming the column. Unsigned 64-bit integers go as numeric(20,0): no signed integer
holds them all.

Types, read (`exact`): TIMESTAMPTZ columns arrive in UTC. ADBC hands `numeric` over as text
(an opaque Arrow type); a column declared `numeric(p,s)` is turned into Decimal(p,s) here, in
Arrow, so amounts stay exact. A `numeric` without precision has no fixed scale to give it and
stays text, and other types ADBC does not know (json, uuid, ...) arrive as their text form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pyarrow as pa

from hygge.connections import DatabaseConfig, server_target
from hygge.engines.cursor import Cursor
from hygge.engines.dialect import SLOT, Dialect, quote
from hygge.engines.driver import BUSY, FINAL, Code, Driver, Verdict, sqlstate
from hygge.engines.types import rounds_in_float, simple_type

Connection = Any  # adbc_driver_manager.dbapi.Connection (the driver is an optional extra)

PORT = 5432
DEFAULT_SCHEMA = "public"  # where an unqualified table lives
NAME_LIMIT = 63  # the longest name PostgreSQL keeps, in bytes
_UUID_GROUPS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
# SQLSTATEs another attempt may not meet: a lost connection (class 08), a server shutting down
# or starting, too many clients, a serialization failure or deadlock, a lock timeout
_TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01", "55P03")
# libpq's own errors carry no SQLSTATE: their text tells a dropped or refused connection
_TRANSIENT = ("could not connect", "connection refused", "server closed", "connection reset",
              "terminating connection", "timeout expired", "no connection")  # fmt: skip
# libpq's complaints about a URL it cannot parse, most often a password with `@ : / %` or spaces
_MALFORMED = ("invalid percent-encoded token", "unexpected spaces found", "invalid integer value")


class PgConfig(DatabaseConfig):
    """`connection` (a hygge.yml name; planning fills in its `url`) or an inline `url`."""


def database_target(config: DatabaseConfig) -> str:
    """The database a config reaches, as a destination identity (`Store.target`). Names
    go in quoted, so PostgreSQL keeps their case: `Orders` and `orders` are two tables."""
    return server_target(config, PORT, user_database=True)


class PostgresDialect(Dialect):
    """Placeholders numbered in parameter order: `$1`, `$2`, ..."""

    def finish(self, sql: str, params: Sequence[Any]) -> tuple[str, list[Any] | None]:
        parts = sql.split(SLOT)
        numbered = [parts[0]]
        for number, part in enumerate(parts[1:], start=1):
            numbered += [f"${number}", part]
        return "".join(numbered), list(params) or None


DIALECT = PostgresDialect()

_SETTING = "hygge.bound_{}"  # the session settings a streamed read's bound values go into
_BOUND_TYPES: tuple[tuple[type, str], ...] = (  # a bound value's type, in the order to ask
    (bool, "boolean"),  # before int, which it is too
    (int, "bigint"),
    (Decimal, "numeric"),
    (str, "text"),
    (datetime, "timestamp"),  # before date, which it is too; `with time zone` when aware
    (date, "date"),
)


def streamed(sql: str, params: Sequence[Any]) -> tuple[tuple[str, list[Any]] | None, str]:
    """A read with bound values as a statement that binds them into settings of the session,
    and a query without parameters that reads them back (None and sql: nothing to bind).

    ADBC streams a query without parameters through binary COPY, batch by batch, but runs one
    with parameters as a prepared statement whose whole result libpq holds in memory before
    the first batch. The values still travel as bound parameters: the server writes each as
    text and the query casts it back to the type it was bound as, in the same session, so it
    is exact; the SQL holds only setting and type names. The planner reads the settings when
    it estimates (stable functions), so a narrow window still gets its index range scan."""
    if not params:
        return None, sql
    parts = sql.split(SLOT)
    sets, query = [], [parts[0]]
    for number, (value, part) in enumerate(zip(params, parts[1:], strict=True), start=1):
        name = _SETTING.format(number)
        sets.append(f"set_config('{name}', ${number}::text, false)")
        query += [f"current_setting('{name}')::{_bound_type(value)}", part]
    return (f"SELECT {', '.join(sets)}", list(params)), "".join(query)


def _bound_type(value: Any) -> str:
    for kind, name in _BOUND_TYPES:
        if isinstance(value, kind):
            aware = isinstance(value, datetime) and value.tzinfo is not None
            return f"{name} with time zone" if aware else name
    raise TypeError(f"no PostgreSQL type for a bound {type(value).__name__}")


def _open(url: str) -> Connection:
    import adbc_driver_postgresql.dbapi as dbapi

    return dbapi.connect(url, autocommit=True)


def _judge(code: Code, detail: str) -> Verdict:
    """The server's SQLSTATE when it gave one, else the text of libpq's own error."""
    if isinstance(code, str):
        return Verdict(retry=True, hint=BUSY) if code.startswith(_TRANSIENT_STATES) else FINAL
    lowered = detail.lower()
    if any(m in lowered for m in _MALFORMED):
        return Verdict(
            hint="percent-encode `@ : / %` and spaces in the URL's password, or give the"
            " connection a `password:` of its own"
        )
    if "authentication failed" not in lowered and any(m in lowered for m in _TRANSIENT):
        return Verdict(retry=True, hint="the server may be down or restarting")
    return FINAL


DRIVER = Driver("postgres", "adbc_driver", _open, _judge, parse=sqlstate)
connect = DRIVER.connect
mapped = DRIVER.mapped


_SIMPLE: dict[type[pl.DataType], str] = {
    pl.Int8: "smallint",
    pl.Int16: "smallint",
    pl.UInt8: "smallint",
    pl.Int32: "integer",
    pl.UInt16: "integer",
    pl.Int64: "bigint",
    pl.UInt32: "bigint",
    pl.UInt64: "numeric(20,0)",
    pl.Float32: "real",
    pl.Float64: "double precision",
    pl.String: "text",
    pl.Categorical: "text",
    pl.Enum: "text",
    pl.Null: "text",
    pl.Boolean: "boolean",
    pl.Date: "date",
    pl.Time: "time",
    pl.Binary: "bytea",
    pl.Duration: "interval",
}
_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)$")


def column_type(name: str, dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"numeric({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "timestamp with time zone" if dtype.time_zone else "timestamp without time zone"
    return simple_type(name, dtype, _SIMPLE, "PostgreSQL")


def table_ddl(types: dict[str, str]) -> str:
    return ", ".join(f"{quote(name)} {dtype}" for name, dtype in types.items())


def fits(cur: Cursor) -> Callable[[str, str], bool]:
    """PostgreSQL's own rule: the same type, or an implicit cast from source to destination;
    two numerics with precision also need room for the source's digits on both sides, and an
    integer or decimal that a float column would round does not fit it."""

    def check(source: str, destination: str) -> bool:
        if rounds_in_float(source, destination):
            return False
        a, b = _NUMERIC.match(source), _NUMERIC.match(destination)
        if a and b:
            (p1, s1), (p2, s2) = (map(int, m.groups()) for m in (a, b))
            return s1 <= s2 and p1 - s1 <= p2 - s2
        cur.execute(
            "SELECT s = d OR EXISTS (SELECT 1 FROM pg_cast WHERE castsource = s"
            " AND casttarget = d AND castcontext = 'i')"
            " FROM (SELECT $1::text::regtype::oid AS s, $2::text::regtype::oid AS d) AS t",
            [source, destination],
        )
        row = cur.fetchone()
        return bool(row and row[0])

    return check


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


def _exact(column: pa.Array[Any], field: pa.Field[Any]) -> pa.Array[Any]:
    if column.type == field.type:
        return column
    if isinstance(column.type, pa.UuidType):
        return _uuid_text(column)
    storage = column.storage if isinstance(column, pa.ExtensionArray) else column
    return storage.cast(field.type)


def _uuid_text(column: pa.Array[Any]) -> pa.Array[Any]:
    """UUIDs in their canonical text (8-4-4-4-12 hex digits), as DuckDB and most tools show
    them; Polars alone would make them 16 opaque bytes."""
    storage = column.storage if isinstance(column, pa.ExtensionArray) else column
    hexed = pl.Series(pl.from_arrow(storage)).bin.encode("hex")
    parts = [hexed.str.slice(start, end - start) for start, end in _UUID_GROUPS]
    text = pl.select(pl.concat_str(parts, separator="-")).to_series()
    return text.to_arrow().cast(pa.string())


def _field(field: pa.Field[Any]) -> pa.Field[Any]:
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

"""SQLite, for the sqlite home and store: connections, errors, dialect, and its loose typing
pinned down: Polars types <-> declared column types <-> stored values.

SQLite keeps each value as INTEGER, REAL, TEXT, BLOB or NULL whatever its column declares; the
declared type is only a name (it sets the column's affinity). hygge writes a name that says
the Polars type, so a table the `sqlite` store wrote reads back with the same types:

| Polars                        | declared type                  | stored as                   |
|-------------------------------|--------------------------------|-----------------------------|
| Int8 Int16 Int32 Int64        | TINYINT SMALLINT INT32 INTEGER | integer                     |
| UInt8 UInt16 UInt32 UInt64    | UINT8 UINT16 UINT32 UINT64     | integer (UInt64 > 2^63-1 fails) |
| Float32 Float64               | FLOAT32 REAL                   | real                        |
| Boolean                       | BOOLEAN                        | 0 / 1                       |
| String Categorical Enum Null  | TEXT                           | text (read back as String)  |
| Binary                        | BLOB                           | blob                        |
| Date                          | DATE                           | 'YYYY-MM-DD'                |
| Time                          | TIME                           | 'HH:MM:SS.ffffff'           |
| Datetime ms / us / ns         | TIMESTAMP(3), TIMESTAMP, (9)   | 'YYYY-MM-DD HH:MM:SS.f'     |
| Datetime with a time zone     | TIMESTAMPTZ, (3), (9) likewise | the same in UTC + '+00:00'  |
| Decimal(p, s)                 | DECIMAL_TEXT(p,s)              | exact text                  |

Datetimes keep their unit's digits (.fff, .ffffff, .fffffffff); zoned ones read back in UTC.
Decimals are text because a NUMERIC column would round them to a double.

Dates and times are ISO text, SQLite's own convention, at a fixed width, so text order is time
order and a window bound (bound in the same format) compares correctly. Tables made elsewhere
read by name (BIGINT, INT, DOUBLE, FLOAT, BOOL, DATETIME, VARCHAR(n), DECIMAL(p,s) via a
double, ...) and otherwise by SQLite's affinity rules; a column with no declared type (an
expression in a query) takes the type of its first non-NULL value. A stored value that does
not fit its column's type fails the read, naming the column: hygge never guesses per value.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl

from hygge.engines.dialect import SLOT, Dialect, quote
from hygge.errors import EntityError, RetryableError, StoreError
from hygge.watermark import Mark

BUSY_TIMEOUT_SECONDS = 60.0  # a writer waits this long for another's transaction to end
_DIGITS = {"ms": 3, "us": 6, "ns": 9}
_UNITS = {"3": "ms", "6": "us", "9": "ns"}
_NAMED: dict[str, pl.DataType] = {
    "TINYINT": pl.Int8(),
    "SMALLINT": pl.Int16(),
    "INT32": pl.Int32(),
    "INTEGER": pl.Int64(),
    "INT": pl.Int64(),
    "BIGINT": pl.Int64(),
    "INT64": pl.Int64(),
    "UINT8": pl.UInt8(),
    "UINT16": pl.UInt16(),
    "UINT32": pl.UInt32(),
    "UINT64": pl.UInt64(),
    "FLOAT32": pl.Float32(),
    "REAL": pl.Float64(),
    "FLOAT": pl.Float64(),
    "DOUBLE": pl.Float64(),
    "DOUBLE PRECISION": pl.Float64(),
    "BOOLEAN": pl.Boolean(),
    "BOOL": pl.Boolean(),
    "TEXT": pl.String(),
    "BLOB": pl.Binary(),
    "DATE": pl.Date(),
    "TIME": pl.Time(),
    "DATETIME": pl.Datetime("us"),
}
_DECLARED = {dtype: name for name, dtype in reversed(_NAMED.items())}  # first name wins
_TYPE = re.compile(r"^\s*([A-Za-z0-9_ ]+?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")
_STORED_AS = {"integer": pl.Int64(), "real": pl.Float64(), "text": pl.String()}


def declared_type(dtype: pl.DataType) -> str | None:
    """The declared type a column of dtype gets in a table hygge creates; None if unsupported."""
    if isinstance(dtype, pl.Datetime):
        name = "TIMESTAMPTZ" if dtype.time_zone else "TIMESTAMP"
        return name if dtype.time_unit == "us" else f"{name}({_DIGITS[dtype.time_unit]})"
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL_TEXT({dtype.precision},{dtype.scale})"
    if isinstance(dtype, (pl.Categorical, pl.Enum, pl.Null)):
        return "TEXT"
    return _DECLARED.get(dtype)


def polars_type(declared: str) -> pl.DataType | None:
    """The Polars type of a declared column type; None when nothing is declared."""
    match = _TYPE.match(declared)
    if not declared.strip() or match is None:
        return _by_affinity(declared.upper()) if declared.strip() else None
    name, first, second = match.group(1).upper(), match.group(2), match.group(3)
    if name in ("TIMESTAMP", "TIMESTAMPTZ"):
        unit = _UNITS.get(first or "6", "us")
        return pl.Datetime(unit, "UTC" if name == "TIMESTAMPTZ" else None)  # type: ignore[arg-type]
    if name == "DECIMAL_TEXT" and first:
        return pl.Decimal(int(first), int(second or 0))
    return _NAMED.get(name) or _by_affinity(name)


def _by_affinity(name: str) -> pl.DataType:
    """SQLite's own rules (section 3.1 of its datatype page), in its order."""
    if "INT" in name:
        return pl.Int64()
    if any(part in name for part in ("CHAR", "CLOB", "TEXT")):
        return pl.String()
    if "BLOB" in name:
        return pl.Binary()
    return pl.Float64()  # REAL, FLOA, DOUB and NUMERIC (DECIMAL(p,s) is held as a double)


def stored_type(dtype: pl.DataType) -> pl.DataType:
    """The type of the Python values sqlite3 returns for a column of dtype."""
    if dtype.is_integer() or dtype == pl.Boolean:
        return pl.Int64()
    if dtype.is_float():
        return pl.Float64()
    return pl.Binary() if dtype == pl.Binary else pl.String()


def type_of_stored(storage_class: str | None) -> pl.DataType:
    """The Polars type for an undeclared column, from `typeof()` of its first value."""
    return _STORED_AS.get(
        storage_class or "", pl.Binary() if storage_class == "blob" else pl.String()
    )


def from_stored(rows: list[tuple[Any, ...]], schema: pl.Schema) -> pl.DataFrame:
    """Rows as sqlite3 returns them -> a frame of schema (built column-wise by Polars)."""
    raw = pl.DataFrame(
        rows, schema={name: stored_type(dtype) for name, dtype in schema.items()}, orient="row"
    )
    return raw.select(_parsed(name, dtype) for name, dtype in schema.items())


def _parsed(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        zone = "%:z" if dtype.time_zone else ""
        return column.str.to_datetime(
            f"%Y-%m-%d %H:%M:%S%.f{zone}", time_unit=dtype.time_unit, time_zone=dtype.time_zone
        )
    if dtype == pl.Date:
        return column.str.to_date("%Y-%m-%d")
    if dtype == pl.Time:
        return column.str.to_time("%H:%M:%S%.f")
    return column.cast(dtype)


def to_stored(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame as the values hygge stores (see the table above), all vectorized."""
    return frame.select(_stored(name, dtype) for name, dtype in frame.schema.items())


def _stored(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            column = column.dt.convert_time_zone("UTC")
        zone = "+00:00" if dtype.time_zone else ""
        return column.dt.strftime(f"%Y-%m-%d %H:%M:%S%.{_DIGITS[dtype.time_unit]}f{zone}")
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d")
    if dtype == pl.Time:
        return column.dt.strftime("%H:%M:%S%.6f")
    if isinstance(dtype, (pl.Decimal, pl.Categorical, pl.Enum, pl.Null)):
        return column.cast(pl.String)
    return column


def definitions(schema: pl.Schema) -> str:
    """Column definitions of a new table: every column nullable, typed by the mapping."""
    parts = []
    for name, dtype in schema.items():
        declared = declared_type(dtype)
        if declared is None:
            raise StoreError(
                f"column {name!r} is {dtype}, which the sqlite store cannot hold",
                hint="cast it in the source (for example to a string)",
            )
        parts.append(f"{quote(name)} {declared}")
    return ", ".join(parts)


def fits(source: str, destination: str) -> bool:
    """Whether a destination column's declared type holds every value of the source's:
    the same Polars type, a wider integer of the same sign, or a wider float."""
    have, want = polars_type(source), polars_type(destination)
    if have is None or want is None or have == want:
        return have == want
    if have.is_integer() and want.is_integer():
        return bool(
            have.is_signed_integer() == want.is_signed_integer() and _bits(have) <= _bits(want)
        )
    return have == pl.Float32 and want == pl.Float64


def _bits(dtype: pl.DataType) -> int:
    widths: dict[pl.DataType, int] = {pl.Int8(): 8, pl.Int16(): 16, pl.Int32(): 32}
    widths |= {pl.UInt8(): 8, pl.UInt16(): 16, pl.UInt32(): 32}
    return widths.get(dtype, 64)


def bound_value(mark: Mark) -> Any:
    """A watermark as the value it is stored as, so SQLite compares like with like."""
    if mark.kind == "decimal":
        raise EntityError(
            "a decimal watermark cannot be compared in SQLite: it is stored as text",
            hint="use an integer, date, datetime or string watermark column",
        )
    if mark.kind not in ("date", "datetime"):
        return mark.value
    dtype = pl.Date() if mark.kind == "date" else pl.Datetime(mark.unit or "us", mark.tz)  # type: ignore[arg-type]
    series = pl.Series("mark", [mark.value]).cast(pl.Int64)
    if mark.kind == "date":
        series = series.cast(pl.Int32)
    frame = to_stored(series.cast(dtype).to_frame())
    return frame.item()


class SqliteDialect(Dialect):
    """Bound values in the stored format (`bound_value`), so a date compares text to text."""

    def bind(self, mark: Mark) -> tuple[str, Any]:
        return SLOT, bound_value(mark)


DIALECT = SqliteDialect()


def connect(path: str, *, create: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (hygge opens its transactions itself) that waits for
    another writer instead of failing at once; usable from the coordinator's threads."""
    mode = "rwc" if create else "rw"
    con = sqlite3.connect(
        f"{Path(path).absolute().as_uri()}?mode={mode}",
        uri=True,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
    )
    if create:
        con.execute("PRAGMA journal_mode=WAL")  # readers read while a writer publishes
    return con


def mapped(exc: sqlite3.Error | OSError, message: str, error: type[EntityError]) -> EntityError:
    """The one place sqlite3 errors become hygge errors: a database another process keeps
    locked past the busy timeout is transient (the flow retries), the rest fail the entity."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, sqlite3.OperationalError) and "locked" in detail.lower():
        return RetryableError(f"{message}: {detail}", hint="another process holds the database")
    return error(f"{message}: {detail}")

"""Column types as a user writes them (`cast: {amount: decimal(12, 2)}`) and as hygge shows
them (`hygge schema`): the same words both ways, shorter than Polars' own
`Datetime(time_unit='us', time_zone='UTC')`."""

from __future__ import annotations

import re

import polars as pl

TYPES: dict[str, pl.DataType] = {
    "int8": pl.Int8(),
    "int16": pl.Int16(),
    "int32": pl.Int32(),
    "int64": pl.Int64(),
    "uint8": pl.UInt8(),
    "uint16": pl.UInt16(),
    "uint32": pl.UInt32(),
    "uint64": pl.UInt64(),
    "float32": pl.Float32(),
    "float64": pl.Float64(),
    "string": pl.String(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "time": pl.Time(),
    "datetime": pl.Datetime("us"),
    "binary": pl.Binary(),
}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_DATETIME = re.compile(r"^datetime\((ms|us|ns)(?:,\s*([^)]+))?\)$")


def parse_type(text: str) -> pl.DataType:
    """A type as `cast` writes it: a name of TYPES, decimal(p, s) or datetime(unit[, zone])."""
    name = text.strip().lower()
    if name in TYPES:
        return TYPES[name]
    if match := _DECIMAL.match(name):
        return pl.Decimal(int(match[1]), int(match[2]))
    if match := _DATETIME.match(text.strip()):
        return pl.Datetime(match[1], match[2].strip() if match[2] else None)  # type: ignore[arg-type]
    raise ValueError(
        f"{text!r} is not a type: use {', '.join(TYPES)}, decimal(precision, scale) or"
        " datetime(ms|us|ns[, time zone])"
    )


def type_name(dtype: pl.DataType) -> str:
    """dtype as `cast` writes it (`int64`, `decimal(12, 2)`, `datetime(us, UTC)`); a type
    `cast` has no word for (lists, structs, ...) as Polars names it."""
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision}, {dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        zone = f", {dtype.time_zone}" if dtype.time_zone else ""
        return f"datetime({dtype.time_unit}{zone})"
    return next((name for name, known in TYPES.items() if known == dtype), str(dtype))

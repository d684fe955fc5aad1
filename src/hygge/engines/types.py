"""What the engines' type maps share: a table of plain types, and floats that round integers."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from hygge.errors import StoreError

# Integer types by the bits their values need (sign aside), floats by the bits of the
# integers they hold exactly; the names are DuckDB's and PostgreSQL's.
_INTEGER_BITS = {
    "tinyint": 7, "smallint": 15, "int2": 15, "integer": 31, "int4": 31, "bigint": 63,
    "int8": 63, "hugeint": 127, "utinyint": 8, "usmallint": 16, "uinteger": 32, "ubigint": 64,
    "uhugeint": 128,
}  # fmt: skip
_FLOAT_BITS = {"float": 24, "real": 24, "float4": 24, "double": 53, "double precision": 53}


def simple_type(
    name: str, dtype: pl.DataType, simple: Mapping[type[pl.DataType], str], engine: str
) -> str:
    """dtype's column type from an engine's table of plain types; a type the table lacks
    (nested lists and structs, objects) stops the load, naming the column."""
    found = simple.get(dtype.base_type())
    if found is None:
        raise StoreError(
            f"column {name!r} is {dtype}, which a {engine} column cannot hold",
            hint="cast or drop the column in the source",
        )
    return found


def rounds_in_float(source: str, destination: str) -> bool:
    """Would the source's values round in a float destination? DuckDB and PostgreSQL cast
    BIGINT (and decimals) to DOUBLE implicitly, and 2**53 + 1 comes back as 2**53."""
    mantissa = _FLOAT_BITS.get(destination.lower())
    if mantissa is None:
        return False
    if source.lower().startswith(("decimal", "numeric")):
        return True
    return _INTEGER_BITS.get(source.lower(), 0) > mantissa


def named_type(
    column_type: Callable[[str, pl.DataType], str], name: str, dtype: pl.DataType
) -> str | None:
    """column_type's name for dtype; None where it refuses the type (as a load would)."""
    try:
        return column_type(name, dtype)
    except StoreError:
        return None

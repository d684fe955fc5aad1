"""Typed watermark values that round-trip exactly, and the lookback arithmetic on them.

A Mark keeps the column's physical value (epoch integers for dates and datetimes, in the
column's own unit and time zone), so nanoseconds and zones survive the journal unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import polars as pl

from hygge.errors import WatermarkError

Kind = Literal["int", "date", "datetime", "string", "decimal"]
_UNIT_PER_SECOND = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '2h', '3d', '1w' -> timedelta; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 2h or 1d")
    return timedelta(seconds=int(match.group(1)) * _DURATION_UNITS[match.group(2)])


def kind_of(dtype: pl.DataType, column: str) -> Kind:
    if dtype.is_integer():
        return "int"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.String:
        return "string"
    if isinstance(dtype, pl.Decimal):
        return "decimal"
    raise WatermarkError(
        f"watermark column {column!r} has type {dtype}, which cannot order rows",
        hint="use an integer, date, datetime, string or decimal column",
    )


@dataclass(frozen=True)
class Mark:
    """One watermark value: its kind and physical value, plus datetime unit and zone."""

    kind: Kind
    value: int | str | Decimal
    unit: str | None = None
    tz: str | None = None

    @classmethod
    def max_of(cls, series: pl.Series) -> Mark | None:
        """The largest non-null value of a column, exactly; None when there is none."""
        kind = kind_of(series.dtype, series.name)
        physical = series.to_physical() if kind in ("date", "datetime") else series
        top = physical.max()
        if top is None:
            return None
        if isinstance(series.dtype, pl.Datetime):
            return cls("datetime", int(top), series.dtype.time_unit, series.dtype.time_zone)  # type: ignore[arg-type]
        return cls(kind, top if kind in ("string", "decimal") else int(top))  # type: ignore[arg-type]

    def encode(self) -> str:
        data: dict[str, Any] = {"kind": self.kind, "value": str(self.value)}
        if self.kind == "datetime":
            data |= {"unit": self.unit, "tz": self.tz}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def decode(cls, text: str) -> Mark:
        data = json.loads(text)
        kind: Kind = data["kind"]
        raw = data["value"]
        value: int | str | Decimal = (
            raw if kind == "string" else Decimal(raw) if kind == "decimal" else int(raw)
        )
        return cls(kind, value, data.get("unit"), data.get("tz"))

    def as_python(self) -> Any:
        """The value as a Python object, for display (may round nanoseconds)."""
        if self.kind in ("date", "datetime"):
            return pl.Series([self.value]).cast(self._dtype()).item()
        return self.value

    def display(self) -> str:
        if self.kind == "datetime" and self.unit == "ns":
            return str(pl.Series([self.value]).cast(self._dtype()).cast(pl.String).item())
        return str(self.as_python())

    def expr_for(self, dtype: pl.DataType, column: str) -> pl.Expr:
        """This value as a literal of the column's type, refusing what can't compare."""
        self.check_fits(dtype, column)
        if self.kind == "datetime" and isinstance(dtype, pl.Datetime):
            return pl.lit(self.value, dtype=pl.Int64).cast(self._dtype()).cast(dtype)
        if self.kind == "date":
            return pl.lit(self.value, dtype=pl.Int32).cast(pl.Date)
        return pl.lit(self.value, dtype=dtype)

    def check_fits(self, dtype: pl.DataType, column: str) -> None:
        kind = kind_of(dtype, column)
        if kind != self.kind:
            raise WatermarkError(
                f"watermark of {column!r} is a {self.kind} ({self.display()})"
                f" but the column is {dtype}",
                hint="reset the watermark (hygge journal reset) if the column changed type",
            )
        if isinstance(dtype, pl.Datetime) and (dtype.time_zone is None) != (self.tz is None):
            aware, naive = (
                ("the column", "the watermark")
                if self.tz is None
                else ("the watermark", "the column")
            )
            raise WatermarkError(
                f"cannot compare watermark {self.display()} with column {column!r} ({dtype}):"
                f" {aware} has a time zone and {naive} has none",
                hint="give both a time zone (or neither); the stored value can be set with"
                " hygge journal set",
            )

    def minus(self, lookback: int | str | None) -> Mark:
        """This mark moved back by a lookback (a number for ints, a duration for time)."""
        if lookback in (None, 0, ""):
            return self
        if self.kind == "int" and isinstance(lookback, int):
            return replace(self, value=int(self.value) - lookback)
        if self.kind in ("date", "datetime") and isinstance(lookback, str):
            delta = parse_duration(lookback)
            if self.kind == "date":
                return replace(self, value=int(self.value) - delta.days)
            per_second = _UNIT_PER_SECOND[self.unit or "us"]
            return replace(self, value=int(self.value) - int(delta.total_seconds() * per_second))
        raise WatermarkError(
            f"lookback {lookback!r} does not fit a {self.kind} watermark",
            hint="use a number for integer columns and a duration like 2h for dates and times",
        )

    def _dtype(self) -> pl.DataType:
        if self.kind == "date":
            return pl.Date()
        return pl.Datetime(self.unit or "us", self.tz)  # type: ignore[arg-type]


def mark_from_user(value: Any, dtype: pl.DataType, column: str) -> Mark:
    """A value written by a user (config `start`, --from/--to, journal set) as a Mark of the
    column's type. A date, or a time without a zone, given for a zone-aware column means
    that instant in UTC; a zoned time for a column without a zone is refused (its zone is
    unknown). Errors quote the value as the user wrote it."""
    kind = kind_of(dtype, column)
    try:
        parsed = _parsed(value, kind)
        if isinstance(dtype, pl.Datetime):
            series = _instant(parsed, dtype, column, value)
        else:
            series = pl.Series(column, [parsed]).cast(dtype)
    except (ValueError, TypeError, pl.exceptions.PolarsError) as exc:
        raise WatermarkError(
            f"{_as_written(value)!r} is not a valid value for watermark column {column!r}"
            f" ({dtype})",
            hint=f"write it like the column's values, e.g. {_example(dtype)}",
        ) from exc
    mark = Mark.max_of(series)
    if mark is None:
        raise WatermarkError(f"{_as_written(value)!r} is not a value of column {column!r}")
    return mark


def _parsed(value: Any, kind: Kind) -> Any:
    """ISO text as a date or datetime for those columns; a date alone is its midnight."""
    if isinstance(value, str) and kind == "datetime":
        value = datetime.fromisoformat(value)
    elif isinstance(value, str) and kind == "date":
        value = date.fromisoformat(value)
    if kind == "datetime" and isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value


def _instant(value: Any, dtype: pl.Datetime, column: str, written: Any) -> pl.Series:
    """A datetime as the column's type: zoned values convert, naive ones are UTC when the
    column has a zone."""
    zoned = isinstance(value, datetime) and value.tzinfo is not None
    if zoned and dtype.time_zone is None:
        raise WatermarkError(
            f"{_as_written(written)!r} has a time zone, but watermark column {column!r}"
            f" ({dtype}) has none",
            hint=f"write it without a zone, like the column's values, e.g. {_example(dtype)}",
        )
    if isinstance(value, datetime) and dtype.time_zone is not None and not zoned:
        value = value.replace(tzinfo=UTC)
    series = pl.Series(column, [value])
    if not isinstance(value, datetime):  # e.g. an epoch number
        return series.cast(dtype)
    series = series.cast(pl.Datetime(dtype.time_unit, "UTC" if dtype.time_zone else None))
    return series.dt.convert_time_zone(dtype.time_zone) if dtype.time_zone else series


def _as_written(value: Any) -> str:
    """A value as the user typed it (YAML dates and times come back in ISO form)."""
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def _example(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return "2026-01-31T00:00:00"
        return "2026-01-31T00:00:00+00:00 (a date, or a time without a zone, means UTC)"
    if dtype == pl.Date:
        return "2026-01-31"
    return {"int": "1200", "string": "the text to start from", "decimal": "12.50"}[
        kind_of(dtype, "")
    ]

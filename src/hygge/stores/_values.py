"""Values a Polars frame holds but a database store's engine refuses, found in a batch
before the engine sees it, so the load fails at that batch naming the column, the row and a
sample of the value.

Why: PostgreSQL refuses such a value only when the load's one COPY ends (at publish), as a
line number of the whole stream; DuckDB fails converting it without naming the column. Each
check is one vectorized pass over a column (milliseconds per million rows). An engine's
rules are the checks that apply to it:
- `POSTGRES`: text holding NUL (`\\x00`, which its text cannot store); dates and timestamps
  before 4714 BC or after its last day (5874897 AD for dates), or whose milliseconds ADBC's
  conversion to microseconds overflows; decimals with more digits than their type's
  precision (Arrow does not enforce it, `numeric(p,s)` does); millisecond durations too long
  for its intervals (microseconds).
- `DUCKDB`: millisecond durations too long for its intervals (it keeps millisecond
  timestamps as they are).
Temporal and decimal values are sampled from their stored integer: out of range, Python's
date types cannot hold them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from hygge.errors import StoreError
from hygge.redact import value_sample

_I64 = 2**63 - 1
_DAYS = (-2440588, 2145042905)  # 4714-11-24 BC .. 5874897-12-31, in days since 1970-01-01
_FIRST_US = -210866803200000000  # 4714-11-24 BC 00:00, in microseconds since 1970-01-01
_MILLIS = (-(_I64 // 1000), _I64 // 1000)  # milliseconds whose microseconds fit in an Int64


@dataclass(frozen=True)
class Refused:
    """The first value of a batch the engine would refuse."""

    column: str
    row: int  # index in the batch
    reason: str
    value: str  # as a message shows it: a string's repr, a number, a stored integer


@dataclass(frozen=True)
class Check:
    bad: pl.Expr  # true where the column holds a refused value
    reason: str


Rule = Callable[[str, pl.DataType], Check | None]


def first_refused(frame: pl.DataFrame, rules: tuple[Rule, ...]) -> Refused | None:
    """The first value of the frame the rules refuse, in column order; None when none does.
    A column is checked by the first rule that has a check for its type."""
    checks = {
        name: check
        for name, dtype in frame.schema.items()
        if (check := next((c for rule in rules if (c := rule(name, dtype))), None))
    }
    if not checks:
        return None
    found = frame.select(check.bad.any().alias(name) for name, check in checks.items()).row(0)
    for (name, check), hit in zip(checks.items(), found, strict=True):
        if hit:
            row = int(frame.select(check.bad.arg_true().first()).item())
            return Refused(name, row, check.reason, shown(frame[name], row))
    return None


def refusal(
    found: Refused, where: str, engine: str, dtype: str, batch: int, rows: int
) -> StoreError:
    """The error of a load whose batch number `batch` (after `rows` rows) holds `found`;
    the value is not shown when its column's name looks secret."""
    return StoreError(
        f"{where}: column {found.column!r} ({dtype}) of batch {batch} holds a value {engine}"
        f" refuses (row {rows + found.row + 1} of the load): {found.reason}; the value:"
        f" {value_sample(found.column, found.value)}",
        hint="correct the value in the source, or filter or convert it in the home's query",
    )


def shown(series: pl.Series, row: int) -> str:
    """A value as a message shows it, even one Python's date types cannot hold."""
    dtype = series.dtype
    if isinstance(dtype, pl.Decimal):
        return str(Decimal(int(series.to_physical()[row])).scaleb(-(dtype.scale or 0)))
    if dtype == pl.Date:
        return f"{series.to_physical()[row]} days from 1970-01-01"
    if isinstance(dtype, pl.Datetime):
        return f"{series.to_physical()[row]} {dtype.time_unit} from 1970-01-01"
    if isinstance(dtype, pl.Duration):
        return f"{series.to_physical()[row]} {dtype.time_unit}"
    return repr(series[row])


def _outside(name: str, low: int, high: int, reason: str) -> Check:
    return Check(pl.col(name).to_physical().is_between(low, high).not_(), reason)


def no_nul(name: str, dtype: pl.DataType) -> Check | None:
    if dtype != pl.String:
        return None
    return Check(pl.col(name).str.contains("\x00", literal=True), "text cannot hold NUL (\\x00)")


def postgres_range(name: str, dtype: pl.DataType) -> Check | None:
    if dtype == pl.Date:
        return _outside(name, *_DAYS, "outside the range of PostgreSQL's dates")
    if isinstance(dtype, pl.Datetime) and dtype.time_unit != "ns":  # every Int64 of ns fits
        per = 1000 if dtype.time_unit == "ms" else 1
        low, high = -(-_FIRST_US // per), _I64 // per
        return _outside(name, low, high, "outside the range of PostgreSQL's timestamps")
    if isinstance(dtype, pl.Decimal):
        most = 10 ** (dtype.precision or 38) - 1
        return _outside(name, -most, most, f"more digits than {dtype}")
    return None


def millisecond_intervals(name: str, dtype: pl.DataType) -> Check | None:
    """Millisecond durations whose conversion to microseconds overflows an Int64."""
    if isinstance(dtype, pl.Duration) and dtype.time_unit == "ms":
        return _outside(name, *_MILLIS, "too long for an interval of microseconds")
    return None


POSTGRES: tuple[Rule, ...] = (no_nul, postgres_range, millisecond_intervals)
DUCKDB: tuple[Rule, ...] = (millisecond_intervals,)

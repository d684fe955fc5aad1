"""Data checks (`checks:`), counted batch by batch as rows pass and judged before publishing.

Each batch is checked by Polars expressions in one `select` (no extra pass over the data):
NULLs in `not_null` columns, values outside `accepted_values` or `range`. `unique` keeps the
run's key columns to find a key repeated in any two batches (memory: the key columns of the
run's rows); `row_count` and `freshness` judge the totals. Checks see the rows the run loads,
under their source names, before polish. A failed check stops the load before it publishes:
the destination and the watermark stay as they were. A check listed in `warn` only warns.
Example values in messages go through `value_sample` (never a column that looks secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from hygge.config.models import Checks
from hygge.errors import CheckFailed, ConfigError
from hygge.redact import value_sample
from hygge.watermark import parse_duration


@dataclass
class Finding:
    """Rows of the run that failed one check, and one of their values."""

    check: str  # the check's name, e.g. not_null
    label: str  # the check as written, e.g. not_null(email)
    rows: int = 0
    example: str | None = None


class Checker:
    """One entity run's checks: `observe` each batch, then `settle` before the publish."""

    def __init__(self, checks: Checks) -> None:
        self.checks = checks
        self.rows = 0
        self.findings: dict[str, Finding] = {}
        self.keys: list[pl.DataFrame] = []
        self.newest: Any = None

    def observe(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Count the batch's rows that fail a check; the batch goes on unchanged."""
        self.rows += frame.height
        if not frame.height:
            return frame
        conditions = self._conditions(frame.schema)
        if conditions:
            counts = frame.select(
                mask.sum().alias(label) for label, (_, mask) in conditions.items()
            )
            for label, (check, mask) in conditions.items():
                if counts[label][0]:
                    self._found(check, label, int(counts[label][0]), frame.filter(mask))
        if self.checks.unique:
            self.keys.append(
                frame.select(self._columns(frame.schema, self.checks.unique, "unique"))
            )
        self._track_newest(frame)
        return frame

    def settle(self) -> list[str]:
        """Raise CheckFailed naming every failed check not in `warn`; the warnings else."""
        self._judge_unique()
        self._judge_totals()
        failed = [f for f in self.findings.values() if f.check not in self.checks.warn]
        warned = [_describe(f) for f in self.findings.values() if f.check in self.checks.warn]
        if failed:
            raise CheckFailed(
                "checks failed, nothing was published: " + "; ".join(map(_describe, failed)),
                hint="fix the source rows, or change the entity's `checks:` (a check listed in"
                " checks.warn only warns)",
            )
        return warned

    def _conditions(self, schema: pl.Schema) -> dict[str, tuple[str, pl.Expr]]:
        """label -> (check, an expression true on a failing row)."""
        checks, out = self.checks, {}
        for column in self._columns(schema, checks.not_null, "not_null"):
            out[f"not_null({column})"] = ("not_null", pl.col(column).is_null())
        for column, values in checks.accepted_values.items():
            dtype = schema[self._columns(schema, [column], "accepted_values")[0]]
            allowed = pl.Series(values, strict=False).cast(dtype, strict=False)
            outside = pl.col(column).is_not_null() & ~pl.col(column).is_in(allowed.implode())
            out[f"accepted_values({column})"] = ("accepted_values", outside)
        for column, bounds in checks.range.items():
            dtype = schema[self._columns(schema, [column], "range")[0]]
            outside = pl.lit(False)
            if bounds.min is not None:
                outside = outside | (pl.col(column) < pl.lit(bounds.min).cast(dtype))
            if bounds.max is not None:
                outside = outside | (pl.col(column) > pl.lit(bounds.max).cast(dtype))
            out[f"range({column})"] = ("range", outside.fill_null(False))
        return out

    def _columns(self, schema: pl.Schema, columns: list[str], check: str) -> list[str]:
        missing = [c for c in columns if c not in schema]
        if missing:
            raise ConfigError(
                f"checks: {check} names column {missing[0]!r}, which the source does not have",
                hint=f"the source's columns: {', '.join(schema)}",
            )
        return columns

    def _found(self, check: str, label: str, rows: int, failing: pl.DataFrame) -> None:
        finding = self.findings.setdefault(label, Finding(check, label))
        finding.rows += rows
        if finding.example is None and check != "not_null":
            column = label[label.index("(") + 1 : -1]
            finding.example = value_sample(column, repr(failing[column][0]))

    def _track_newest(self, frame: pl.DataFrame) -> None:
        freshness = self.checks.freshness
        if freshness is None:
            return
        newest = frame[self._columns(frame.schema, [freshness.column], "freshness")[0]].max()
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest

    def _judge_unique(self) -> None:
        if not self.keys:
            return
        keys = pl.concat(self.keys)
        repeated = keys.filter(keys.is_duplicated())
        if repeated.height:
            label = f"unique({', '.join(keys.columns)})"
            example = value_sample(keys.columns[0], repr(repeated.row(0)))
            self.findings[label] = Finding("unique", label, repeated.height, example)

    def _judge_totals(self) -> None:
        bounds = self.checks.row_count
        if bounds is not None:
            low, high = bounds.min, bounds.max
            if (low is not None and self.rows < low) or (high is not None and self.rows > high):
                label = f"row_count(min {low}, max {high})"
                self.findings[label] = Finding("row_count", label, self.rows, str(self.rows))
        freshness = self.checks.freshness
        if freshness is not None:
            age = _age(self.newest)
            if age is None or age > parse_duration(freshness.max_age):
                label = f"freshness({freshness.column}, max_age {freshness.max_age})"
                shown = "no rows" if self.newest is None else f"newest {self.newest}"
                self.findings[label] = Finding("freshness", label, 0, shown)


def _age(newest: Any) -> Any:
    """How old the newest value is now (naive datetimes are taken as UTC)."""
    if isinstance(newest, datetime):
        moment = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
        return datetime.now(UTC) - moment
    if isinstance(newest, date):
        return datetime.now(UTC).date() - newest
    return None


def _describe(finding: Finding) -> str:
    if finding.check == "row_count":
        return f"{finding.label}: the run loads {finding.rows} rows"
    if finding.check == "freshness":
        return f"{finding.label}: {finding.example}"
    example = f", e.g. {finding.example}" if finding.example else ""
    return f"{finding.label}: {finding.rows} rows{example}"

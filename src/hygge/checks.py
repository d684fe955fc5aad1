"""Data checks (`checks:`), counted batch by batch as rows pass and judged before publishing.

Each batch is checked by Polars expressions in one `select` (no extra pass over the data):
NULLs in `not_null` columns, values outside `accepted_values` or `range`. `unique` keeps the
run's key columns to find a key repeated in any two batches (memory: the key columns of the
run's rows); `row_count` and `freshness` judge the totals. Checks see the rows the run loads,
under their source names, before polish. What a failure does is the check's `on_fail`: `fail`
stops the load before it publishes (the destination and the watermark stay as they were),
`warn` only warns, and `quarantine` takes the failing rows out of the batch, with a column
naming the checks each failed, for `hygge.quarantine` to load beside the good ones (rows held
back count for no other check). Example values go through `value_sample` (never a column that
looks secret).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from hygge.config.models import CheckName, Checks, OnFail
from hygge.errors import CheckFailed, ConfigError
from hygge.redact import value_sample
from hygge.watermark import parse_duration

FAILED_CHECKS = "hygge_failed_checks"  # the quarantine's column naming what each row failed
EXAMPLES = 3  # distinct example values kept per failed check


@dataclass
class Finding:
    """Rows of the run that failed one check, and a few of their values."""

    check: CheckName
    label: str  # the check as written, e.g. not_null(email)
    on_fail: OnFail
    rows: int = 0
    examples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.check == "row_count":
            return f"{self.label}: the run loads {self.rows} rows"
        if self.check == "freshness":
            return f"{self.label}: {self.examples[0]}"
        shown = f", e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{self.label}: {self.rows} rows{shown}"


@dataclass(frozen=True)
class CheckReport:
    """What the checks found in one run, for its summary."""

    rows_checked: int
    findings: tuple[Finding, ...]
    quarantined: int = 0  # rows moved to the quarantine


class Checker:
    """One entity run's checks: `observe` each batch, then `settle` before the publish."""

    def __init__(self, checks: Checks) -> None:
        self.checks = checks
        self.rows = 0  # rows checked
        self.passed = 0  # rows that go on to the destination
        self.held = 0  # rows taken out for the quarantine
        self.findings: dict[str, Finding] = {}
        self.keys: list[pl.DataFrame] = []
        self.newest: Any = None

    def observe(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """Count the batch's rows that fail a check. The rows that go on, and those a
        quarantining check holds back (with FAILED_CHECKS), or None when there are none."""
        self.rows += frame.height
        held = None
        conditions = self._conditions(frame.schema) if frame.height else {}
        if conditions:
            counts = frame.select(
                mask.sum().alias(label) for label, (_, mask) in conditions.items()
            ).row(0, named=True)
            failed = {label: int(n) for label, n in counts.items() if n}
            for label, rows in failed.items():
                check, mask = conditions[label]
                self._found(check, label, rows, frame, mask)
            holding = [label for label in failed if self._action(conditions[label][0])]
            if holding:
                frame, held = _split(frame, {label: conditions[label][1] for label in holding})
                self.held += held.height
        self.passed += frame.height
        if self.checks.unique and frame.height:
            self.keys.append(
                frame.select(self._columns(frame.schema, self.checks.unique, "unique"))
            )
        self._track_newest(frame)
        return frame, held

    def settle(self) -> CheckReport:
        """Raise CheckFailed naming every failed check whose on_fail is fail; else the
        report of what was found."""
        self._judge_unique()
        self._judge_totals()
        failed = [f for f in self.findings.values() if f.on_fail == "fail"]
        if failed:
            raise CheckFailed(
                "checks failed, nothing was published: " + "; ".join(map(str, failed)),
                hint="fix the source rows, or change the check's on_fail in the entity's"
                " `checks:` (warn only warns, quarantine moves failing rows aside)",
            )
        return CheckReport(self.rows, tuple(self.findings.values()), self.held)

    def _action(self, check: CheckName) -> bool:
        return self.checks.action(check) == "quarantine"

    def _conditions(self, schema: pl.Schema) -> dict[str, tuple[CheckName, pl.Expr]]:
        """label -> (check, an expression true on a failing row)."""
        checks = self.checks
        out: dict[str, tuple[CheckName, pl.Expr]] = {}
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

    def _found(
        self, check: CheckName, label: str, rows: int, frame: pl.DataFrame, mask: pl.Expr
    ) -> None:
        finding = self.findings.setdefault(label, self._finding(check, label))
        finding.rows += rows
        if len(finding.examples) < EXAMPLES and check != "not_null":
            column = label[label.index("(") + 1 : -1]
            values = frame.filter(mask)[column].unique(maintain_order=True)
            for value in values.head(EXAMPLES - len(finding.examples)).to_list():
                shown = value_sample(column, repr(value))
                if shown not in finding.examples:
                    finding.examples.append(shown)

    def _finding(self, check: CheckName, label: str, rows: int = 0, shown: str = "") -> Finding:
        return Finding(check, label, self.checks.action(check), rows, [shown] if shown else [])

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
            self.findings[label] = self._finding("unique", label, repeated.height, example)

    def _judge_totals(self) -> None:
        bounds = self.checks.row_count
        if bounds is not None:
            low, high = bounds.min, bounds.max
            loads = self.passed
            if (low is not None and loads < low) or (high is not None and loads > high):
                label = f"row_count(min {low}, max {high})"
                self.findings[label] = self._finding("row_count", label, loads, str(loads))
        freshness = self.checks.freshness
        if freshness is not None:
            age = _age(self.newest)
            if age is None or age > parse_duration(freshness.max_age):
                label = f"freshness({freshness.column}, max_age {freshness.max_age})"
                shown = "no rows" if self.newest is None else f"newest {self.newest}"
                self.findings[label] = self._finding("freshness", label, 0, shown)


def _age(newest: Any) -> Any:
    """How old the newest value is now (naive datetimes are taken as UTC)."""
    if isinstance(newest, datetime):
        moment = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
        return datetime.now(UTC) - moment
    if isinstance(newest, date):
        return datetime.now(UTC).date() - newest
    return None


def _split(frame: pl.DataFrame, holding: dict[str, pl.Expr]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows no holding check fails, and the rest with FAILED_CHECKS naming the checks
    each failed (comma-separated, in the order the checks are written)."""
    named = pl.concat_str(
        [pl.when(mask).then(pl.lit(label)) for label, mask in holding.items()],
        separator=", ",
        ignore_nulls=True,
    )
    marked = frame.with_columns(named.alias(FAILED_CHECKS))
    failing = pl.col(FAILED_CHECKS) != ""
    return marked.filter(~failing).drop(FAILED_CHECKS), marked.filter(failing)

"""How an engine writes the SQL a home sends: names, bound values, the window predicate.

The window is pushed down as `(col >= ? AND col <= ?) OR col IS NULL` whose values are bound
parameters, never spliced into the text. Every name goes through the dialect's `quote` as the
SQL is built, and every bound value is first written as `SLOT`, a mark no SQL text can hold
(NUL): `finish` turns the slots into the engine's own placeholders (`?`, `$1`, `%s`) once the
statement is whole, so a query's own `%` or `?` and a name holding `"`, `` ` `` or `]` are
never mistaken for one. The base class is the SQL standard's dialect (PostgreSQL, DuckDB and
SQLite quote alike); an engine module subclasses it where it differs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from hygge.redact import redact
from hygge.watermark import Mark

log = logging.getLogger(__name__)

SLOT = "\0?"  # where a bound value goes; NUL cannot occur in a name or in SQL text


def quote(identifier: str) -> str:
    """An identifier quoted by the SQL standard's rule (a `"` inside is doubled)."""
    return '"' + identifier.replace('"', '""') + '"'


class Dialect:
    """The SQL standard's way; an engine overrides what it does otherwise."""

    everything: ClassVar[str] = "TRUE"  # the predicate that keeps every row

    def quote(self, identifier: str) -> str:
        return quote(identifier)

    def table(self, dotted: str) -> str:
        """`schema.table` quoted part by part (the name was validated when the config loaded)."""
        return ".".join(self.quote(part) for part in dotted.split("."))

    def bind(self, mark: Mark) -> tuple[str, Any]:
        """A Mark as SQL text holding one `SLOT` (a cast around it where the engine needs
        one to keep the Mark's precision) and the value bound to it."""
        return SLOT, mark.as_python()

    def finish(self, sql: str, params: Sequence[Any]) -> tuple[str, list[Any] | None]:
        """The statement and its parameters as the driver takes them: slots become `?`
        here; no parameters are None (a driver then sends the text as it is)."""
        return sql.replace(SLOT, "?"), list(params) or None

    def log(self, source: str, sql: str, params: Sequence[Any]) -> None:
        """-v: a statement as the driver takes it and the values it binds, secrets masked."""
        if log.isEnabledFor(logging.DEBUG):
            text, values = self.finish(sql, params)
            bound = redact(repr(values or []))
            log.debug("%s: SQL %s; parameters %s", redact(source), redact(text), bound)

    def between(
        self, column: str, lower: Mark | None, upper: Mark | None, nullable: bool
    ) -> tuple[str, list[Any]]:
        """`column` within [lower, upper] (either may be open) as SQL and its bound values;
        with `nullable`, rows whose column is NULL too (the flow counts or keeps them)."""
        name, bounds, params = self.quote(column), [], []
        for operator, mark in ((">=", lower), ("<=", upper)):
            if mark is not None:
                text, value = self.bind(mark)
                bounds.append(f"{name} {operator} {text}")
                params.append(value)
        if not bounds:
            return self.everything, []
        predicate = f"({' AND '.join(bounds)})"
        return (f"{predicate} OR {name} IS NULL" if nullable else predicate), params

"""What `hygge debug` checks of one entity without moving a row.

The home and the store check themselves (paths, connections, tables); then the columns a run
relies on are checked against the home's schema (read from metadata, no rows): the watermark
column exists with a type that orders rows and its `start` and `lookback` fit that type, the
primary key's columns exist with types rows can be matched on, and a store that refuses some
column names (open mirroring) is asked about each name as polish leaves it. Each of these would
otherwise stop the entity only once `hygge go` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl

from hygge.config.models import Watermark
from hygge.errors import HyggeError
from hygge.flow import watermark_moved
from hygge.journal import WatermarkRecord
from hygge.plan import PlannedEntity
from hygge.polish import Polisher
from hygge.watermark import Kind, Mark, kind_of, mark_from_user

_UNMATCHABLE = (pl.List, pl.Array, pl.Struct, pl.Object, pl.Null)


def entity_problems(entity: PlannedEntity, stored: WatermarkRecord | None = None) -> list[str]:
    """Everything that would stop this entity's run and can be found now; empty when fine.
    `stored` is the journal's committed watermark of the entity, if any."""
    home, store = entity.home, entity.store
    home_problems = home.preflight() or home.check()
    store_problems = store.preflight() or store.check()
    if entity.quarantine is not None:
        held = entity.quarantine.preflight() or entity.quarantine.check()
        store_problems += [f"quarantine {entity.quarantine.destination()}: {p}" for p in held]
    if home_problems:
        return home_problems + store_problems
    moved = watermark_moved(entity, stored)
    if moved is not None:
        return [*store_problems, moved.message]
    return store_problems + column_problems(entity, stored)


def column_problems(entity: PlannedEntity, stored: WatermarkRecord | None = None) -> list[str]:
    """The watermark and primary-key columns against the home's schema, and every column's
    name (as polish leaves it) against what the store refuses."""
    watermark = None if entity.home.new_files_only else entity.settings.watermark
    keys = entity.settings.primary_key or []
    if watermark is None and not keys and not entity.store.refuses_names:
        return []
    try:
        schema = entity.home.schema()
    except HyggeError as exc:
        return [exc.message]
    where = entity.home.describe()
    problems = _watermark_problems(watermark, schema, where, stored) if watermark else []
    if schema:  # no columns yet (no data files): an empty read does not match keys
        problems += [p for key in keys if (p := _key_problem(key, schema, where))]
    return problems + _name_problems(entity, schema.names())


def _name_problems(entity: PlannedEntity, columns: list[str]) -> list[str]:
    """The store's refusals of the columns' destination names (polish may rename them)."""
    if not entity.store.refuses_names:
        return []
    polish = entity.settings.polish
    if polish is not None:
        try:
            columns = list(Polisher(polish, "", datetime.now(UTC)).names(columns).values())
        except HyggeError as exc:
            return [exc.message]
    hint = " (let polish rename it: rename, remove_spaces or remove_special)"
    return [p + hint for name in columns if (p := entity.store.column_problem(name))]


def _watermark_problems(
    watermark: Watermark, schema: pl.Schema, where: str, stored: WatermarkRecord | None
) -> list[str]:
    column = watermark.column
    dtype = schema.get(column)
    if dtype is None:
        there = ", ".join(schema.names()) or "none, it holds no data yet"
        return [f"watermark column {column!r} is not in {where} (columns there: {there})"]
    try:
        kind = kind_of(dtype, column)
    except HyggeError as exc:
        return [exc.message]
    problems = []
    if stored is not None and stored.value and stored.column == column:
        committed = Mark.decode(stored.value)  # the journal's, checked as a run checks it
        problems.append(_problem(lambda: committed.check_fits(dtype, column)))
    if watermark.start is not None:
        problems.append(_problem(lambda: mark_from_user(watermark.start, dtype, column)))
    lookback = _problem(lambda: _any_mark(kind, dtype).minus(watermark.lookback))
    if lookback:
        problems.append(f"watermark column {column!r} ({dtype}): {lookback}")
    return [p for p in problems if p]


def _key_problem(key: str, schema: pl.Schema, where: str) -> str | None:
    dtype = schema.get(key)
    if dtype is None:
        return f"primary key column {key!r} is not in {where} (columns there: {', '.join(schema)})"
    if isinstance(dtype, _UNMATCHABLE):
        return f"primary key column {key!r} has type {dtype}, which rows cannot be matched on"
    return None


def _any_mark(kind: Kind, dtype: pl.DataType) -> Mark:
    """A mark of the column's kind, to try the lookback arithmetic on."""
    if isinstance(dtype, pl.Datetime):
        return Mark(kind, 0, dtype.time_unit, dtype.time_zone)
    if kind == "string":
        return Mark(kind, "")
    return Mark(kind, Decimal(0) if kind == "decimal" else 0)


def _problem(attempt: Callable[[], object]) -> str | None:
    """The message of what attempt raises (a hygge error, or a malformed value), else None."""
    try:
        attempt()
    except HyggeError as exc:
        return exc.message
    except ValueError as exc:
        return str(exc)
    return None

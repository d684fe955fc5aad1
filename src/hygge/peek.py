"""Seeing before moving: an entity's columns as its home delivers them and as they will land,
and its first rows as they will land. Nothing is written and no journal is opened; the home is
asked for its schema (no rows), or for one batch."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from hygge.config.project import Project, as_project
from hygge.errors import HyggeError
from hygge.plan import Plan, PlannedEntity
from hygge.plugin import LandedColumn, Window
from hygge.polish import Polisher
from hygge.steering import planned_entity
from hygge.typenames import type_name

PEEK_RUN = "preview"  # the run id polish writes into a preview's run_id column


@dataclass(frozen=True)
class Column:
    """One column: its source name (None for a column polish adds or one only the destination
    has), the name it lands under, its type, and (when the destination exists) its type there
    and what a load does with it (`verdict`)."""

    source: str | None
    destination: str
    type: str
    store_type: str | None = None
    verdict: str | None = None


@dataclass(frozen=True)
class Landing:
    """An entity's columns held to its destination: `exists` is False when there is none yet,
    None when the store cannot tell or could not be read (`problem`; then no verdicts)."""

    destination: str
    exists: bool | None
    columns: list[Column]
    problem: str | None = None  # why the destination could not be read


def columns(project: Project | str | Path | None, entity: str) -> list[Column]:
    """The entity's columns: the home's, then those its polish adds."""
    return landing_columns(planned_entity(as_project(project), entity))


def landing(project: Project | str | Path | None, entity: str) -> Landing:
    """The entity's columns, each beside the destination's column of its name (the store reads
    its metadata only), then the columns only the destination has."""
    planned = planned_entity(as_project(project), entity)
    incoming, schema = _landed(planned)
    where = planned.store.destination()
    try:
        held = planned.store.landed_columns(schema)
    except HyggeError as exc:  # the home's columns are still worth seeing
        return Landing(where, None, incoming, exc.message)
    if not held:
        return Landing(where, None if held is None else False, incoming)
    replaced = planned.run_type == "full_drop"
    by_name = {c.name: c for c in held}
    found = [_judged(c, by_name.get(c.destination), replaced) for c in incoming]
    only = "dropped (full_drop)" if replaced else "kept, filled with nulls"
    found += [Column(None, c.name, "-", c.type, only) for c in held if c.name not in schema]
    return Landing(where, True, found)


def _judged(column: Column, held: LandedColumn | None, replaced: bool) -> Column:
    """column with the destination's type and what a load does with it."""
    if held is None:
        return replace(column, verdict="new: added")
    if held.same:
        verdict = "same"
    elif replaced:
        verdict = "type differs: replaced (full_drop)"
    else:
        verdict = "type differs: converted" if held.holds else "type differs: will fail"
    return replace(column, store_type=held.type, verdict=verdict)


def landing_columns(planned: PlannedEntity) -> list[Column]:
    """A planned entity's columns as they land (the home's schema, polished)."""
    return _landed(planned)[0]


def _landed(planned: PlannedEntity) -> tuple[list[Column], pl.Schema]:
    """The columns as they land, and their schema."""
    schema, polish = planned.home.schema(), planned.settings.polish
    if polish is None:
        return [Column(name, name, type_name(dtype)) for name, dtype in schema.items()], schema
    polisher = Polisher(polish, PEEK_RUN, datetime.now(UTC))
    landed = polisher.apply(pl.DataFrame(schema=schema)).schema
    names = polisher.names(list(schema))
    found = [Column(s, names[s], type_name(landed[names[s]])) for s in schema]
    return found + [Column(None, name, type_name(landed[name])) for name in polish.added()], landed


def destination_columns(plan: Plan) -> dict[str, list[Column] | str]:
    """Each planned entity's columns as they land, or why they cannot be told (a home that
    cannot be reached, a column polish or a check cannot find): for `hygge go --dry-run -v`."""
    found: dict[str, list[Column] | str] = {}
    for entity in plan.entities:
        try:
            found[entity.address] = landing_columns(entity)
        except HyggeError as exc:
            found[entity.address] = exc.message
    return found


def preview(project: Project | str | Path | None, entity: str, rows: int = 20) -> pl.DataFrame:
    """The first `rows` rows the home gives (no window), as they would land."""
    planned = planned_entity(as_project(project), entity)
    batches = planned.home.batches(Window.everything(), rows)
    with contextlib.closing(batches):
        first = next(iter(batches), None)
    frame = pl.DataFrame(schema=planned.home.schema()) if first is None else first.head(rows)
    polisher = _polisher(planned)
    return frame if polisher is None else polisher.apply(frame)


def _polisher(planned: PlannedEntity) -> Polisher | None:
    polish = planned.settings.polish
    return None if polish is None else Polisher(polish, PEEK_RUN, datetime.now(UTC))

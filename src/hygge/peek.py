"""Seeing before moving: an entity's columns as its home delivers them and as they will land,
and its first rows as they will land. Nothing is written and no journal is opened; the home is
asked for its schema (no rows), or for one batch."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from hygge.config.project import Project, as_project
from hygge.errors import HyggeError
from hygge.plan import Plan, PlannedEntity
from hygge.plugin import Window
from hygge.polish import Polisher
from hygge.steering import planned_entity

PEEK_RUN = "preview"  # the run id polish writes into a preview's run_id column


@dataclass(frozen=True)
class Column:
    """One column: its source name (None for a column polish adds), the name it lands under,
    and its type."""

    source: str | None
    destination: str
    type: str


def columns(project: Project | str | Path | None, entity: str) -> list[Column]:
    """The entity's columns: the home's, then those its polish adds."""
    return landing_columns(planned_entity(as_project(project), entity))


def landing_columns(planned: PlannedEntity) -> list[Column]:
    """A planned entity's columns as they land (the home's schema, polished)."""
    schema, polish = planned.home.schema(), planned.settings.polish
    if polish is None:
        return [Column(name, name, str(dtype)) for name, dtype in schema.items()]
    polisher = Polisher(polish, PEEK_RUN, datetime.now(UTC))
    landed = polisher.apply(pl.DataFrame(schema=schema)).schema
    names = polisher.names(list(schema))
    found = [Column(s, names[s], str(landed[names[s]])) for s in schema]
    return found + [Column(None, name, str(landed[name])) for name in polish.added()]


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

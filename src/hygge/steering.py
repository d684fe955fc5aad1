"""Reading and steering the journal by hand: entity runs, committed watermarks and their
audit trail, and `reset`/`set` of a watermark. `hygge history` and `hygge journal` only
parse and print; an orchestrator calls these directly.

An entity is named by its address `F.E` and must name exactly one; a run type suffix (`:d`)
is refused, since it would be silently meaningless here. A value set by hand is parsed
against the column's type, read from the home's metadata, as `--from` and `start` are.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

from hygge.config.connection_models import Connection, SqliteJournalConfig
from hygge.config.project import Project, as_project
from hygge.errors import UsageError, WatermarkError
from hygge.journal import (
    AuditRecord,
    EntityRunRecord,
    Journal,
    WatermarkCommit,
    WatermarkRecord,
    journal_path,
    open_project_journal,
)
from hygge.plan import PlannedEntity, make_plan
from hygge.selection import Selection
from hygge.watermark import Mark, mark_from_user

if TYPE_CHECKING:
    from hygge.journal.migrate import Migrated

ProjectLike = Project | str | Path | None
Marks = list[tuple[str, str, WatermarkRecord | None]]


def history(
    project: ProjectLike = None,
    entity: str | None = None,
    limit: int = 20,
    run_id: str | None = None,
    status: str | None = None,
    round_id: str | None = None,
) -> list[EntityRunRecord]:
    """Entity runs, newest first, of the whole project or of one entity; of one run (its
    id, or the start of it), of one status and of one round's runs when given. A run id the
    journal does not know is a usage error (a typo would otherwise look like a run that did
    nothing)."""
    project = as_project(project)
    flow, name = entity_address(project, entity) if entity else (None, None)
    with _journal(project) as book:
        records = book.history(flow, name, limit, run_id, status, round_id)
        if run_id is not None and not records and not book.history(run_id=run_id, limit=1):
            raise UsageError(
                f"the journal has no run {run_id!r}",
                hint="`hygge history` shows the run ids (a start of one is enough)",
            )
    return records


def watermarks(
    project: ProjectLike = None, entity: str | None = None
) -> tuple[Marks, list[AuditRecord]]:
    """Each entity's committed watermark (None: it has none) and the audit trail of the
    changes made by hand, of the whole project or of one entity."""
    project = as_project(project)
    address = entity_address(project, entity) if entity else None
    with _journal(project) as book:
        marks = [(f, e, book.watermark(f, e)) for f, e in ([address] if address else _all(project))]
        audit = book.audit(*(address or (None, None)))
    return marks, audit


def reset_watermark(
    project: ProjectLike, entity: str, reason: str, user: str | None = None
) -> bool:
    """Forget an entity's watermark, so its next incremental run reads from the start;
    False when it had none (nothing is audited then)."""
    project = as_project(project)
    flow, name = entity_address(project, entity)
    with _journal(project) as book:
        return book.reset_watermark(flow, name, user=user or current_user(), reason=reason)


def set_watermark(
    project: ProjectLike, entity: str, value: object, reason: str, user: str | None = None
) -> Mark:
    """Set an entity's watermark to value, written like the column's values; its next
    incremental run starts there. A value not of the column's type changes nothing."""
    project = as_project(project)
    planned = planned_entity(project, entity)
    mark = parse_watermark_value(planned, entity, value)
    column = planned.settings.watermark.column if planned.settings.watermark else ""
    with _journal(project) as book:
        book.set_watermark(
            planned.flow,
            planned.name,
            WatermarkCommit(column, mark.encode(), None),
            user=user or current_user(),
            reason=reason,
        )
    return mark


def migrate_journal(project: ProjectLike, to: str, schema: str = "hygge") -> tuple[str, Migrated]:
    """Copy the project's SQLite journal into schema of the postgres connection `to`; where
    it went and how many rows. Refused when that schema already holds the project."""
    from hygge.connections import connection_url
    from hygge.journal import migrate
    from hygge.journal.postgres import PostgresJournal

    project = as_project(project)
    connection = project.spec.connections.get(to)
    if not isinstance(connection, Connection) or connection.type not in ("postgres", "postgresql"):
        project.check_connection(to)
        known = [n for n, c in project.spec.connections.items() if c.type.startswith("postgres")]
        raise UsageError(
            f"--to {to!r}: not a postgres connection of {project.root / 'hygge.yml'}",
            hint=f"name one of: {', '.join(known)}" if known else "add one under connections:",
        )
    config = project.spec.journal
    source = journal_path(
        project.root,
        config.path if isinstance(config, SqliteJournalConfig) else ".hygge/journal.db",
    )
    where = f"postgres connection {to!r} (schema {schema})"
    with PostgresJournal(connection_url(connection), where, schema, project.identity) as target:
        return where, migrate.migrate(source, target)


def parse_watermark_value(planned: PlannedEntity, entity: str, value: object) -> Mark:
    """value as a mark of the entity's watermark column, whose type the home's metadata
    says; errors quote the entity as named and the value as written."""
    watermark = planned.settings.watermark
    if watermark is None:
        raise UsageError(
            f"{entity} has no watermark configured", hint="set watermark: {column: ...}"
        )
    dtype = planned.home.schema().get(watermark.column)
    if dtype is None:
        raise UsageError(
            f"{entity}: column {watermark.column!r} is not in {planned.home.describe()}"
        )
    try:
        return mark_from_user(value, dtype, watermark.column)
    except WatermarkError as exc:  # a value the user typed: nothing was changed
        raise UsageError(f"{entity}: --to {exc.message}", hint=exc.hint) from None


def entity_address(project: Project, entity: str) -> tuple[str, str]:
    """(flow, entity) of the one entity `F.E` names."""
    picked = _one_entity(entity).pick(_all(project))
    if len(picked) != 1:
        raise UsageError(f"--entity {entity!r} must name exactly one entity")
    return next(iter(picked))


def current_user() -> str:
    """Who the audit trail names when the caller does not say."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def planned_entity(project: Project, entity: str) -> PlannedEntity:
    """The plan of the one entity `F.E` names (nothing is connected to)."""
    plan = make_plan(project, _one_entity(entity))
    if len(plan.entities) != 1:
        raise UsageError(f"--entity {entity!r} must name exactly one entity")
    return plan.entities[0]


def _one_entity(entity: str) -> Selection:
    """An entity's address: a run type suffix (`:d`) chooses how `go` runs, so here it
    would be silently meaningless."""
    if ":" in entity:
        address = entity.partition(":")[0]
        raise UsageError(
            f"--entity {entity!r}: a run type suffix means nothing here",
            hint=f"name the entity alone: --entity {address}",
        )
    return Selection.parse((), (entity,))


def _all(project: Project) -> list[tuple[str, str]]:
    return [(f.name, e.name) for f in project.flows for e in f.entities]


def _journal(project: Project) -> Journal:
    return open_project_journal(project)

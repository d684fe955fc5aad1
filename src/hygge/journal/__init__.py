"""The journal: the project's durable record of runs, entity runs and watermarks.

`open_journal(root)` opens the project's journal; callers use only the `Journal` API, so a
PostgreSQL backend (docs/architecture.md, Where state lives) can replace the SQLite one
without changing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hygge.config.connection_models import Connection, PostgresJournalConfig
from hygge.errors import JournalError
from hygge.journal.api import (
    AuditRecord,
    EntityRunRecord,
    Journal,
    RunRecord,
    WatermarkCommit,
    WatermarkRecord,
)
from hygge.journal.sqlite import SqliteJournal

if TYPE_CHECKING:
    from hygge.config.project import Project
    from hygge.locks import Holder

__all__ = [
    "AuditRecord",
    "EntityRunRecord",
    "Journal",
    "RunRecord",
    "SqliteJournal",
    "WatermarkCommit",
    "WatermarkRecord",
    "held_locks_of",
    "journal_path",
    "open_journal",
    "open_project_journal",
]


DEFAULT_PATH = ".hygge/journal.db"


def journal_path(root: Path, path: str = DEFAULT_PATH) -> Path:
    """Where the SQLite journal of the project at `root` lives (`path` is relative to it)."""
    return Path(root) / path


def open_journal(root: Path, relative: str = DEFAULT_PATH) -> Journal:
    """Open (creating it and its folder if needed) the journal of the project at `root`."""
    path = journal_path(root, relative)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JournalError(f"journal {path}: could not create its folder: {exc}") from exc
    return SqliteJournal(path)


def open_project_journal(project: Project) -> Journal:
    """Open the journal hygge.yml's `journal:` names: the SQLite file (the default) or a
    PostgreSQL schema shared by the machines running the project."""
    config = project.spec.journal
    if not isinstance(config, PostgresJournalConfig):
        return open_journal(project.root, config.path)
    from hygge.connections import connection_url
    from hygge.journal.postgres import PostgresJournal

    connection = project.spec.connections[config.connection]
    assert isinstance(connection, Connection)  # load_project checked it is a postgres one
    where = f"postgres connection {config.connection!r} (schema {config.db_schema})"
    return PostgresJournal(connection_url(connection), where, config.db_schema, project.identity)


def held_locks_of(project: Project) -> list[tuple[str, Holder]]:
    """The project's entity and project locks held now, on this machine (file locks) or on
    every machine sharing its PostgreSQL journal; a SQLite journal is not created for it."""
    if not isinstance(project.spec.journal, PostgresJournalConfig):
        from hygge.locks import held_locks

        return held_locks(project.root)
    with open_project_journal(project) as journal:
        return journal.locks(project.root).held()

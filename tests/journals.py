"""The journal backends the journal tests run against: a SQLite file under a test's folder,
or a PostgreSQL schema of its own on the session's server.

A test names its journal by a folder `root`; `use_postgres(root, url)` writes beside it which
schema stands for that folder, so `open_test_journal(root)` opens the same journal in the test
and in the processes it starts, and `raw(root, sql)` looks at (or tampers with) its tables.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from pathlib import Path
from typing import Any

from hygge.journal import Journal, journal_path, open_journal

BACKEND_FILE = "journal-backend.json"
PROJECT = "journal-test"


def use_postgres(root: Path, url: str) -> None:
    """Make root's journal a fresh PostgreSQL schema on the server at url."""
    schema = f"t_{secrets.token_hex(6)}"
    where = f"test server (schema {schema})"
    root.mkdir(parents=True, exist_ok=True)
    spec = {"url": url, "schema": schema, "where": where}
    (root / BACKEND_FILE).write_text(json.dumps(spec))


def like(root: Path, model: Path) -> None:
    """Make root's journal a fresh one of the same backend as model's."""
    spec = _postgres(model)
    if spec is not None:
        use_postgres(root, spec["url"])


def _postgres(root: Path) -> dict[str, str] | None:
    path = root / BACKEND_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def open_test_journal(root: Path) -> Journal:
    spec = _postgres(root)
    if spec is None:
        return open_journal(root)
    from hygge.journal.postgres import PostgresJournal

    return PostgresJournal(spec["url"], spec["where"], spec["schema"], PROJECT)


def where(root: Path) -> str:
    """How the journal's errors name it."""
    spec = _postgres(root)
    return str(journal_path(root)) if spec is None else spec["where"]


def integrity_error(root: Path) -> type[Exception]:
    """The driver's error for a violated constraint."""
    if _postgres(root) is None:
        import sqlite3

        return sqlite3.IntegrityError
    import adbc_driver_manager

    return adbc_driver_manager.IntegrityError


def raw(root: Path, sql: str) -> list[Any]:
    """Run one statement on the journal's tables directly."""
    spec = _postgres(root)
    if spec is None:
        import sqlite3

        with contextlib.closing(sqlite3.connect(journal_path(root), isolation_level=None)) as db:
            return db.execute(sql).fetchall()
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(spec["url"], autocommit=True) as db, db.cursor() as cursor:
        cursor.execute(f"SET search_path TO {spec['schema']}")
        cursor.execute(sql)
        if not sql.lstrip().upper().startswith("SELECT"):
            return []
        return [tuple(row) for row in cursor.fetchall()]

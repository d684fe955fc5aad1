"""`hygge journal migrate`: copy a project's SQLite journal into a PostgreSQL one.

Everything is copied in one transaction: runs, entity runs (in their order, under new ids:
the PostgreSQL ids are shared by every project of the schema), watermarks with their
boundary state, and the audit trail. A schema that already holds the project is refused
before anything is written, so a migration cannot mix two histories.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hygge.errors import UsageError
from hygge.journal.postgres import PostgresJournal
from hygge.journal.session import Cursor
from hygge.journal.sqlite import SqliteJournal
from hygge.locks import lock_key

_TABLES: dict[str, tuple[str, ...]] = {  # in the order the foreign keys need
    "runs": ("run_id", "host", "pid", "process_start", "command", "started_at", "ended_at",
             "status", "round_id"),
    "entity_runs": ("run_id", "flow", "entity", "run_type", "status", "attempts", "rows_read",
                    "rows_written", "bytes_written", "seconds", "watermark_before",
                    "watermark_after", "error", "started_at", "ended_at", "schema_changes",
                    "backfill"),
    "watermarks": ("flow", "entity", "watermark_column", "value", "state", "run_id",
                   "updated_at"),
    "audit": ("at", "user", "action", "flow", "entity", "old_value", "new_value", "reason"),
}  # fmt: skip
_ORDER = {"entity_runs": " ORDER BY id", "audit": " ORDER BY id"}


@dataclass(frozen=True)
class Migrated:
    """How many rows of each table were copied."""

    counts: dict[str, int]


def migrate(source: Path, target: PostgresJournal) -> Migrated:
    """Copy the SQLite journal at `source` into `target` (for target.project)."""
    if not source.is_file():
        raise UsageError(
            f"there is no SQLite journal at {source}",
            hint="run migrate in the project whose journal it is (nothing ran there yet?)",
        )
    SqliteJournal(source).close()  # brings an older file to the current version
    rows = _read(source)
    with target.transaction("copy the SQLite journal into it") as cur:
        cur.execute("SELECT pg_advisory_xact_lock($1)", [lock_key("migrate", target.project)])
        _refuse_if_present(cur, target)
        for table, columns in _TABLES.items():
            _insert(cur, target, table, columns, rows[table])
    return Migrated({table: len(found) for table, found in rows.items()})


def _read(source: Path) -> dict[str, list[tuple[Any, ...]]]:
    uri = f"{source.resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return {
            table: db.execute(
                f"SELECT {', '.join(_quoted(c) for c in columns)} FROM {table}"
                f"{_ORDER.get(table, '')}"
            ).fetchall()
            for table, columns in _TABLES.items()
        }


def _refuse_if_present(cur: Cursor, target: PostgresJournal) -> None:
    for table in ("runs", "watermarks", "audit"):
        cur.execute(f"SELECT count(*) FROM {target.s}.{table} WHERE project = $1", [target.project])
        if int(cur.fetchone()[0]):
            raise UsageError(
                f"journal {target.where} already holds project {target.project!r} (its {table}):"
                " nothing was copied",
                hint="migrate into another schema (--schema), or give this project an `id:` in"
                " hygge.yml to keep both histories apart",
            )


def _insert(
    cur: Cursor, target: PostgresJournal, table: str, columns: tuple[str, ...], rows: list[Any]
) -> None:
    names = ", ".join(("project", *(_quoted(c) for c in columns)))
    slots = ", ".join(f"${n}" for n in range(1, len(columns) + 2))
    sql = f"INSERT INTO {target.s}.{table} ({names}) VALUES ({slots})"
    for row in rows:
        cur.execute(
            sql, [target.project, *(_value(c, v) for c, v in zip(columns, row, strict=True))]
        )


def _value(column: str, value: Any) -> Any:
    """SQLite keeps times as ISO text; PostgreSQL wants them as timestamps."""
    is_time = column == "at" or column.endswith("_at")
    return datetime.fromisoformat(value) if is_time and isinstance(value, str) else value


def _quoted(column: str) -> str:
    return f'"{column}"' if column == "user" else column

"""The SQLite journal's schema: migrations in order, and the statements shared by its methods.

MIGRATIONS[n - 1] takes a journal file from schema version n - 1 to n.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from hygge.results import SchemaChange

MIGRATIONS: list[str] = [
    # 1: everything.
    """
    CREATE TABLE schema_version (
        version INTEGER PRIMARY KEY,
        applied_at TEXT NOT NULL
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL
    );
    CREATE INDEX runs_by_start ON runs (started_at);
    CREATE INDEX runs_running ON runs (host) WHERE status = 'running';
    CREATE TABLE entity_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (run_id),
        flow TEXT NOT NULL,
        entity TEXT NOT NULL,
        run_type TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        rows_read INTEGER NOT NULL DEFAULT 0,
        rows_written INTEGER NOT NULL DEFAULT 0,
        bytes_written INTEGER NOT NULL DEFAULT 0,
        seconds REAL NOT NULL DEFAULT 0,
        watermark_before TEXT,
        watermark_after TEXT,
        error TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT
    );
    CREATE INDEX entity_runs_by_entity ON entity_runs (flow, entity, id);
    CREATE INDEX entity_runs_by_run ON entity_runs (run_id);
    CREATE INDEX entity_runs_running ON entity_runs (run_id) WHERE status = 'running';
    CREATE TABLE watermarks (
        flow TEXT NOT NULL,
        entity TEXT NOT NULL,
        watermark_column TEXT NOT NULL,
        value TEXT NOT NULL,
        state BLOB,
        run_id TEXT REFERENCES runs (run_id),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (flow, entity)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        flow TEXT NOT NULL,
        entity TEXT NOT NULL,
        old_value TEXT,
        new_value TEXT,
        reason TEXT NOT NULL
    );
    CREATE INDEX audit_by_entity ON audit (flow, entity, id);
    """,
    # 2: the changes an entity run made to its destination's columns (JSON; NULL: none).
    """
    ALTER TABLE entity_runs ADD COLUMN schema_changes TEXT;
    """,
    # 3: when each run's process started, so a dead run's pid reused by another process does
    # not keep it running (journal/liveness.py). NULL for runs recorded before.
    """
    ALTER TABLE runs ADD COLUMN process_start TEXT;
    """,
    # 4: the one-off window (--from/--to) an entity run read, as given; NULL: none.
    """
    ALTER TABLE entity_runs ADD COLUMN backfill TEXT;
    """,
    # 5: the round a run worked on (`hygge go --round ID`); NULL for a run of its own.
    """
    ALTER TABLE runs ADD COLUMN round_id TEXT;
    CREATE INDEX runs_by_round ON runs (round_id) WHERE round_id IS NOT NULL;
    """,
]

ENTITY_RUN_COLUMNS = (
    "id, run_id, flow, entity, run_type, status, attempts, rows_read, rows_written,"
    " bytes_written, seconds, watermark_before, watermark_after, error, started_at, ended_at,"
    " schema_changes, backfill"
)
UPSERT_WATERMARK = """
    INSERT INTO watermarks (flow, entity, watermark_column, value, state, run_id, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (flow, entity) DO UPDATE SET
        watermark_column = excluded.watermark_column, value = excluded.value,
        state = excluded.state, run_id = excluded.run_id, updated_at = excluded.updated_at
"""


def encode_changes(changes: Sequence[SchemaChange]) -> str | None:
    """Schema changes as stored: a JSON list of {action, column, type}; NULL for none."""
    if not changes:
        return None
    return json.dumps([asdict(change) for change in changes])


def decode_changes(text: str | None) -> tuple[SchemaChange, ...]:
    return tuple(SchemaChange(**change) for change in json.loads(text)) if text else ()

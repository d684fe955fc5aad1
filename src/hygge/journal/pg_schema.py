"""The PostgreSQL journal's schema: the SQLite journal's tables, each row scoped by project.

Several projects may share one schema: every table has a `project` column (the project's
identity, its name and optional id) that every statement filters on, and every key starts
with it. `{s}` stands for the quoted schema name. MIGRATIONS[n - 1] takes a schema from
version n - 1 to n, in the transaction that records it (`migrate`).
"""

from __future__ import annotations

from hygge.errors import JournalError
from hygge.journal.session import Cursor
from hygge.locks import lock_key

_MIGRATION_KEY = lock_key("hygge journal migration")

MIGRATIONS: list[str] = [
    # 1: everything the SQLite journal holds at its version 5, and the lock holders.
    """
    CREATE TABLE {s}.runs (
        project text NOT NULL,
        run_id text NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        process_start text,
        command text NOT NULL,
        started_at timestamptz NOT NULL,
        ended_at timestamptz,
        status text NOT NULL,
        round_id text,
        PRIMARY KEY (project, run_id)
    );
    CREATE INDEX runs_by_round ON {s}.runs (project, round_id) WHERE round_id IS NOT NULL;
    CREATE INDEX runs_by_start ON {s}.runs (project, started_at);
    CREATE INDEX runs_running ON {s}.runs (project, host) WHERE status = 'running';
    CREATE TABLE {s}.entity_runs (
        id bigserial PRIMARY KEY,
        project text NOT NULL,
        run_id text NOT NULL,
        flow text NOT NULL,
        entity text NOT NULL,
        run_type text NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        rows_read bigint NOT NULL DEFAULT 0,
        rows_written bigint NOT NULL DEFAULT 0,
        bytes_written bigint NOT NULL DEFAULT 0,
        seconds double precision NOT NULL DEFAULT 0,
        watermark_before text,
        watermark_after text,
        error text,
        started_at timestamptz NOT NULL,
        ended_at timestamptz,
        schema_changes text,
        backfill text,
        FOREIGN KEY (project, run_id) REFERENCES {s}.runs (project, run_id)
    );
    CREATE INDEX entity_runs_by_entity ON {s}.entity_runs (project, flow, entity, id);
    CREATE INDEX entity_runs_by_run ON {s}.entity_runs (project, run_id);
    CREATE TABLE {s}.watermarks (
        project text NOT NULL,
        flow text NOT NULL,
        entity text NOT NULL,
        watermark_column text NOT NULL,
        value text NOT NULL,
        state bytea,
        run_id text,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (project, flow, entity),
        FOREIGN KEY (project, run_id) REFERENCES {s}.runs (project, run_id)
    );
    CREATE TABLE {s}.audit (
        id bigserial PRIMARY KEY,
        project text NOT NULL,
        at timestamptz NOT NULL,
        "user" text NOT NULL,
        action text NOT NULL,
        flow text NOT NULL,
        entity text NOT NULL,
        old_value text,
        new_value text,
        reason text NOT NULL
    );
    CREATE INDEX audit_by_entity ON {s}.audit (project, flow, entity, id);
    CREATE TABLE {s}.lock_holders (
        lock_key bigint PRIMARY KEY,
        project text NOT NULL,
        kind text NOT NULL,
        name text NOT NULL,
        backend integer NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        run_id text NOT NULL,
        since timestamptz NOT NULL,
        command text NOT NULL
    );
    """,
    # 2: the entity run holding a lock and the destination it writes, for messages.
    """
    ALTER TABLE {s}.lock_holders ADD COLUMN entity text NOT NULL DEFAULT '';
    ALTER TABLE {s}.lock_holders ADD COLUMN writes text NOT NULL DEFAULT ''
    """,
]

ENTITY_RUN_COLUMNS = (
    "id, run_id, flow, entity, run_type, status, attempts, rows_read, rows_written,"
    " bytes_written, seconds, watermark_before, watermark_after, error, started_at, ended_at,"
    " schema_changes, backfill"
)
UPSERT_WATERMARK = """
    INSERT INTO {s}.watermarks
        (project, flow, entity, watermark_column, value, state, run_id, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (project, flow, entity) DO UPDATE SET
        watermark_column = excluded.watermark_column, value = excluded.value,
        state = excluded.state, run_id = excluded.run_id, updated_at = excluded.updated_at
"""


def migrate(cur: Cursor, s: str, where: str) -> None:
    """Bring schema `s` to the current version in the open transaction of `cur`; processes
    opening a new journal at once wait for the first under a transaction advisory lock."""
    cur.execute("SELECT pg_advisory_xact_lock($1)", [_MIGRATION_KEY])
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {s}.schema_version"
        " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)"
    )
    cur.execute(f"SELECT coalesce(max(version), 0) FROM {s}.schema_version")
    version = int(cur.fetchone()[0])
    if version > len(MIGRATIONS):
        raise JournalError(
            f"journal {where} has schema version {version}, but this hygge only knows versions"
            f" up to {len(MIGRATIONS)}: a newer hygge wrote it",
            hint="upgrade hygge to the version that wrote this journal",
        )
    for number in range(version + 1, len(MIGRATIONS) + 1):
        for statement in MIGRATIONS[number - 1].format(s=s).split(";"):
            if statement.strip():
                cur.execute(statement)
        cur.execute(f"INSERT INTO {s}.schema_version VALUES ($1, clock_timestamp())", [number])

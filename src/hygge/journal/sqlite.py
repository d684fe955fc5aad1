"""The SQLite journal: one file per project (`.hygge/journal.db`) shared by every process.

- WAL mode: readers never block the writer and the writer never blocks readers.
- `synchronous=FULL`: in WAL mode NORMAL survives a crash of the process but a power loss or an
  OS crash may roll back the last commits. The journal is written after the data is published
  (docs/architecture.md, The exactly-once protocol), so a watermark commit the caller saw
  succeed must not vanish: the next incremental run would re-read what the store already
  holds. FULL costs one fsync of the WAL per commit, and the journal commits only a few times
  per entity run.
- Every write is one short transaction begun with `BEGIN IMMEDIATE`: it takes the write lock up
  front, waiting up to the busy timeout (30 s) for other processes, instead of failing with
  SQLITE_BUSY when a read upgrades to a write mid-transaction.
- One connection per SqliteJournal, used under a lock, so threads of one process can share it.
- Timestamps are UTC ISO-8601 text with microseconds (they sort as text).
- Free text (commands, errors, reasons) passes through `hygge.redact` on its way in.
- The schema is versioned: MIGRATIONS[n - 1] takes the file from version n - 1 to n, each in the
  transaction that records it in `schema_version`. A file from a newer hygge is refused.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from hygge.errors import JournalError
from hygge.journal.api import (
    ENTITY_STATUSES,
    RUN_STATUSES,
    AuditRecord,
    EntityRunRecord,
    Journal,
    RunRecord,
    WatermarkCommit,
    WatermarkRecord,
    check_limit,
    check_status,
)
from hygge.journal.liveness import process_alive, process_start
from hygge.journal.schema import (
    ENTITY_RUN_COLUMNS,
    MIGRATIONS,
    UPSERT_WATERMARK,
    decode_changes,
    encode_changes,
)
from hygge.redact import redact
from hygge.results import SchemaChange

BUSY_TIMEOUT_SECONDS = 30.0
_R = TypeVar("_R", RunRecord, EntityRunRecord, WatermarkRecord, AuditRecord)


class SqliteJournal(Journal):
    """The journal in one SQLite file; several processes may open the same file at once."""

    def __init__(self, path: Path, *, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._host = socket.gethostname()
        with self._mapped("open it"):
            conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            try:
                self._configure(conn, timeout)
                self._migrate(conn)
            except BaseException:
                conn.close()
                raise
        self._conn: sqlite3.Connection | None = conn

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, run_id: str, command: str, round_id: str | None = None) -> None:
        pid = os.getpid()
        with self._write(f"record the start of run {run_id}") as conn:
            conn.execute(
                "INSERT INTO runs (run_id, host, pid, process_start, command, started_at, status,"
                " round_id) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                (run_id, self._host, pid, process_start(pid), redact(command), _now(), round_id),
            )

    def finish_run(self, run_id: str, status: str) -> None:
        check_status(status, RUN_STATUSES - {"running"}, "a finished run's")
        with self._write(f"record the end of run {run_id}") as conn:
            cursor = conn.execute(
                "UPDATE runs SET status = ?, ended_at = ? WHERE run_id = ?",
                (status, _now(), run_id),
            )
            if cursor.rowcount == 0:
                raise JournalError(f"journal {self.path}: there is no run {run_id!r}")

    def runs(self, limit: int = 20) -> list[RunRecord]:
        check_limit(limit)
        with self._read("read the runs") as conn:
            rows = conn.execute(
                "SELECT run_id, host, pid, command, started_at, ended_at, status FROM runs"
                " ORDER BY started_at DESC, run_id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_record(RunRecord, r) for r in rows]

    # -- entity runs -------------------------------------------------------------------------

    def start_entity(
        self,
        run_id: str,
        flow: str,
        entity: str,
        run_type: str,
        watermark_before: str | None,
        backfill: str | None = None,
    ) -> int:
        with self._write(f"record the start of {flow}.{entity} in run {run_id}") as conn:
            cursor = conn.execute(
                "INSERT INTO entity_runs (run_id, flow, entity, run_type, status,"
                " watermark_before, started_at, backfill) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (run_id, flow, entity, run_type, watermark_before, _now(), backfill),
            )
            entity_run_id = cursor.lastrowid
        assert entity_run_id is not None  # an INSERT into a rowid table always sets it
        return entity_run_id

    def finish_entity(
        self,
        entity_run_id: int,
        *,
        status: str,
        attempts: int,
        rows_read: int,
        rows_written: int,
        bytes_written: int,
        seconds: float,
        error: str | None = None,
        commit: WatermarkCommit | None = None,
        schema_changes: Sequence[SchemaChange] = (),
    ) -> None:
        check_status(status, ENTITY_STATUSES - {"running"}, "a finished entity run's")
        with self._write(f"record the end of entity run {entity_run_id}") as conn:
            now = _now()  # taken under the write lock: times follow the commit order
            row = conn.execute(
                "SELECT run_id, flow, entity FROM entity_runs WHERE id = ?", (entity_run_id,)
            ).fetchone()
            if row is None:
                raise JournalError(f"journal {self.path}: there is no entity run {entity_run_id}")
            run_id, flow, entity = row
            conn.execute(
                "UPDATE entity_runs SET status = ?, attempts = ?, rows_read = ?,"
                " rows_written = ?, bytes_written = ?, seconds = ?, error = ?,"
                " watermark_after = ?, ended_at = ?, schema_changes = ? WHERE id = ?",
                (
                    status,
                    attempts,
                    rows_read,
                    rows_written,
                    bytes_written,
                    seconds,
                    None if error is None else redact(error),
                    commit.value if commit else None,
                    now,
                    encode_changes(schema_changes),
                    entity_run_id,
                ),
            )
            if commit is not None:
                conn.execute(
                    UPSERT_WATERMARK,
                    (flow, entity, commit.column, commit.value, commit.state, run_id, now),
                )

    def history(
        self,
        flow: str | None = None,
        entity: str | None = None,
        limit: int = 20,
        run_id: str | None = None,
        status: str | None = None,
        round_id: str | None = None,
    ) -> list[EntityRunRecord]:
        check_limit(limit)
        where, params = _filters(flow, entity, status)
        if run_id is not None:
            where += " AND" if where else " WHERE"
            where += " substr(run_id, 1, length(?)) = ?"
            params = (*params, run_id, run_id)
        if round_id is not None:
            where += " AND" if where else " WHERE"
            where += " run_id IN (SELECT run_id FROM runs WHERE round_id = ?)"
            params = (*params, round_id)
        with self._read("read the history") as conn:
            rows = conn.execute(
                f"SELECT {ENTITY_RUN_COLUMNS} FROM entity_runs{where} ORDER BY id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [_record(EntityRunRecord, (*r[:-2], decode_changes(r[-2]), r[-1])) for r in rows]

    def round_done(self, round_id: str) -> dict[tuple[str, str], str]:
        with self._read(f"read round {round_id}") as conn:
            rows = conn.execute(
                "SELECT flow, entity, max(run_id) FROM entity_runs WHERE status = 'success'"
                " AND run_id IN (SELECT run_id FROM runs WHERE round_id = ?) GROUP BY flow, entity",
                (round_id,),
            ).fetchall()
        return {(flow, entity): run_id for flow, entity, run_id in rows}

    def mark_interrupted(self) -> int:
        changed = 0
        with self._write("mark the runs of dead processes interrupted") as conn:
            now = _now()
            candidates = conn.execute(
                "SELECT run_id, pid, process_start FROM runs WHERE host = ? AND"
                " (status = 'running' OR run_id IN"
                " (SELECT run_id FROM entity_runs WHERE status = 'running'))",
                (self._host,),
            ).fetchall()
            for run_id, pid, started in candidates:
                if process_alive(pid, started):
                    continue
                changed += conn.execute(
                    "UPDATE entity_runs SET status = 'interrupted', ended_at = ?"
                    " WHERE run_id = ? AND status = 'running'",
                    (now, run_id),
                ).rowcount
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', ended_at = ?"
                    " WHERE run_id = ? AND status = 'running'",
                    (now, run_id),
                )
        return changed

    # -- watermarks --------------------------------------------------------------------------

    def watermark(self, flow: str, entity: str) -> WatermarkRecord | None:
        with self._read(f"read the watermark of {flow}.{entity}") as conn:
            row = conn.execute(
                "SELECT flow, entity, watermark_column, value, state, run_id, updated_at"
                " FROM watermarks WHERE flow = ? AND entity = ?",
                (flow, entity),
            ).fetchone()
        if row is None:
            return None
        return _record(WatermarkRecord, row)

    def set_watermark(
        self, flow: str, entity: str, commit: WatermarkCommit, *, user: str, reason: str
    ) -> None:
        with self._write(f"set the watermark of {flow}.{entity}") as conn:
            now = _now()
            old = _current_value(conn, flow, entity)
            conn.execute(
                UPSERT_WATERMARK,
                (flow, entity, commit.column, commit.value, commit.state, None, now),
            )
            _audit(conn, now, user, "set", flow, entity, old, commit.value, reason)

    def reset_watermark(self, flow: str, entity: str, *, user: str, reason: str) -> bool:
        with self._write(f"reset the watermark of {flow}.{entity}") as conn:
            now = _now()
            old = _current_value(conn, flow, entity)
            if old is None:
                return False
            conn.execute("DELETE FROM watermarks WHERE flow = ? AND entity = ?", (flow, entity))
            _audit(conn, now, user, "reset", flow, entity, old, None, reason)
        return True

    def audit(self, flow: str | None = None, entity: str | None = None) -> list[AuditRecord]:
        where, params = _filters(flow, entity)
        with self._read("read the audit trail") as conn:
            rows = conn.execute(
                "SELECT id, at, user, action, flow, entity, old_value, new_value, reason"
                f" FROM audit{where} ORDER BY id DESC",
                params,
            ).fetchall()
        return [_record(AuditRecord, r) for r in rows]

    # -- connection --------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock, self._mapped("close it"):
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __repr__(self) -> str:
        return f"SqliteJournal({str(self.path)!r})"

    @contextlib.contextmanager
    def _mapped(self, doing: str) -> Iterator[None]:
        """The one place where sqlite3 errors become JournalErrors naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            hint = None
            if _is_busy(exc):
                hint = "another process kept the journal locked too long; try again"
            elif _is_damaged(exc):
                hint = (
                    "move it aside (keep it for a post-mortem); the next run starts a new"
                    " journal and takes each entity's watermark from its store's commit record"
                )
            raise JournalError(f"journal {self.path}: could not {doing}: {exc}", hint=hint) from exc

    @contextlib.contextmanager
    def _read(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._mapped(doing):
            yield self._connection()

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock; rolled back on any exception."""
        with self._lock, self._mapped(doing):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # the original error matters
                        conn.execute("ROLLBACK")
                raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError(f"journal {self.path} is closed")
        return self._conn

    def _configure(self, conn: sqlite3.Connection, timeout: float) -> None:
        # Turning a new file to WAL needs an exclusive lock and SQLite does not call the busy
        # handler for it, so processes opening a new journal at once retry here.
        deadline = time.monotonic() + timeout
        while True:
            try:
                mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
                break
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
        if mode.lower() != "wal":
            raise JournalError(
                f"journal {self.path}: SQLite cannot use WAL mode here (it stays {mode!r})",
                hint="keep the project on a local file system",
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = self._checked_version(conn)
        if version == len(MIGRATIONS):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._checked_version(conn)  # another process may have migrated
            for number in range(version + 1, len(MIGRATIONS) + 1):
                for statement in _statements(MIGRATIONS[number - 1]):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (number, _now()),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def _checked_version(self, conn: sqlite3.Connection) -> int:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if exists is None:
            return 0
        version = int(conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0)
        if version > len(MIGRATIONS):
            raise JournalError(
                f"journal {self.path} has schema version {version}, but this hygge only knows"
                f" versions up to {len(MIGRATIONS)}: a newer hygge wrote it",
                hint="upgrade hygge to the version that wrote this journal",
            )
        return version


def _is_damaged(exc: sqlite3.Error) -> bool:
    """Not an SQLite file at all, or one whose pages are corrupt."""
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (executescript would commit the migration early)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {pending.strip()!r}")


def _filters(
    flow: str | None, entity: str | None, status: str | None = None
) -> tuple[str, tuple[str, ...]]:
    pairs = (("flow", flow), ("entity", entity), ("status", status))
    clauses = [(name, value) for name, value in pairs if value is not None]
    if not clauses:
        return "", ()
    where = " WHERE " + " AND ".join(f"{name} = ?" for name, _ in clauses)
    return where, tuple(value for _, value in clauses)


def _current_value(conn: sqlite3.Connection, flow: str, entity: str) -> str | None:
    row = conn.execute(
        "SELECT value FROM watermarks WHERE flow = ? AND entity = ?", (flow, entity)
    ).fetchone()
    return None if row is None else str(row[0])


def _audit(
    conn: sqlite3.Connection,
    at: str,
    user: str,
    action: str,
    flow: str,
    entity: str,
    old_value: str | None,
    new_value: str | None,
    reason: str,
) -> None:
    conn.execute(
        "INSERT INTO audit (at, user, action, flow, entity, old_value, new_value, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (at, user, action, flow, entity, old_value, new_value, redact(reason)),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _record(kind: type[_R], row: Sequence[Any]) -> _R:
    """A record from a row selected in the order of its fields; `at`/`*_at` become datetimes."""
    values: dict[str, Any] = {
        field.name: _time(value) if _is_time(field.name, value) else value
        for field, value in zip(fields(kind), row, strict=True)
    }
    return kind(**values)


def _is_time(name: str, value: Any) -> bool:
    return (name == "at" or name.endswith("_at")) and value is not None


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)

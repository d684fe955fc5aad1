"""The PostgreSQL journal: one schema shared by every machine running the project.

- Every row carries the project's identity (`Project.identity`), so projects sharing a
  schema never see each other's runs, watermarks or locks.
- Every write is one transaction. A watermark write (finish_entity, set, reset) first takes a
  transaction-level advisory lock on its entity and reads the server's clock after it, so
  writers of one entity serialize, none is lost, and times follow the commit order.
- Timestamps are the server's (`clock_timestamp()`): machines' clocks may disagree.
- A journal `fenced(claim)` writes through the claim's session and checks, in the
  transaction of each write that ends an entity run or changes a watermark, that this session
  still holds the claim's advisory locks (docs/architecture.md, Fencing): a worker that lost
  its session commits nothing.
- Free text passes through `redact` on its way in. A schema from a newer hygge is refused.
"""

from __future__ import annotations

import contextlib
import os
import socket
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
from hygge.journal.pg_schema import ENTITY_RUN_COLUMNS, UPSERT_WATERMARK, migrate
from hygge.journal.schema import decode_changes, encode_changes
from hygge.journal.session import Cursor, Session
from hygge.locks import LockBackend, lock_key
from hygge.redact import redact
from hygge.results import SchemaChange

_R = TypeVar("_R", RunRecord, EntityRunRecord, WatermarkRecord, AuditRecord)


class PostgresJournal(Journal):
    """The journal in a PostgreSQL schema, its rows those of one project."""

    def __init__(self, url: str, where: str, schema: str, project: str) -> None:
        self.url, self.where, self.project = url, where, project
        self.schema = schema
        self.s = '"' + schema.replace('"', '""') + '"'
        self._host = socket.gethostname()
        self._session = Session(url, where)
        self._owns_session = True
        self._fence: tuple[int, ...] = ()
        try:
            with self._session.transaction("create or upgrade its tables") as cur:
                migrate(cur, self.s, self.where)
        except BaseException:
            self._session.close()
            raise

    def fenced(self, session: Session, keys: Sequence[int]) -> PostgresJournal:
        """This journal writing through `session`, each write checking that the session
        still holds the advisory locks `keys`; closing it leaves both sessions open."""
        view = object.__new__(PostgresJournal)
        view.__dict__.update(self.__dict__)
        view._session, view._owns_session, view._fence = session, False, tuple(keys)
        return view

    def transaction(self, doing: str) -> contextlib.AbstractContextManager[Cursor]:
        """One transaction on the journal's session, for copying rows in (journal/migrate.py)."""
        return self._write(doing)

    def locks(self, root: Path) -> LockBackend:
        """Advisory locks in this journal's database, which hold across machines."""
        from hygge.journal.advisory import AdvisoryLocks

        return AdvisoryLocks(self, root)

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, run_id: str, command: str, round_id: str | None = None) -> None:
        pid = os.getpid()
        with self._write(f"record the start of run {run_id}") as cur:
            cur.execute(
                f"INSERT INTO {self.s}.runs (project, run_id, host, pid, process_start, command,"
                " started_at, status, round_id) VALUES ($1, $2, $3, $4, $5, $6,"
                " clock_timestamp(), 'running', $7)",
                [self.project, run_id, self._host, pid, process_start(pid), redact(command),
                 round_id],
            )  # fmt: skip
            # Held by this journal's session while the run lives: other machines, which cannot
            # see this process, judge by it whether the run died (mark_interrupted).
            cur.execute("SELECT pg_advisory_lock($1)", [self._run_key(run_id)])

    def finish_run(self, run_id: str, status: str) -> None:
        check_status(status, RUN_STATUSES - {"running"}, "a finished run's")
        with self._write(f"record the end of run {run_id}") as cur:
            cur.execute(
                f"UPDATE {self.s}.runs SET status = $1, ended_at = clock_timestamp()"
                " WHERE project = $2 AND run_id = $3 RETURNING run_id",
                [status, self.project, run_id],
            )
            if not cur.fetchall():
                raise JournalError(f"journal {self.where}: there is no run {run_id!r}")
            cur.execute("SELECT pg_advisory_unlock($1)", [self._run_key(run_id)])

    def runs(self, limit: int = 20) -> list[RunRecord]:
        check_limit(limit)
        rows = self._select(
            "read the runs",
            "SELECT run_id, host, pid, command, started_at, ended_at, status FROM {s}.runs"
            " WHERE project = $1 ORDER BY started_at DESC, run_id DESC LIMIT $2",
            [self.project, limit],
        )
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
        # One statement, its own transaction, unfenced: a 'running' row commits nothing.
        with self._session.cursor(f"record the start of {flow}.{entity} in run {run_id}") as cur:
            cur.execute(
                f"INSERT INTO {self.s}.entity_runs (project, run_id, flow, entity, run_type,"
                " status, watermark_before, started_at, backfill)"
                " VALUES ($1, $2, $3, $4, $5, 'running', $6, clock_timestamp(), $7) RETURNING id",
                [self.project, run_id, flow, entity, run_type, watermark_before, backfill],
            )
            return int(cur.fetchone()[0])

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
        with self._write(f"record the end of entity run {entity_run_id}") as cur:
            cur.execute(
                f"SELECT run_id, flow, entity FROM {self.s}.entity_runs"
                " WHERE project = $1 AND id = $2",
                [self.project, entity_run_id],
            )
            row = cur.fetchone()
            if row is None:
                raise JournalError(f"journal {self.where}: there is no entity run {entity_run_id}")
            run_id, flow, entity = row
            now = self._serialized(cur, flow, entity)
            cur.execute(
                f"UPDATE {self.s}.entity_runs SET status = $1, attempts = $2, rows_read = $3,"
                " rows_written = $4, bytes_written = $5, seconds = $6, error = $7,"
                " watermark_after = $8, ended_at = $9, schema_changes = $10 WHERE id = $11",
                [
                    status,
                    attempts,
                    rows_read,
                    rows_written,
                    bytes_written,
                    float(seconds),
                    None if error is None else redact(error),
                    commit.value if commit else None,
                    now,
                    encode_changes(schema_changes),
                    entity_run_id,
                ],
            )
            if commit is not None:
                cur.execute(
                    UPSERT_WATERMARK.format(s=self.s),
                    [self.project, flow, entity, commit.column, commit.value, commit.state,
                     run_id, now],
                )  # fmt: skip

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
        where, params = self._filters(flow, entity, status)
        if run_id is not None:
            params.append(run_id)
            where += f" AND starts_with(run_id, ${len(params)})"
        if round_id is not None:
            params.append(round_id)
            where += (
                " AND run_id IN (SELECT run_id FROM {s}.runs WHERE project = $1"
                f" AND round_id = ${len(params)})"
            )
        rows = self._select(
            "read the history",
            f"SELECT {ENTITY_RUN_COLUMNS} FROM {{s}}.entity_runs{where} ORDER BY id DESC"
            f" LIMIT ${len(params) + 1}",
            [*params, limit],
        )
        return [_record(EntityRunRecord, (*r[:-2], decode_changes(r[-2]), r[-1])) for r in rows]

    def round_done(self, round_id: str) -> dict[tuple[str, str], str]:
        rows = self._select(
            f"read round {round_id}",
            "SELECT flow, entity, max(run_id) FROM {s}.entity_runs WHERE project = $1"
            " AND status = 'success' AND run_id IN (SELECT run_id FROM {s}.runs"
            " WHERE project = $1 AND round_id = $2) GROUP BY flow, entity",
            [self.project, round_id],
        )
        return {(flow, entity): run_id for flow, entity, run_id in rows}

    def mark_interrupted(self) -> int:
        changed = 0
        with self._write("mark the runs of dead processes interrupted") as cur:
            cur.execute(
                f"SELECT run_id, host, pid, process_start FROM {self.s}.runs"
                " WHERE project = $1 AND (status = 'running' OR run_id IN"
                f" (SELECT run_id FROM {self.s}.entity_runs WHERE project = $1"
                " AND status = 'running'))",
                [self.project],
            )
            for run_id, host, pid, started in cur.fetchall():
                if self._alive(cur, run_id, host, pid, started):
                    continue
                cur.execute(
                    f"UPDATE {self.s}.entity_runs SET status = 'interrupted',"
                    " ended_at = clock_timestamp() WHERE project = $1 AND run_id = $2"
                    " AND status = 'running' RETURNING id",
                    [self.project, run_id],
                )
                changed += len(cur.fetchall())
                cur.execute(
                    f"UPDATE {self.s}.runs SET status = 'interrupted',"
                    " ended_at = clock_timestamp() WHERE project = $1 AND run_id = $2"
                    " AND status = 'running'",
                    [self.project, run_id],
                )
        return changed

    def _alive(self, cur: Cursor, run_id: str, host: str, pid: int, started: Any) -> bool:
        """A run of this machine lives while its process does; one of another machine while
        its journal session holds the run's advisory lock (start_run)."""
        if host == self._host:
            return process_alive(pid, started)
        key = self._run_key(run_id)
        cur.execute(
            "SELECT CASE WHEN pg_try_advisory_lock($1) THEN NOT pg_advisory_unlock($1)"
            " ELSE true END",
            [key],
        )
        return bool(cur.fetchone()[0])

    def _run_key(self, run_id: str) -> int:
        return lock_key("run", self.project, run_id)

    # -- watermarks --------------------------------------------------------------------------

    def watermark(self, flow: str, entity: str) -> WatermarkRecord | None:
        rows = self._select(
            f"read the watermark of {flow}.{entity}",
            "SELECT flow, entity, watermark_column, value, state, run_id, updated_at"
            " FROM {s}.watermarks WHERE project = $1 AND flow = $2 AND entity = $3",
            [self.project, flow, entity],
        )
        return _record(WatermarkRecord, rows[0]) if rows else None

    def set_watermark(
        self, flow: str, entity: str, commit: WatermarkCommit, *, user: str, reason: str
    ) -> None:
        with self._write(f"set the watermark of {flow}.{entity}") as cur:
            now = self._serialized(cur, flow, entity)
            old = self._current_value(cur, flow, entity)
            cur.execute(
                UPSERT_WATERMARK.format(s=self.s),
                [self.project, flow, entity, commit.column, commit.value, commit.state, None,
                 now],
            )  # fmt: skip
            self._audit(cur, now, user, "set", flow, entity, old, commit.value, reason)

    def reset_watermark(self, flow: str, entity: str, *, user: str, reason: str) -> bool:
        with self._write(f"reset the watermark of {flow}.{entity}") as cur:
            now = self._serialized(cur, flow, entity)
            old = self._current_value(cur, flow, entity)
            if old is None:
                return False
            cur.execute(
                f"DELETE FROM {self.s}.watermarks WHERE project = $1 AND flow = $2 AND entity = $3",
                [self.project, flow, entity],
            )
            self._audit(cur, now, user, "reset", flow, entity, old, None, reason)
        return True

    def audit(self, flow: str | None = None, entity: str | None = None) -> list[AuditRecord]:
        where, params = self._filters(flow, entity)
        rows = self._select(
            "read the audit trail",
            'SELECT id, at, "user", action, flow, entity, old_value, new_value, reason'
            f" FROM {{s}}.audit{where} ORDER BY id DESC",
            params,
        )
        return [_record(AuditRecord, r) for r in rows]

    # -- connection --------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __repr__(self) -> str:
        return f"PostgresJournal({self.where!r})"

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[Cursor]:
        with self._session.transaction(doing) as cur:
            if self._fence:
                self._check_fence(cur, doing)
            yield cur

    def _check_fence(self, cur: Cursor, doing: str) -> None:
        """Refuse the write unless this session holds every lock of its claim right now."""
        slots = ", ".join(f"${n}" for n in range(1, len(self._fence) + 1))
        cur.execute(
            "SELECT count(DISTINCT (classid::bigint << 32) | objid::bigint) FROM pg_locks"
            " WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
            f" AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint)"
            f" IN ({slots})",
            list(self._fence),
        )
        if int(cur.fetchone()[0]) != len(self._fence):
            raise JournalError(
                f"journal {self.where}: could not {doing}: this worker no longer holds its"
                " locks, another may run the entity now",
                hint="nothing was committed; the next run reads on from the committed watermark",
            )

    def _select(self, doing: str, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._session.cursor(doing) as cur:
            cur.execute(sql.format(s=self.s), list(params))
            return list(cur.fetchall())

    def _serialized(self, cur: Cursor, flow: str, entity: str) -> datetime:
        """Wait for the other writers of the entity's watermark; the time after them."""
        cur.execute(
            "SELECT clock_timestamp() FROM (SELECT pg_advisory_xact_lock($1)) AS waited",
            [lock_key("watermark", self.project, flow, entity)],
        )
        return _utc(cur.fetchone()[0])

    def _current_value(self, cur: Cursor, flow: str, entity: str) -> str | None:
        cur.execute(
            f"SELECT value FROM {self.s}.watermarks WHERE project = $1 AND flow = $2"
            " AND entity = $3",
            [self.project, flow, entity],
        )
        row = cur.fetchone()
        return None if row is None else str(row[0])

    def _audit(
        self,
        cur: Cursor,
        at: datetime,
        user: str,
        action: str,
        flow: str,
        entity: str,
        old_value: str | None,
        new_value: str | None,
        reason: str,
    ) -> None:
        cur.execute(
            f'INSERT INTO {self.s}.audit (project, at, "user", action, flow, entity, old_value,'
            " new_value, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [self.project, at, user, action, flow, entity, old_value, new_value, redact(reason)],
        )

    def _filters(
        self, flow: str | None, entity: str | None, status: str | None = None
    ) -> tuple[str, list[str]]:
        clauses, params = ["project = $1"], [self.project]
        for name, value in (("flow", flow), ("entity", entity), ("status", status)):
            if value is not None:
                params.append(value)
                clauses.append(f"{name} = ${len(params)}")
        return " WHERE " + " AND ".join(clauses), params


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _record(kind: type[_R], row: Sequence[Any]) -> _R:
    """A record from a row selected in the order of its fields, its times in UTC."""
    values: dict[str, Any] = {
        field.name: _utc(value) if isinstance(value, datetime) else value
        for field, value in zip(fields(kind), row, strict=True)
    }
    return kind(**values)

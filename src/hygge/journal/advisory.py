"""The PostgreSQL journal's locks: session advisory locks, so they hold across machines.

- A claim takes its locks (the entity's, then its destination's) with `pg_try_advisory_lock`
  in a session of its own, never a pooled connection: advisory locks belong to the session,
  and PostgreSQL frees them when it ends, so a worker killed with kill -9 or cut off frees
  its locks as soon as the server notices (README, Journal, for the settings that bound it).
- Keys are 64-bit digests (`hygge.locks.lock_key`): an entity's of the project's identity and
  address, so projects sharing the database never collide; a destination's of the store's
  `target()` alone, so every project writing that destination takes the same lock.
- Who holds a lock is written to `lock_holders` for `hygge locks` and messages only; a row
  counts while pg_locks shows its session holding the key, so a dead holder's row is ignored.
- The entity run's journal writes go through the claim's session and check, in each write's
  transaction, that the session still holds every key (`PostgresJournal.fenced`).
- A finished claim's session goes back to a small free list of the coordinator's, so an
  entity run costs no new connection.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hygge.errors import JournalError
from hygge.journal.session import Session
from hygge.locks import Claim, Holder, lock_key

if TYPE_CHECKING:
    from hygge.journal.api import Journal
    from hygge.journal.postgres import PostgresJournal

J = TypeVar("J", bound="Journal")
_HELD = (
    "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid = h.backend"
    " AND ((l.classid::bigint << 32) | l.objid::bigint) = h.lock_key"
)


class AdvisoryLocks:
    """The lock backend of a PostgreSQL journal (hygge.locks.LockBackend)."""

    def __init__(self, journal: PostgresJournal, root: Path) -> None:
        self.journal = journal
        self.root = root
        self._free: list[Session] = []
        self._guard = threading.Lock()

    def check(self) -> None:
        """Nothing to prepare: the journal opened, so its server answers."""

    def claim(self, address: str, target: str) -> Claim:
        project = self.journal.project
        return SessionClaim(
            self,
            (
                ("entity", address, lock_key("entity", project, address)),
                ("destination", "", lock_key("destination", target)),
            ),
        )

    def project_claim(self) -> Claim:
        project = self.journal.project
        return SessionClaim(self, (("project", "_project", lock_key("project", project)),))

    def held(self) -> list[tuple[str, Holder]]:
        with self.journal.transaction("list the locks held") as cur:
            cur.execute(
                "SELECT h.name, h.pid, h.host, h.run_id, h.since, h.command, h.entity, h.writes"
                f" FROM {self.journal.s}.lock_holders AS h JOIN pg_locks AS l ON {_HELD}"
                " WHERE h.project = $1 AND h.kind <> 'destination' ORDER BY h.name",
                [self.journal.project],
            )
            rows = cur.fetchall()
        return [(row[0], _holder(row[1:])) for row in rows]

    def close(self) -> None:
        with self._guard:
            free, self._free = self._free, []
        for session in free:
            session.close()

    def session(self) -> Session:
        with self._guard:
            if self._free:
                return self._free.pop()
        return Session(self.journal.url, self.journal.where)

    def give_back(self, session: Session) -> None:
        with self._guard:
            self._free.append(session)

    def holder_of(self, key: int) -> str:
        """Who holds key, as its holder wrote it down, if it still holds it."""
        with self.journal.transaction("find who holds a lock") as cur:
            cur.execute(
                "SELECT h.pid, h.host, h.run_id, h.since, h.command, h.entity, h.writes"
                f" FROM {self.journal.s}.lock_holders AS h JOIN pg_locks AS l ON {_HELD}"
                " WHERE h.lock_key = $1",
                [key],
            )
            row = cur.fetchone()
        if row is None:
            return "another worker (it has not said who)"
        return _holder(row).describe()


class SessionClaim(Claim):
    """Locks held by one dedicated session: taken together, or none of them."""

    def __init__(self, backend: AdvisoryLocks, locks: tuple[tuple[str, str, int], ...]) -> None:
        super().__init__(())
        self.backend = backend
        self.named = locks
        self.session: Session | None = None

    @property
    def keys(self) -> tuple[int, ...]:
        return tuple(key for _, _, key in self.named)

    def try_take(self, holder: Holder) -> str | None:
        session = self.backend.session()
        try:
            busy = self._take(session, holder)
        except JournalError:
            session.close()
            raise
        if busy is not None:
            self.backend.give_back(session)
            return self.backend.holder_of(busy)
        self.session = session
        return None

    def release(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        try:
            with session.cursor("release its locks") as cur:
                cur.execute(
                    f"WITH gone AS (DELETE FROM {self.backend.journal.s}.lock_holders"
                    " WHERE backend = $1) SELECT pg_advisory_unlock_all()",
                    [session.backend],
                )
        except JournalError:  # the session is gone, and its locks with it
            session.close()
            return
        self.backend.give_back(session)

    def fence(self, journal: J) -> J:
        from hygge.journal.postgres import PostgresJournal

        if self.session is None or not isinstance(journal, PostgresJournal):
            return journal
        return journal.fenced(self.session, self.keys)  # type: ignore[return-value]

    def _take(self, session: Session, holder: Holder) -> int | None:
        """Take every key, noting who holds them; or none: the first busy key. Two
        statements in autocommit (each round trip counts, once per entity run)."""
        tries = ", ".join(f"pg_try_advisory_lock(${n})" for n in range(1, len(self.named) + 1))
        with session.cursor("take its locks") as cur:
            cur.execute(f"SELECT {tries}", list(self.keys))
            taken = cur.fetchone()
            busy = next((key for key, ok in zip(self.keys, taken, strict=True) if not ok), None)
            if busy is not None:
                cur.execute("SELECT pg_advisory_unlock_all()")
                return busy
            rows: list[str] = []
            params: list[object] = []
            for kind, name, key in self.named:
                first = len(params)
                slots = [f"${first + n}" for n in range(1, 12)]
                rows.append(f"({', '.join(slots[:8])}, clock_timestamp(), {', '.join(slots[8:])})")
                params += [key, self.backend.journal.project, kind, name, session.backend,
                           holder.host, holder.pid, holder.run_id, holder.command, holder.entity,
                           holder.writes]  # fmt: skip
            cur.execute(
                f"INSERT INTO {self.backend.journal.s}.lock_holders (lock_key, project, kind,"
                " name, backend, host, pid, run_id, since, command, entity, writes)"
                f" VALUES {', '.join(rows)}"
                " ON CONFLICT (lock_key) DO UPDATE SET project = excluded.project,"
                " kind = excluded.kind, name = excluded.name, backend = excluded.backend,"
                " host = excluded.host, pid = excluded.pid, run_id = excluded.run_id,"
                " since = excluded.since, command = excluded.command, entity = excluded.entity,"
                " writes = excluded.writes",
                params,
            )
        return None


def _holder(row: tuple[Any, ...]) -> Holder:
    """A Holder from lock_holders' pid, host, run_id, since, command, entity, writes."""
    pid, host, run_id, since, command, entity, writes = row
    return Holder(pid, host, run_id, since.isoformat(), command, entity, writes)

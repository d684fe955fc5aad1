"""One PostgreSQL session of the journal: a connection of its own, never pooled.

The journal keeps one for its own reads and writes, and every entity claim holds another
(`hygge.journal.advisory`): advisory locks belong to the session that took them, so a pooled
connection handed to someone else would hand over the locks too. A session is used by one
thread at a time. Driver errors become JournalErrors naming the journal, their text passed
through `redact` (libpq may quote the URL); the integrity errors say which kind of constraint
failed in the words the SQLite journal uses, so messages read alike on both.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from hygge.errors import JournalError, MissingDriverError
from hygge.redact import redact

Cursor = Any  # adbc_driver_manager.dbapi.Cursor (the driver is an optional extra)
_CONSTRAINTS = {
    "23502": "NOT NULL constraint failed",
    "23503": "FOREIGN KEY constraint failed",
    "23505": "UNIQUE constraint failed",
}


class Session:
    """A dedicated connection, in autocommit mode; `transaction()` wraps BEGIN ... COMMIT."""

    def __init__(self, url: str, where: str) -> None:
        self.where = where
        self._lock = threading.Lock()
        self._conn: Any = None
        try:
            from hygge.engines.postgres import DRIVER

            with self._mapped("connect"):
                self._conn = DRIVER.open(url)
        except ImportError as exc:
            raise MissingDriverError(
                f"journal {where}: the PostgreSQL journal needs a driver that is not installed"
                f" ({exc.name or exc})",
                hint="install the extra 'postgres': pip install '.[postgres]' in a checkout"
                " of hygge",
            ) from exc
        with self.cursor("ask for its session") as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.backend = int(cur.fetchone()[0])

    @contextlib.contextmanager
    def cursor(self, doing: str) -> Iterator[Cursor]:
        """A cursor for statements that commit one by one."""
        with self._lock, self._mapped(doing):
            if self._conn is None:
                raise JournalError(f"journal {self.where} is closed")
            cur = self._conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    @contextlib.contextmanager
    def transaction(self, doing: str) -> Iterator[Cursor]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self.cursor(doing) as cur:
            cur.execute("BEGIN")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):  # the original error matters
                    cur.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection (a lost one too); closing twice is fine."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    @contextlib.contextmanager
    def _mapped(self, doing: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if not type(exc).__module__.startswith("adbc_driver"):
                raise
            raise self.error(doing, exc) from exc

    def error(self, doing: str, exc: BaseException) -> JournalError:
        state = getattr(exc, "sqlstate", None)
        detail = " ".join(str(exc).split()) or type(exc).__name__
        kind = _CONSTRAINTS.get(state or "")
        if kind:
            detail = f"{kind}: {detail}"
        lost = state is None or str(state).startswith(("08", "57P"))
        return JournalError(
            redact(f"journal {self.where}: could not {doing}: {detail}"),
            hint="the journal's PostgreSQL server is unreachable or restarting; run again"
            " once it answers"
            if lost
            else None,
        )

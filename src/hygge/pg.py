"""PostgreSQL connections for the postgres home and store: ADBC, pooled, errors redacted.

A plugin that names a hygge.yml connection borrows from the coordinator's pool of that name,
so `pool_size` bounds what all entities open together. A plugin with an inline `url` opens
a connection per use and closes it after: an unnamed URL has no pool_size to size a pool by,
and a pool of one would make concurrent entities wait on each other.

Connections are in autocommit mode; a store publishes with an explicit BEGIN ... COMMIT.
Driver messages may quote the URL, so every one is passed through `redact` before it becomes
a hygge error; a failed login is final (retrying only locks the account sooner), a refused or
broken connection is transient and retried by the flow.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hygge.connections import DatabaseConfig, borrowed, where
from hygge.errors import EntityError, RetryableError
from hygge.plugin import Context
from hygge.redact import redact

Connection = Any  # adbc_driver_manager.dbapi.Connection (the driver is an optional extra)

_TRANSIENT = ("could not connect", "connection refused", "server closed", "connection reset",
              "terminating connection", "timeout expired", "no connection")  # fmt: skip


class PgConfig(DatabaseConfig):
    """`connection` (a hygge.yml name; planning fills in its `url`) or an inline `url`."""


def _open(url: str) -> Connection:
    import adbc_driver_postgresql.dbapi as dbapi

    return dbapi.connect(url, autocommit=True)


def _alive(connection: Connection) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        return True
    except Exception:
        return False


def _close(connection: Connection) -> None:
    connection.close()


def connect(
    config: PgConfig, context: Context, errors: type[EntityError]
) -> contextlib.AbstractContextManager[Connection]:
    """A connection for the block; driver errors inside leave as `errors` (or retryable)."""
    return borrowed(
        context,
        config.connection,
        config.url or "",
        "adbc_driver",
        _open,
        close=_close,
        is_alive=_alive,
        mapped=lambda exc: mapped(exc, where(config), errors),
    )


def mapped(exc: Exception, place: str, errors: type[EntityError]) -> EntityError:
    """The one place ADBC errors become hygge errors, with any password masked."""
    text = str(exc).strip()
    detail = " ".join(text.split()) if text else type(exc).__name__
    message = redact(f"postgres {place}: {detail}")
    lowered = detail.lower()
    if "authentication failed" not in lowered and any(m in lowered for m in _TRANSIENT):
        return RetryableError(message, hint="the server may be down or restarting")
    return errors(message)

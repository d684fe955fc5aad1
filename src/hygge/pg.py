"""PostgreSQL connections for the postgres home and store: ADBC, pooled, errors redacted.

A plugin that names a hygge.yml connection borrows from the coordinator's pool of that name,
so `pool_size` bounds what all entities open together; one with an inline `url` borrows from
a pool keyed by a digest of the URL (see `hygge.connections.pool_key`).

Connections are in autocommit mode; a store publishes with an explicit BEGIN ... COMMIT.
Driver messages may quote the URL, so every one is passed through `redact` before it becomes
a hygge error; a failed login is final (retrying only locks the account sooner), a refused or
broken connection is transient and retried by the flow.
"""

from __future__ import annotations

from typing import Any

from hygge.connections import DatabaseConfig
from hygge.drivers import BUSY, FINAL, Code, Driver, Verdict, sqlstate

Connection = Any  # adbc_driver_manager.dbapi.Connection (the driver is an optional extra)

# SQLSTATEs another attempt may not meet: a lost connection (class 08), a server shutting down
# or starting, too many clients, a serialization failure or deadlock, a lock timeout
_TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01", "55P03")
# libpq's own errors carry no SQLSTATE: their text tells a dropped or refused connection
_TRANSIENT = ("could not connect", "connection refused", "server closed", "connection reset",
              "terminating connection", "timeout expired", "no connection")  # fmt: skip
# libpq's complaints about a URL it cannot parse, most often a password with `@ : / %` or spaces
_MALFORMED = ("invalid percent-encoded token", "unexpected spaces found", "invalid integer value")


class PgConfig(DatabaseConfig):
    """`connection` (a hygge.yml name; planning fills in its `url`) or an inline `url`."""


def _open(url: str) -> Connection:
    import adbc_driver_postgresql.dbapi as dbapi

    return dbapi.connect(url, autocommit=True)


def _judge(code: Code, detail: str) -> Verdict:
    """The server's SQLSTATE when it gave one, else the text of libpq's own error."""
    if isinstance(code, str):
        return Verdict(retry=True, hint=BUSY) if code.startswith(_TRANSIENT_STATES) else FINAL
    lowered = detail.lower()
    if any(m in lowered for m in _MALFORMED):
        return Verdict(
            hint="percent-encode `@ : / %` and spaces in the URL's password, or give the"
            " connection a `password:` of its own"
        )
    if "authentication failed" not in lowered and any(m in lowered for m in _TRANSIENT):
        return Verdict(retry=True, hint="the server may be down or restarting")
    return FINAL


DRIVER = Driver("postgres", "adbc_driver", _open, _judge, parse=sqlstate)
connect = DRIVER.connect
mapped = DRIVER.mapped

"""SQL Server connections for the mssql home and store: pymssql, pooled, errors redacted.

pymssql is the driver: it is maintained, its wheels bundle FreeTDS (and the TLS and Kerberos
libraries it needs), so `pip install` is all a machine needs, and it has a bulk-copy path
(`Connection.bulk_copy`, the TDS BCP protocol) for loading stages. Microsoft's `mssql-python`
also ships wheels, but pulls in a bundled ODBC driver, a Rust core and azure-identity.

URLs look like `mssql://user:password@host:port/database`. Parameters are `%s` slots that
pymssql quotes and fills in itself (it has no server-side binding; hygge never formats a
value into SQL text); the home quotes through the same function so that a user's query may
hold `%s`. Pooling follows hygge.pg: a named
connection borrows from the coordinator's pool of that name, an inline `url` from one keyed
by its digest. Connections are in autocommit mode; a store publishes inside an explicit
BEGIN TRANSACTION ... COMMIT. Driver messages pass through `redact`; a failed login is final,
a lost or refused connection, deadlock or timeout is retried by the flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from hygge.connections import DatabaseConfig
from hygge.drivers import BUSY, FINAL, Code, Driver, Verdict

Connection = Any  # pymssql.Connection (the driver is an optional extra)

# -2 timeout, 233/10053/10054 connection dropped, 1205 deadlock victim, 1222 lock timeout,
# 40197/40501/40613 Azure SQL busy or failing over, 20002-20047 FreeTDS cannot reach the server.
_TRANSIENT = {-2, 233, 1205, 1222, 10053, 10054, 40197, 40501, 40613}
_LOGIN_FAILED = {18452, 18456}


class MsSqlConfig(DatabaseConfig):
    """`connection` (a hygge.yml name; planning fills in its `url`) or an inline `url`."""

    url_schemes = ("mssql", "sqlserver")


def execute(cursor: Any, sql: str, params: Sequence[Any] = ()) -> None:
    """Run sql with its `%s` slots filled in by pymssql; without params the text runs as is."""
    if params:
        cursor.execute(sql, tuple(params))
    else:
        cursor.execute(sql)


def _open(url: str) -> Connection:
    import pymssql

    parts = urlsplit(url)
    return pymssql.connect(
        server=parts.hostname or "localhost",
        port=str(parts.port or 1433),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")),
        autocommit=True,
        login_timeout=10,
        use_datetime2=True,
        tds_version="7.4",
    )


def _judge(code: Code, detail: str) -> Verdict:
    if code in _LOGIN_FAILED or "login failed" in detail.lower():
        return Verdict(hint="check the user and password of the connection")
    if code in _TRANSIENT or (isinstance(code, int) and 20002 <= code <= 20047):
        return Verdict(retry=True, hint=BUSY)
    return FINAL


DRIVER = Driver("mssql", "pymssql", _open, _judge)
connect = DRIVER.connect
mapped = DRIVER.mapped

"""MariaDB/MySQL connections for the mysql home and store: PyMySQL, pooled, errors redacted.

PyMySQL is the driver because it is maintained, pure Python (no client library to build),
and has an unbuffered server-side cursor (`SSCursor`) to stream reads in bounded memory and
client-side `LOAD DATA LOCAL INFILE` for bulk loads. connectorx reads MySQL into Arrow
faster but cannot bind parameters, and the window must never be spliced into SQL text.

Pooling follows hygge.pg: a named connection borrows from the coordinator's pool of that
name, an inline `url` opens a connection per use. Connections run in autocommit with the
session time zone at UTC, so TIMESTAMP columns read and write in UTC; a store publishes with
an explicit START TRANSACTION ... COMMIT. Driver messages pass through `redact`; a refused
login is final, a lost or refused connection, deadlock or lock timeout is retried.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from hygge.connections import DatabaseConfig
from hygge.drivers import BUSY, FINAL, Code, Driver, Verdict

Connection = Any  # pymysql.connections.Connection (the driver is an optional extra)

# 2002/2003 cannot connect, 2006 gone away, 2013 lost, 1205 lock wait timeout, 1213 deadlock,
# 1040 too many connections, 1927 connection killed.
_TRANSIENT = {1040, 1205, 1213, 1927, 2002, 2003, 2006, 2013}
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class MySqlConfig(DatabaseConfig):
    """`connection` (a hygge.yml name; planning fills in its `url`) or an inline `url`,
    `mysql://user:password@host:port/database` (`mariadb://` too)."""

    url_schemes = ("mysql", "mariadb")

    def database(self) -> str:
        """The URL's database ('' when it names none)."""
        return unquote(urlsplit(self.url or "").path.lstrip("/"))


def quote(identifier: str) -> str:
    """An identifier in backticks (MySQL's quoting; a backtick inside is doubled)."""
    return "`" + identifier.replace("`", "``") + "`"


def plain(name: str) -> str:
    """name, checked to be letters, digits and _ (what table and schema names may use)."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a plain name: use letters, digits and _")
    return name


def _open(url: str) -> Connection:
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")) or None,
        charset="utf8mb4",
        autocommit=True,
        local_infile=True,
        init_command="SET time_zone = '+00:00'",
        connect_timeout=10,
    )


def _judge(code: Code, detail: str) -> Verdict:
    return Verdict(retry=True, hint=BUSY) if code in _TRANSIENT else FINAL


DRIVER = Driver("mysql", "pymysql", _open, _judge, probe=lambda con: con.ping(reconnect=False))
connect = DRIVER.connect
mapped = DRIVER.mapped

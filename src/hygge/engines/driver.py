"""What the server engines' drivers (hygge.engines.postgres, .mysql, .mssql) share.

They differ only in their driver: which package raises its errors, how a URL opens a
connection, how a pooled connection is probed, and which errors are transient or final. The
rest is written once here so the three stay alike: connections are borrowed through
`hygge.connections.borrowed` (a named connection's pool, or one per inline URL), and a driver
error becomes a hygge error in one place, its message passed through `redact` (driver
messages may quote the URL), a transient one as RetryableError for the flow to retry.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from hygge.config.connection_models import CLOUD_CONNECTIONS, CloudConnection, Connection
from hygge.connections import DatabaseConfig, borrowed, connection_url, where
from hygge.errors import EntityError, RetryableError
from hygge.plugin import Context
from hygge.redact import redact
from hygge.registry import plugin_kinds

BUSY = "the server may be down, restarting or busy"
Code = int | str | None  # a driver's error number, PostgreSQL's SQLSTATE, or none given


class Verdict(NamedTuple):
    """What a driver error means: whether to retry it, and what to tell the user."""

    retry: bool = False
    hint: str | None = None


FINAL = Verdict()


def select_one(connection: Any) -> None:
    """Run the cheapest query on connection: raises when the connection is broken."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchall()


def coded(exc: BaseException) -> tuple[Code, str]:
    """A DB-API error's code and text, from its `(code, message)` args (bytes decoded)."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    code = args[0] if args and isinstance(args[0], int) else None
    text = args[1] if len(args) > 1 else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return code, str(text)


def sqlstate(exc: BaseException) -> tuple[Code, str]:
    """An ADBC error's SQLSTATE (None when the client raised it, e.g. a refused connection)
    and its text."""
    return getattr(exc, "sqlstate", None), str(exc)


def _close(connection: Any) -> None:
    connection.close()


@dataclass(frozen=True)
class Driver:
    """One database driver, described by what sets it apart from the others."""

    engine: str  # names the database in messages
    package: str  # errors raised by modules of this package are the driver's
    open: Callable[[str], Any]  # a new connection to a URL
    judge: Callable[[Code, str], Verdict]  # an error's code and detail -> Verdict
    probe: Callable[[Any], None] = select_one  # raises when a pooled connection is broken
    parse: Callable[[BaseException], tuple[Code, str]] = coded

    def connect(
        self, config: DatabaseConfig, context: Context, errors: type[EntityError]
    ) -> contextlib.AbstractContextManager[Any]:
        """A connection for the block; driver errors inside leave as `errors` (or retryable)."""
        return borrowed(
            context,
            config.connection,
            config.url or "",
            self.package,
            self.open,
            close=_close,
            is_alive=self.alive,
            mapped=lambda exc: self.mapped(exc, where(config), errors),
        )

    def alive(self, connection: Any) -> bool:
        """Whether a pooled connection still answers."""
        try:
            self.probe(connection)
            return True
        except Exception:
            return False

    def problems(self, place: str, url: str) -> list[str]:
        """`hygge debug`: connect to url outside any pool and run the probe; [] when the
        server answers, else why not (redacted)."""
        try:
            connection = self.open(url)
            try:
                self.probe(connection)
            finally:
                _close(connection)
        except ImportError as exc:
            return [f"{self.engine} {place}: its driver is not installed ({exc.name})"]
        except Exception as exc:
            if not type(exc).__module__.startswith(self.package):
                raise
            return [self.mapped(exc, place, EntityError).message]
        return []

    def mapped(self, exc: BaseException, place: str, errors: type[EntityError]) -> EntityError:
        """The one place this driver's errors become hygge errors, with any password masked."""
        code, text = self.parse(exc)
        detail = " ".join(text.split()) or type(exc).__name__
        message = redact(f"{self.engine} {place}: {detail}")
        verdict = self.judge(code, detail)
        if verdict.retry:
            return RetryableError(message, hint=verdict.hint)
        return errors(message, hint=verdict.hint)


_MODULES = {  # a connection type (the URL schemes its driver takes) -> its driver module
    "postgres": "hygge.engines.postgres",
    "postgresql": "hygge.engines.postgres",
    "mysql": "hygge.engines.mysql",
    "mariadb": "hygge.engines.mysql",
    "mssql": "hygge.engines.mssql",
    "sqlserver": "hygge.engines.mssql",
}


def connection_types() -> list[str]:
    """The types a hygge.yml connection may have: those with a driver here, and the types of
    installed plugins, which may reach servers of their own, and the clouds' (file paths)."""
    return sorted({*_MODULES, *plugin_kinds(), *CLOUD_CONNECTIONS})


def connection_problems(name: str, connection: Connection | CloudConnection) -> list[str]:
    """Why the named connection cannot be used now ([] when its server answers); a plugin's
    type, and a cloud's, are checked through the entities that use it."""
    if isinstance(connection, CloudConnection):
        return []
    module = _MODULES.get(connection.type)
    if module is None:
        return []
    try:
        driver: Driver = importlib.import_module(module).DRIVER
    except ImportError as exc:
        return [f"{connection.type} {name}: its driver is not installed ({exc.name})"]
    return driver.problems(name, connection_url(connection))

"""Named connections (hygge.yml `connections:`) turned into the URL a database plugin needs.

Plugins see only their own config section, not the project. So planning writes the URL of
the connection a section names into that section (`connection: NAME` gains `url:`) before the
plugin's config is validated; the plugin keeps the name to share the coordinator's pool of
that connection. The URL carries the password, so it must only ever be shown through
`hygge.redact.redact`.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from pydantic import model_validator

from hygge.config.connection_models import SQL_SERVER_OPTIONS, CloudConnection, Connection
from hygge.errors import ConfigError, EntityError
from hygge.hosts import host_identity
from hygge.plugin import PluginConfig
from hygge.redact import redact

if TYPE_CHECKING:
    from hygge.plugin import Context

C = TypeVar("C")


class DatabaseConfig(PluginConfig):
    """`connection` (a hygge.yml name; planning fills in its `url`) or an inline `url`."""

    connection: str | None = None
    """A database connection of hygge.yml."""
    url: str | None = None
    """The database's address, instead of `connection` (a password only from `${VAR}`)."""
    url_schemes: ClassVar[tuple[str, ...]] = ()  # when set, the url must use one of them

    @model_validator(mode="after")
    def _needs_url(self) -> Self:
        if not self.url:
            raise ValueError("give 'connection' (a name from hygge.yml) or 'url'")
        parts = urlsplit(self.url)
        if self.url_schemes and (parts.scheme not in self.url_schemes or not parts.hostname):
            example = f"{self.url_schemes[0]}://user:password@host:port/database"
            raise ValueError(f"the url must look like {example}")
        return self


def where(config: DatabaseConfig) -> str:
    """The database for messages: the connection's name, or the URL without its password."""
    return config.connection or redact(config.url or "")


def server_target(
    config: DatabaseConfig, port: int, database: str | None = None, *, user_database: bool = False
) -> str:
    """The database a config reaches, as an identity for locks and conflict checks:
    `type://host:port/database` whatever the connection is called, never a user or password.
    The host is `hygge.hosts.host_identity`'s (every spelling of this machine is localhost),
    the port the engine's `port` when the URL gives none; libpq's `host`, `port` and
    `dbname` in the query string count as in the URL's body. `database` replaces the URL's
    (None: the URL's; when it names none and `user_database`, the user's, as libpq does)."""
    parts = urlsplit(config.url or "")
    query = dict(parse_qsl(parts.query))
    endpoints = [
        _endpoint(item, query, port) for item in parts.netloc.rpartition("@")[2].split(",")
    ]
    name = unquote(query.get("dbname") or parts.path.lstrip("/")) if database is None else database
    if not name and user_database:
        name = query.get("user") or unquote(parts.username or "")
    return f"{config.type}://{','.join(endpoints)}/{name}"


def _endpoint(written: str, query: Mapping[str, str], default_port: int) -> str:
    """One `host:port` of a URL, normalised (IPv6 addresses stay in brackets)."""
    found = re.fullmatch(r"(\[[^\]]*\]|[^:]*)(?::(\d*))?", written)
    host, port = found.groups() if found else (written, None)
    host = host_identity(query.get("host") or host)
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{query.get('port') or port or default_port}"


def pool_key(connection: str | None, url: str) -> str:
    """The pool a plugin borrows from: its named connection's (sized by `pool_size`), or for an
    inline `url` one keyed by a digest of it (the name never shows the password)."""
    if connection is not None:
        return connection
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"inline url {digest}"


def pool_need(config: DatabaseConfig, connections: int) -> dict[str, int]:
    """A plugin's `pool_needs()`: it holds up to `connections` of its pool at once."""
    return {pool_key(config.connection, config.url or ""): connections}


def connection_url(connection: Connection) -> str:
    """`url` as written, or one built from host/port/database/user/password (escaped)."""
    if connection.url:
        return connection.url
    login = quote(connection.user or "", safe="")
    if connection.password is not None:
        login += ":" + quote(connection.password, safe="")
    host = connection.host or "localhost"
    port = f":{connection.port}" if connection.port else ""
    url = (
        f"{connection.type}://{login}{'@' if login else ''}{host}{port}/{connection.database or ''}"
    )
    return url + _options(connection)


def _options(connection: Connection) -> str:
    """A SQL Server connection's sign-in options as the URL's query (`?authentication=...`)."""
    given = {}
    for name in SQL_SERVER_OPTIONS:
        value = getattr(connection, name)
        if value is not None:
            given[name] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    return "?" + urlencode(given) if given else ""


def with_connection_url(
    section: dict[str, Any], connections: Mapping[str, Connection | CloudConnection]
) -> dict[str, Any]:
    """The section with the URL of the connection it names (a cloud connection's
    `credentials`, for file plugins); unchanged when it names none."""
    name = section.get("connection")
    if not isinstance(name, str) or "url" in section:
        return section
    if name not in connections:
        known = ", ".join(sorted(connections)) or "none"
        raise ConfigError(
            f"connection {name!r} is not defined in hygge.yml",
            hint=f"defined connections: {known}",
        )
    connection = connections[name]
    if isinstance(connection, CloudConnection):
        return {**section, "credentials": connection.model_dump()}
    return {**section, "url": connection_url(connection)}


@contextlib.contextmanager
def borrowed(
    context: Context,
    connection: str | None,
    url: str,
    driver: str,
    connect: Callable[[str], C],
    *,
    close: Callable[[C], None],
    is_alive: Callable[[C], bool],
    mapped: Callable[[Exception], EntityError],
) -> Iterator[C]:
    """A pooled connection for the block. Errors of the `driver` module, raised while
    connecting or inside the block, leave as `mapped(exc)`: the plugin's one mapping place."""
    try:
        pool = context.pools.get(
            pool_key(connection, url), lambda: connect(url), close=close, is_alive=is_alive
        )
        with pool.connection() as borrowed_connection:
            yield borrowed_connection
    except EntityError:
        raise
    except Exception as exc:
        if not type(exc).__module__.startswith(driver):
            raise
        raise mapped(exc) from exc  # its traceback, shown by -v, passes through redact

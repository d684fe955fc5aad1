"""Keep secrets out of what hygge prints and records.

Two nets. The shape of a URL: `scheme://user:PASSWORD@host` is masked wherever it appears.
And the secret values themselves, remembered when config is resolved (`remember_secret`,
`remember_url`): a driver that chokes on a badly escaped password quotes it, or the part of it
after an `@`, in a message no URL pattern recognises. `redact` is the one function every
message, result, journal text, traceback and log line passes through.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, unquote

MASK = "***"
# The password runs to the last "@" before the host, so an unescaped "@" in it is masked too.
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)(?P<password>[^\s/]+)@")
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api_?key|account_?key|credential)", re.IGNORECASE
)
# libpq also takes the password as a query parameter: `postgresql://app@db/shop?password=...`,
# and a SQL Server URL its service principal's secret: `mssql://db/shop?client_secret=...`.
_QUERY_PASSWORD = re.compile(
    r"(?P<head>[?&](?:(?:ssl)?password|client_secret)=)(?P<password>[^&#\s]+)", re.I
)
# Where a URL parser may cut a badly escaped password short, quoting only a piece of it.
_CUTS = re.compile(r"[@:/?#\s]+")
# Shorter values are left alone: masking every "ab" in a message hides more than it protects.
SHORTEST_SECRET = 3
SHORTEST_FRAGMENT = 4


class _Secrets:
    """The values to mask, process-wide; one compiled pattern, longest value first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            new = set(values) - self._values
            if new:
                self._values |= new
                ordered = sorted(self._values, key=lambda v: (-len(v), v))
                self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def mask(self, text: str) -> str:
        pattern = self._pattern  # read once: another thread may swap in a new one
        return pattern.sub(MASK, text) if pattern else text


_SECRETS = _Secrets()


def remember_secret(value: str) -> None:
    """Mask value from now on, in the forms a driver may quote it: as written, percent-encoded
    or decoded, whitespace folded, and the pieces a URL parser cuts it into."""
    forms = {
        value,
        unquote(value),
        quote(value, safe=""),
        " ".join(value.split()),
        repr(value)[1:-1],
    }
    pieces = {piece for form in forms for piece in _pieces(form)}
    _SECRETS.add(
        {f for f in forms if len(f) >= SHORTEST_SECRET}
        | {p for p in pieces if len(p) >= SHORTEST_FRAGMENT}
    )


def remember_url(url: str) -> None:
    """Mask the password of url (read leniently: it may hold unescaped `@`, `/` or spaces)
    and the URL itself, which a driver may quote whole."""
    passwords = [m.group("password") for m in _QUERY_PASSWORD.finditer(url)]
    passwords.append(_lenient_password(url) or "")
    if any(passwords):
        _SECRETS.add([url])
    for password in filter(None, passwords):
        remember_secret(password)


def is_secret_key(name: str) -> bool:
    """Whether a config key or `--var` name holds a secret (`password`, `api_key`, ...)."""
    return bool(_SECRET_KEY.search(name))


def redact(text: str) -> str:
    """text with URL passwords and every remembered secret masked."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    text = _QUERY_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}", text)
    return _SECRETS.mask(text)


def value_sample(column: str, shown: str, width: int = 48) -> str:
    """A value of a column as an error message shows it (`shown`, e.g. its repr), cut to
    `width` characters; never a value of a column whose name looks secret (password, ...)."""
    if is_secret_key(column):
        return "not shown: the column's name looks secret"
    return shown if len(shown) <= width else shown[: width - 3] + "..."


def url_passwords(text: str) -> list[str]:
    """The passwords of the URLs in text, as written (`user:PASSWORD@`, `?password=PASSWORD`)."""
    matches = [*_URL_PASSWORD.finditer(text), *_QUERY_PASSWORD.finditer(text)]
    return [match.group("password") for match in matches]


def redact_argv(argv: list[str]) -> list[str]:
    """A command line fit for logs: URL passwords and secret `--var` values masked."""
    out = []
    for arg in argv:
        name, eq, _ = arg.partition("=")
        if eq and is_secret_key(name):
            arg = f"{name}={MASK}"
        out.append(redact(arg))
    return out


class RedactingFilter(logging.Filter):
    """Masks secrets in a log record's message before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def _pieces(form: str) -> set[str]:
    """What precedes and follows each cut of form, and what lies between cuts."""
    found = set(_CUTS.split(form))
    for cut in _CUTS.finditer(form):
        found |= {form[: cut.start()], form[cut.end() :]}
    return found


def _lenient_password(url: str) -> str | None:
    """The password of `scheme://user:password@host...`: all between the first ':' of the
    userinfo and the URL's last '@'."""
    _, sep, rest = url.partition("://")
    userinfo = rest.rpartition("@")[0]
    _, colon, password = userinfo.partition(":")
    return password if sep and colon and password else None

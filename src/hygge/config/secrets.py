"""Passwords and secret keys come from the environment, never from the files.

Project files get committed, copied and pasted into tickets; a password written into one
leaks with it. So a `password` key, or a URL with a password in it, must say where the
secret lives: `password: ${PG_PASSWORD}`, `url: postgresql://app:${PG_PASSWORD}@db/shop`
or `url: ${PG_URL}`. Checked on the parsed file before `${VAR}` expansion, so what the
environment supplies is never mistaken for a literal; the message never repeats the value.

When a variable is substituted, the values it brings into a secret position are remembered
for `hygge.redact` to mask, and a value inside a URL's userinfo is percent-encoded, so that a
password holding `@`, `:` or `/` stays a password.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import quote

from hygge.config.yamlfile import KeyPath, YamlDoc, dotted
from hygge.errors import ConfigError
from hygge.redact import is_secret_key, remember_secret, remember_url, url_passwords

_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")
# The keys that hold a secret: a database's password, a cloud connection's secret key or token.
SECRET_KEYS = frozenset(
    {"password", "secret_access_key", "session_token", "client_secret", "sas_token", "account_key"}
)


def refuse_literal_secrets(doc: YamlDoc) -> None:
    """Raise ConfigError at the first password or secret key written into doc as a literal."""
    for at, value in _leaves(doc.data, ()):
        if (_holds_secret(at) or _inline_key(at, value)) and _literal(value):
            what = "a password" if at[-1] == "password" else "a secret"
            variable = _variable(at, str(at[-1]).upper())
            raise ConfigError(
                f"{doc.where(at)}: {dotted(at)!r} holds {what} written into the file",
                hint=f"export it and write `{at[-1]}: ${{{variable}}}`",
            )
        if isinstance(value, str) and any(_literal(p) for p in url_passwords(value)):
            raise ConfigError(
                f"{doc.where(at)}: the URL of {dotted(at)!r} holds a password written into"
                " the file",
                hint=f"write it as `user:${{{_variable(at, 'PASSWORD')}}}@host`, or the whole"
                f" URL as `${{{_variable(at, 'URL')}}}`, and export the variable",
            )


def substituted(value: str, at: KeyPath, before: str, after: str) -> str:
    """What a `${VAR}` whose value is value inserts into the string at key path `at`, between
    the literal texts before and after it. A secret it brings (any value under a password-like
    key, a URL's password, a whole URL) is remembered for masking."""
    if at and is_secret_key(str(at[-1])):
        remember_secret(value)
    if "://" in value:
        remember_url(value)
    role = _userinfo_role(before, after)
    if role is None:
        return value
    if role == "user" and ":" in value:  # user:password in one variable
        user, _, password = value.partition(":")
        remember_secret(password)
        return f"{quote(user, safe='')}:{quote(password, safe='')}"
    if role == "password":
        remember_secret(value)
    return quote(value, safe="")


def _userinfo_role(before: str, after: str) -> Literal["user", "password"] | None:
    """Where a value between before and after lands in `scheme://user:password@host/...`."""
    _, scheme, authority = before.partition("://")
    if not scheme or "/" in authority or "@" in authority:
        return None
    if "@" not in after.partition("/")[0]:
        return None
    return "password" if ":" in authority else "user"


def _holds_secret(at: KeyPath) -> bool:
    """Whether the key at `at` holds a secret: one of ours, or a secret-looking key of the
    options passed through to a storage library (`storage_options: {aws_secret_access_key: ..}`)."""
    if not at:
        return False
    key = str(at[-1])
    return key in SECRET_KEYS or (
        len(at) > 1 and at[-2] == "storage_options" and is_secret_key(key)
    )


def _leaves(value: Any, at: KeyPath) -> list[tuple[KeyPath, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*at, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*at, i))]
    return [(at, value)]


def _inline_key(at: KeyPath, value: Any) -> bool:
    """A GCS `token` is a file's path (fine to write) or the key itself (JSON: a secret)."""
    return (
        bool(at) and at[-1] == "token" and isinstance(value, str) and value.lstrip().startswith("{")
    )


def _literal(value: Any) -> bool:
    """True when value is a secret itself, not only references to variables."""
    if value is None or value == "":
        return False
    return not isinstance(value, str) or bool(_REFERENCE.sub("", value).strip())


def _variable(at: KeyPath, what: str) -> str:
    """A variable name to suggest: `PG_<what>` for connections.pg, else `DB_<what>`."""
    owner = str(at[1]) if len(at) > 2 and at[0] == "connections" else "db"
    return f"{re.sub(r'[^A-Za-z0-9]+', '_', owner).upper()}_{what}"

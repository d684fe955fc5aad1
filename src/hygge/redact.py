"""Keep secrets out of what hygge prints and records: URL passwords and secret-looking values."""

from __future__ import annotations

import re

MASK = "***"
# The password runs to the last "@" before the host, so an unescaped "@" in it is masked too.
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)(?P<password>[^\s/]+)@")
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|credential)", re.IGNORECASE)


def redact(text: str) -> str:
    """Mask the password of every URL in text (`scheme://user:PASSWORD@host`)."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)


def url_passwords(text: str) -> list[str]:
    """The passwords of the URLs in text, as written."""
    return [match.group("password") for match in _URL_PASSWORD.finditer(text)]


def redact_argv(argv: list[str]) -> list[str]:
    """A command line fit for logs: URL passwords and secret `--var` values masked."""
    out = []
    for arg in argv:
        name, eq, _ = arg.partition("=")
        if eq and _SECRET_KEY.search(name):
            arg = f"{name}={MASK}"
        out.append(redact(arg))
    return out

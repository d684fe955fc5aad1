"""`${VAR}` and `${VAR:-default}` expansion, done once after parsing.

Expansion happens on parsed strings (never on YAML text), so a value can't inject
structure, and a substituted value is never expanded again. `$${` writes a literal `${`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hygge.config.secrets import refuse_literal_secrets, substituted
from hygge.config.yamlfile import KeyPath, YamlDoc, dotted
from hygge.errors import ConfigError

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(doc: YamlDoc, env: Mapping[str, str]) -> Any:
    """Return doc.data with every ${VAR} in string values replaced from env; a password
    written into the file is refused first (it must be a ${VAR} itself)."""
    refuse_literal_secrets(doc)
    return _expand(doc.data, (), doc, env)


def _expand(value: Any, at: KeyPath, doc: YamlDoc, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, (*at, k), doc, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*at, i), doc, env) for i, v in enumerate(value)]
    if isinstance(value, str) and "$" in value:
        return _expand_string(value, at, doc, env)
    return value


def _expand_string(text: str, at: KeyPath, doc: YamlDoc, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        value = env.get(name, default)
        if value is None:
            raise ConfigError(
                f"{doc.where(at)}: environment variable {name!r} is not set"
                f" (used by key {dotted(at)!r})",
                hint=f"export {name}=... or write ${{{name}:-default}}",
            )
        before = _REFERENCE.sub("", text[: match.start()])
        after = _REFERENCE.sub("", text[match.end() :])
        return substituted(value, at, before, after)

    return _REFERENCE.sub(replace, text)

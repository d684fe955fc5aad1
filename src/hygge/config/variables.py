"""`${VAR}` and `${VAR:-default}` expansion, done once after parsing.

Expansion happens on parsed strings (never on YAML text), so a value can't inject
structure, and a substituted value is never expanded again. `$${` writes a literal `${`.

An unset variable is not an error yet: the value naming it is left out and its error kept,
to be raised only when something uses that value (a project loads without the password of a
connection that nothing selected uses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hygge.config.secrets import refuse_literal_secrets, substituted
from hygge.config.yamlfile import KeyPath, YamlDoc, dotted
from hygge.errors import ConfigError

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Expanded:
    """A file's data with its variables expanded, but for the values naming an unset one:
    those are left out of mappings (and empty in lists), their errors kept in file order."""

    data: Any
    unset: tuple[tuple[KeyPath, ConfigError], ...] = ()

    def first_unset(self, under: KeyPath = ()) -> ConfigError | None:
        """The error of the first value under key path `under` that names an unset variable."""
        return next((e for at, e in self.unset if at[: len(under)] == under), None)


_UNSET = object()  # stands for a value naming an unset variable, until it is left out


def expand(doc: YamlDoc, env: Mapping[str, str]) -> Expanded:
    """doc.data with every ${VAR} in string values replaced from env; a password written into
    the file is refused first (it must be a ${VAR} itself)."""
    refuse_literal_secrets(doc)
    unset: list[tuple[KeyPath, ConfigError]] = []
    data = _expand(doc.data, (), doc, env, unset)
    return Expanded(data, tuple(unset))


def _expand(
    value: Any,
    at: KeyPath,
    doc: YamlDoc,
    env: Mapping[str, str],
    unset: list[tuple[KeyPath, ConfigError]],
) -> Any:
    if isinstance(value, dict):
        items = ((k, _expand(v, (*at, k), doc, env, unset)) for k, v in value.items())
        return {k: v for k, v in items if v is not _UNSET}
    if isinstance(value, list):
        items = (_expand(v, (*at, i), doc, env, unset) for i, v in enumerate(value))
        return ["" if v is _UNSET else v for v in items]
    if isinstance(value, str) and "$" in value:
        try:
            return _expand_string(value, at, doc, env)
        except ConfigError as exc:
            unset.append((at, exc))
            return _UNSET
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

"""`--var flow.F.KEY=VALUE` and `--var flow.F.entities.E.KEY=VALUE` from the command line.

Values are YAML scalars (`1` is an int, `true` a bool) and are validated by the same models
as the files, after they are layered into each entity's settings.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml

from hygge.config.models import SETTING_KEYS
from hygge.config.project import Project
from hygge.errors import UsageError

PLUGIN_SECTIONS = ("home", "store")


@dataclass(frozen=True)
class Var:
    text: str
    flow: str
    entity: str | None
    key: tuple[str, ...]  # e.g. ("batch_rows",), ("watermark", "column"), ("home", "path")
    value: Any

    def as_tree(self) -> dict[str, Any]:
        """{"watermark": {"column": v}} for key ("watermark", "column")."""
        tree: Any = self.value
        for part in reversed(self.key):
            tree = {part: tree}
        return tree  # type: ignore[no-any-return]


def parse_vars(texts: tuple[str, ...] | list[str], project: Project) -> list[Var]:
    return [_parse(text, project) for text in texts]


def _parse(text: str, project: Project) -> Var:
    name, eq, raw = text.partition("=")
    parts = name.strip().split(".")
    if not eq or len(parts) < 3 or parts[0] != "flow" or not all(parts):
        raise UsageError(
            f"--var {text!r}: expected flow.FLOW.KEY=VALUE or flow.FLOW.entities.ENTITY.KEY=VALUE"
        )
    flows = {f.name: f for f in project.flows}
    flow = flows.get(parts[1])
    if flow is None:
        raise UsageError(f"--var {text!r}: unknown flow {parts[1]!r}{_close(parts[1], flows)}")
    entity, key = None, tuple(parts[2:])
    if key[0] == "entities":
        names = {e.name for e in flow.entities}
        if len(key) < 3 or key[1] not in names:
            wanted = key[1] if len(key) > 1 else ""
            raise UsageError(
                f"--var {text!r}: unknown entity {wanted!r} of flow {flow.name!r}"
                f"{_close(wanted, names)}"
            )
        entity, key = key[1], key[2:]
    known = (*SETTING_KEYS, *PLUGIN_SECTIONS)
    if key[0] not in known:
        raise UsageError(f"--var {text!r}: unknown key {key[0]!r}{_close(key[0], known)}")
    if key[0] in PLUGIN_SECTIONS and len(key) != 2:
        raise UsageError(f"--var {text!r}: name one key of {key[0]}, e.g. {key[0]}.path")
    return Var(text, flow.name, entity, key, _scalar(text, raw))


def _scalar(text: str, raw: str) -> Any:
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise UsageError(f"--var {text!r}: the value is not a YAML scalar ({exc})") from None
    if isinstance(value, dict | list):
        raise UsageError(
            f"--var {text!r}: the value must be a single scalar, not {type(value).__name__}"
        )
    return value


def _close(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: nested mappings combine, anything else is replaced."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out

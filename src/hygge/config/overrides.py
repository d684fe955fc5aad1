"""`--var flow.F.KEY=VALUE` and `--var flow.F.entities.E.KEY=VALUE` from the command line.

`entities[N]` names the flow's N-th entity (from 0, in the order the flow defines them).
Values are YAML in flow style (`1` is an int, `true` a bool, `[a, b]` a list, `{k: v}` a
mapping) and are validated by the same models as the files, after they are layered into
each entity's settings; an error then names the `--var` as typed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import yaml

from hygge.config.models import SETTING_KEYS
from hygge.config.project import FlowDef, Project
from hygge.errors import UsageError
from hygge.redact import is_secret_key, remember_secret, remember_url

PLUGIN_SECTIONS = ("home", "store")
_INDEX = re.compile(r"entities\[(-?\d+)\]")


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
    entity, key = _entity_and_key(text, flow, tuple(parts[2:]))
    known = (*SETTING_KEYS, *PLUGIN_SECTIONS)
    if key[0] not in known:
        raise UsageError(f"--var {text!r}: unknown key {key[0]!r}{_close(key[0], known)}")
    if key[0] in PLUGIN_SECTIONS and len(key) != 2:
        raise UsageError(f"--var {text!r}: name one key of {key[0]}, e.g. {key[0]}.path")
    if any(is_secret_key(part) for part in key):
        remember_secret(raw.strip())
    if "://" in raw:
        remember_url(raw.strip())
    return Var(text, flow.name, entity, key, _value(text, raw))


def _entity_and_key(
    text: str, flow: FlowDef, key: tuple[str, ...]
) -> tuple[str | None, tuple[str, ...]]:
    """Split `entities.E.KEY` or `entities[N].KEY` into the entity's name and KEY."""
    if _INDEX.fullmatch(key[0]):
        entity, key = _indexed(text, flow, key[0]), key[1:]
    elif key[0] == "entities":
        names = {e.name for e in flow.entities}
        if len(key) < 2 or key[1] not in names:
            wanted = key[1] if len(key) > 1 else ""
            raise UsageError(
                f"--var {text!r}: unknown entity {wanted!r} of flow {flow.name!r}"
                f"{_close(wanted, names)}"
            )
        entity, key = key[1], key[2:]
    else:
        return None, key
    if not key:
        raise UsageError(
            f"--var {text!r}: name a setting of entity {entity!r}",
            hint=f"e.g. --var flow.{flow.name}.entities.{entity}.batch_rows=1000",
        )
    return entity, key


def _indexed(text: str, flow: FlowDef, part: str) -> str:
    """The name of the entity `entities[N]` points at."""
    index = int(part[len("entities[") : -1])
    names = [e.name for e in flow.entities]
    if not 0 <= index < len(names):
        raise UsageError(
            f"--var {text!r}: flow {flow.name!r} has {len(names)} entities, numbered from 0",
            hint=f"its entities in order: {', '.join(names)}; or write entities.NAME",
        )
    return names[index]


def _value(text: str, raw: str) -> Any:
    """The value as YAML in flow style: a scalar, `[a, b]` or `{k: v}`."""
    try:
        return yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UsageError(
            f"--var {text!r}: the value is not valid YAML ({problem})",
            hint="quote it, e.g. --var 'flow.F.KEY=\"a: b\"', or write a list as [a, b]",
        ) from None  # the YAML error quotes the value, which may be a secret


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

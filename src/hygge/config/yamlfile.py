"""Strict YAML: plain data only, duplicate keys rejected, every key's line remembered.

Config errors must name the file, the line and the key, so loading keeps a map from
key path to line number next to the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hygge.errors import ConfigError

KeyPath = tuple[str | int, ...]

_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file: its data and the line of each key path."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int | None:
        """Line of the deepest known prefix of key_path (1-based)."""
        for end in range(len(key_path), -1, -1):
            line = self.lines.get(tuple(key_path[:end]))
            if line is not None:
                return line
        return None

    def where(self, key_path: KeyPath = ()) -> str:
        """'file:line' for messages."""
        line = self.line_of(key_path)
        return f"{self.path}:{line}" if line else str(self.path)


def load_yaml(path: Path) -> YamlDoc:
    """Parse one YAML file strictly; an empty file is an empty mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> YamlDoc:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(path, {}, {})
        lines: dict[KeyPath, int] = {(): node.start_mark.line + 1}
        _check(node, (), lines, path)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        hint = "fix the YAML at that line"
        if "got '{'" in problem:
            hint = 'inside { } write placeholders in quotes, e.g. path: "data/{entity}"'
        raise ConfigError(f"{where}: YAML syntax error: {problem}", hint=hint) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {exc}") from exc
    finally:
        loader.dispose()
    return YamlDoc(path, data, lines)


def _check(node: yaml.Node, at: KeyPath, lines: dict[KeyPath, int], path: Path) -> None:
    """Reject tags and duplicate keys; record the line of every key; read plain scalars as
    YAML 1.2 does (`_as_text`)."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.style is None and _as_text(node):
        node.tag = "tag:yaml.org,2002:str"
    if node.tag not in _PLAIN_TAGS:
        raise ConfigError(
            f"{path}:{line}: YAML tag {_short(node.tag)!r} is not allowed{_at(at)}",
            hint="hygge config is plain data: remove the tag",
        )
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"{path}:{line}: mapping keys must be plain scalars{_at(at)}")
            _check(key_node, at, lines, path)
            key = key_node.value
            key_line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{path}:{key_line}: duplicate key {key!r}{_at(at)}"
                    f" (first at line {seen[key]})",
                    hint="keep one of them",
                )
            seen[key] = key_line
            lines[(*at, key)] = key_line
            _check(value_node, (*at, key), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*at, index)] = item.start_mark.line + 1
            _check(item, (*at, index), lines, path)


def _as_text(node: yaml.ScalarNode) -> bool:
    """Whether a plain scalar that YAML 1.1 (PyYAML) reads as a boolean or a base-60 number
    is text in YAML 1.2: `NO` (Norway) in `accepted_values: {country: [NO, SE]}` is not
    false, and `1:30` is not 90. A setting that is a boolean still takes yes/no/on/off, as
    the models convert them."""
    if node.tag == "tag:yaml.org,2002:bool":
        return node.value.lower() not in ("true", "false")
    return node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in node.value


def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _at(key_path: KeyPath) -> str:
    return f" under {dotted(key_path)!r}" if key_path else ""


def dotted(key_path: KeyPath) -> str:
    return ".".join(str(k) for k in key_path)

"""A home or store section written once in flow.yml, made each entity's own.

In a flow that declares entities (an `entities:` list or `entities/` files), a folder path
from flow.yml without `{entity}` is the folder of one sub-folder per entity: the entity's name
is appended (`lake` -> `lake/orders`), on the home side as on the store side, and with one
entity too, so that adding a second one later moves no data. What cannot be split that way
(a file, a glob, a table, a query) and names no `{entity}` would be the same for every entity:
with several entities that is refused before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hygge.config.project import FlowDef
from hygge.errors import ConfigError
from hygge.filesystem import GLOB_CHARS

ENTITY = "{entity}"


def per_entity(
    plugin: Any,
    family: str,
    section: dict[str, Any],
    shared: frozenset[str],
    flow: FlowDef,
    root: Path,
) -> dict[str, Any]:
    """section as one entity of flow reads or writes it (placeholders not yet filled).

    `plugin` is the home or store class, `shared` the keys whose value is flow.yml's, `root`
    the project's folder (relative paths start there)."""
    if not flow.declares_entities:
        return section
    path = section.get("path")
    if isinstance(path, str) and _is_shared_folder(plugin, family, path, shared, flow, root):
        section = {**section, "path": path.rstrip("/") + "/" + ENTITY}
    if len(flow.entities) > 1:
        _refuse_one_source_for_all(plugin, family, section, shared, flow)
    return section


def _is_shared_folder(
    plugin: Any, family: str, path: str, shared: frozenset[str], flow: FlowDef, root: Path
) -> bool:
    """A flow.yml path without {entity} of a plugin keeping a folder per entity; for a home,
    not a glob, a name with one of its data files' suffixes or a file that exists."""
    if not getattr(plugin, "folder_per_entity", False) or "path" not in shared or ENTITY in path:
        return False
    if family == "store":
        return True
    path = path.replace("{flow}", flow.name)
    suffixes: tuple[str, ...] = getattr(plugin, "suffixes", ())
    if any(char in path for char in GLOB_CHARS) or path.lower().endswith(suffixes):
        return False
    return "://" in path or not (root / path).is_file()


def _refuse_one_source_for_all(
    plugin: Any, family: str, section: dict[str, Any], shared: frozenset[str], flow: FlowDef
) -> None:
    for key in getattr(plugin, "entity_keys", ()):
        value = section.get(key)
        if key in shared and isinstance(value, str) and ENTITY not in value:
            names = ", ".join(entity.name for entity in flow.entities)
            raise ConfigError(
                f"{flow.doc.where((family, key))}: {family}.{key} {value!r} has no {ENTITY},"
                f" so every entity of flow {flow.name} ({names}) would read the same rows",
                hint=f"write {ENTITY} into it (e.g. {_example(key, value)}), or give each"
                f" entity its own {family}.{key}",
            )


def _example(key: str, value: str) -> str:
    """value with {entity} where the entity's name would go, as the key is written."""
    if key == "query":
        return f"FROM {ENTITY} in the query"
    separator = "/" if key == "path" else "."
    prefix, _, last = value.rstrip("/").rpartition(separator)
    suffix = last[last.index(".") :] if key == "path" and "." in last else ""
    return f'{key}: "{prefix + separator if prefix else ""}{ENTITY}{suffix}"'

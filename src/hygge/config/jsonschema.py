"""JSON Schemas of the config files, made from the models that validate them, for editors.

An editor given a schema (for example the YAML language server's modeline
`# yaml-language-server: $schema=hygge.flow.json`) completes and checks keys as they are
typed. A home's or store's keys depend on its `type` and are checked by the plugin when the
project loads; the schema offers the known types.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from hygge.config.models import EntityFile, FlowFile, ProjectFile
from hygge.registry import known_kinds

ConfigKind = Literal["project", "flow", "entity"]
MODELS: dict[ConfigKind, type[BaseModel]] = {
    "project": ProjectFile,
    "flow": FlowFile,
    "entity": EntityFile,
}
FILES = {"project": "hygge.yml", "flow": "flow.yml", "entity": "entities/<name>.yml"}


def config_schema(kind: ConfigKind) -> dict[str, Any]:
    """The JSON Schema (2020-12) of one kind of config file."""
    schema = MODELS[kind].model_json_schema()
    _offer_plugin_types(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": f"hygge {FILES[kind]}",
    }


def _offer_plugin_types(node: Any) -> None:
    """Every `home` and `store` mapping in the schema gets its `type` as a choice of the
    known plugin types (built-in and installed)."""
    if isinstance(node, list):
        for item in node:
            _offer_plugin_types(item)
        return
    if not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(properties, dict):
        for family in ("home", "store"):
            section = properties.get(family)
            if isinstance(section, dict) and section.get("type") == "object":
                kinds = {"type": "string", "enum": known_kinds(family)}
                section["properties"] = {"type": kinds}
    for value in node.values():
        _offer_plugin_types(value)

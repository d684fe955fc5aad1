"""Find and load a project: hygge.yml, then every flow and entity, validated and sorted."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hygge.config.models import NAME_PATTERN, EntityFile, FlowFile, ProjectFile
from hygge.config.validation import validate
from hygge.config.variables import expand
from hygge.config.yamlfile import KeyPath, YamlDoc, load_yaml
from hygge.errors import ConfigError

PROJECT_FILE = "hygge.yml"
FLOW_FILE = "flow.yml"


@dataclass(frozen=True)
class EntityDef:
    """One entity as written: where it was written and what it says."""

    name: str
    spec: EntityFile
    doc: YamlDoc
    at: KeyPath  # key path of the entity inside doc ((): the whole entity file)


@dataclass(frozen=True)
class FlowDef:
    name: str
    folder: Path
    spec: FlowFile
    doc: YamlDoc
    entities: tuple[EntityDef, ...]
    declares_entities: bool  # False: one implicit entity named like the flow


@dataclass(frozen=True)
class Project:
    root: Path
    spec: ProjectFile
    doc: YamlDoc
    flows: tuple[FlowDef, ...]

    @property
    def name(self) -> str:
        return self.spec.name


def find_project_root(start: Path | None = None) -> Path:
    """Walk up from start (default: cwd) to the folder holding hygge.yml."""
    here = (start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ConfigError(
        f"no {PROJECT_FILE} found in {here} or any folder above it",
        hint="run inside a project, pass --project DIR, or create one with `hygge init NAME`",
    )


def load_project(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Project:
    """Load and validate a whole project. `path` is the project folder or any folder inside it."""
    root = find_project_root(Path(path) if path is not None else None)
    env = os.environ if env is None else env
    doc = load_yaml(root / PROJECT_FILE)
    spec = validate(ProjectFile, expand(doc, env), doc)
    flows_dir = root / spec.flows_dir
    if not flows_dir.is_dir():
        raise ConfigError(
            f"{doc.where(('flows_dir',))}: flows folder {flows_dir} does not exist",
            hint="create it with one sub-folder per flow, each holding a flow.yml",
        )
    flows = tuple(_load_flow(folder, env) for folder in _flow_folders(flows_dir))
    return Project(root=root, spec=spec, doc=doc, flows=flows)


def _flow_folders(flows_dir: Path) -> list[Path]:
    folders = sorted(p for p in flows_dir.iterdir() if p.is_dir() and p.name[0] not in "._")
    for folder in folders:
        if not (folder / FLOW_FILE).is_file():
            raise ConfigError(
                f"{folder}: flow folder has no {FLOW_FILE}",
                hint=f"add {folder / FLOW_FILE} or move the folder out of {flows_dir}",
            )
        _check_name(folder.name, f"{folder}: flow name")
    return folders


def _load_flow(folder: Path, env: Mapping[str, str]) -> FlowDef:
    doc = load_yaml(folder / FLOW_FILE)
    data = expand(doc, env)
    if not isinstance(data, dict):
        raise ConfigError(f"{doc.where()}: a flow file must be a mapping of keys")
    spec = validate(FlowFile, data, doc)
    entities = [*_inline_entities(spec, doc), *_file_entities(folder, env)]
    declared = spec.entities is not None or bool(entities)
    if not declared:
        entities = [EntityDef(folder.name, EntityFile(), doc, ())]
    _reject_duplicates(entities)
    return FlowDef(folder.name, folder, spec, doc, tuple(entities), declared)


def _inline_entities(spec: FlowFile, doc: YamlDoc) -> list[EntityDef]:
    found = []
    for index, item in enumerate(spec.entities or []):
        at: KeyPath = ("entities", index)
        if isinstance(item, str):
            found.append(EntityDef(item, EntityFile(), doc, at))
        elif item.name is None:
            raise ConfigError(f"{doc.where(at)}: an inline entity needs a 'name'")
        else:
            found.append(EntityDef(item.name, item, doc, at))
    return found


def _file_entities(folder: Path, env: Mapping[str, str]) -> list[EntityDef]:
    entity_dir = folder / "entities"
    if not entity_dir.is_dir():
        return []
    found = []
    for path in sorted(entity_dir.glob("*.yml")) + sorted(entity_dir.glob("*.yaml")):
        if path.name.startswith((".", "_")):
            continue
        name = path.stem
        _check_name(name, f"{path}: entity name")
        doc = load_yaml(path)
        data: Any = expand(doc, env)
        spec = validate(EntityFile, data if data is not None else {}, doc)
        if spec.name is not None and spec.name != name:
            raise ConfigError(
                f"{doc.where(('name',))}: name {spec.name!r} differs from the file name {name!r}",
                hint="remove 'name' or rename the file",
            )
        found.append(EntityDef(name, spec, doc, ()))
    return found


def _reject_duplicates(entities: list[EntityDef]) -> None:
    seen: dict[str, EntityDef] = {}
    for entity in entities:
        if entity.name in seen:
            first = seen[entity.name]
            raise ConfigError(
                f"{entity.doc.where(entity.at)}: entity {entity.name!r} is defined twice"
                f" (also at {first.doc.where(first.at)})",
                hint="keep one definition",
            )
        seen[entity.name] = entity


def _check_name(name: str, what: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ConfigError(
            f"{what} {name!r} is not valid: use letters, digits, '_' and '-' only",
        )

"""Find and load a project: hygge.yml, then every flow and entity, validated and sorted."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from hygge.config.connection_models import PostgresJournalConfig
from hygge.config.models import EntityFile, FlowFile, ProjectFile
from hygge.config.strict import NAME_PATTERN
from hygge.config.validation import validate
from hygge.config.variables import Expanded, expand
from hygge.config.yamlfile import KeyPath, YamlDoc, load_yaml
from hygge.engines.driver import connection_types
from hygge.errors import ConfigError

PROJECT_FILE = "hygge.yml"
FLOW_FILE = "flow.yml"
FLOW_FILES = (FLOW_FILE, "flow.yaml")

M = TypeVar("M", bound=BaseModel)
_POSTGRES = ("postgres", "postgresql")


@dataclass(frozen=True)
class EntityDef:
    """One entity as written: where it was written and what it says."""

    name: str
    spec: EntityFile
    doc: YamlDoc
    at: KeyPath  # key path of the entity inside doc ((): the whole entity file)
    unset: ConfigError | None = None  # a variable it uses is unset: raised when planned


@dataclass(frozen=True)
class FlowDef:
    name: str
    folder: Path
    spec: FlowFile
    doc: YamlDoc
    entities: tuple[EntityDef, ...]
    declares_entities: bool  # False: one implicit entity named like the flow
    unset: ConfigError | None = None  # a variable its flow.yml uses is unset: raised when planned


@dataclass(frozen=True)
class Project:
    root: Path
    spec: ProjectFile
    doc: YamlDoc
    flows: tuple[FlowDef, ...]
    # Named connections left out of spec.connections because a variable they use is unset:
    # an error only for what uses them.
    unresolved: Mapping[str, ConfigError] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def identity(self) -> str:
        """What scopes the project's rows and locks in a shared journal: name, then id."""
        return self.spec.name if self.spec.id is None else f"{self.spec.name}/{self.spec.id}"

    def check_connection(self, name: str) -> None:
        """Raise when the named connection uses an unset variable."""
        error = self.unresolved.get(name)
        if error is not None:
            raise error


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
    env = environment(root) if env is None else env
    doc = load_yaml(root / PROJECT_FILE)
    expanded = expand(doc, env)
    spec = _validated(ProjectFile, expanded, doc)
    _check_connection_types(spec, doc)
    unresolved: dict[str, ConfigError] = {}
    for at, error in expanded.unset:
        name = _connection_of(at)
        if name is None:
            raise error  # the project's name, options or journal: everything needs them
        unresolved.setdefault(name, error)
    _check_journal(spec, doc, unresolved)
    resolved = {k: v for k, v in spec.connections.items() if k not in unresolved}
    spec = spec.model_copy(update={"connections": resolved})
    flows_dir = root / spec.flows_dir
    if not flows_dir.is_dir():
        raise ConfigError(
            f"{doc.where(('flows_dir',))}: flows folder {flows_dir} does not exist",
            hint="create it with one sub-folder per flow, each holding a flow.yml",
        )
    flows = tuple(_load_flow(folder, env) for folder in _flow_folders(flows_dir))
    return Project(root=root, spec=spec, doc=doc, flows=flows, unresolved=unresolved)


def environment(root: Path) -> Mapping[str, str]:
    """What `${VAR}` reads: the process's environment, over the project's `.env` file (so a
    variable exported by the shell, cron or the orchestrator wins)."""
    dotenv = root / ".env"
    if not dotenv.is_file():
        return os.environ
    from dotenv import dotenv_values

    written = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
    return {**written, **os.environ}


def _check_connection_types(spec: ProjectFile, doc: YamlDoc) -> None:
    """A misspelt type would build a URL no driver takes, and `hygge debug` would skip it."""
    if not spec.connections:
        return  # the known types include plugins', found by reading every package's metadata
    known = connection_types()
    for name, connection in spec.connections.items():
        if connection.type not in known:
            close = difflib.get_close_matches(connection.type, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{doc.where(('connections', name, 'type'))}: key 'connections.{name}.type':"
                f" unknown connection type {connection.type!r}",
                hint=f"{hint}known connection types: {', '.join(known)}",
            )


def _check_journal(spec: ProjectFile, doc: YamlDoc, unresolved: Mapping[str, ConfigError]) -> None:
    """A PostgreSQL journal names a postgres connection of hygge.yml: every command needs it."""
    journal = spec.journal
    if not isinstance(journal, PostgresJournalConfig):
        return
    name, where = journal.connection, doc.where(("journal", "connection"))
    connection = spec.connections.get(name)
    if connection is None:
        known = [k for k, c in spec.connections.items() if c.type in _POSTGRES]
        raise ConfigError(
            f"{where}: key 'journal.connection': connection {name!r} is not defined in"
            f" {PROJECT_FILE}",
            hint=f"name one of: {', '.join(known)}"
            if known
            else "add it under connections: with type: postgres",
        )
    if connection.type not in _POSTGRES:
        raise ConfigError(
            f"{where}: key 'journal.connection': connection {name!r} is of type"
            f" {connection.type!r}, but the journal needs a PostgreSQL one",
            hint="name a connection of type: postgres, or drop journal: to keep the SQLite one",
        )
    if name in unresolved:
        raise unresolved[name]


def _connection_of(at: KeyPath) -> str | None:
    """The named connection a key path of hygge.yml lies in, if any."""
    return str(at[1]) if len(at) > 2 and at[0] == "connections" else None


def _validated(model: type[M], expanded: Expanded, doc: YamlDoc) -> M:
    """Validate expanded data; an unset variable explains a failure best (its value is missing)."""
    try:
        return validate(model, expanded.data, doc)
    except ConfigError:
        first = expanded.first_unset()
        if first is not None:
            raise first from None
        raise


def _flow_folders(flows_dir: Path) -> list[Path]:
    folders = sorted(p for p in flows_dir.iterdir() if p.is_dir() and p.name[0] not in "._")
    for folder in folders:
        flow_file(folder, flows_dir)
        _check_name(folder.name, f"{folder}: flow name")
    return folders


def flow_file(folder: Path, flows_dir: Path) -> Path:
    """The folder's flow.yml (or flow.yaml: one of them)."""
    found = [folder / name for name in FLOW_FILES if (folder / name).is_file()]
    if len(found) > 1:
        raise ConfigError(
            f"{folder}: both {FLOW_FILES[0]} and {FLOW_FILES[1]}", hint="keep one of them"
        )
    if not found:
        raise ConfigError(
            f"{folder}: flow folder has no {FLOW_FILE}",
            hint=f"add {folder / FLOW_FILE} or move the folder out of {flows_dir}",
        )
    return found[0]


def _load_flow(folder: Path, env: Mapping[str, str]) -> FlowDef:
    doc = load_yaml(flow_file(folder, folder.parent))
    expanded = expand(doc, env)
    if not isinstance(expanded.data, dict):
        raise ConfigError(f"{doc.where()}: a flow file must be a mapping of keys")
    spec = _validated(FlowFile, expanded, doc)
    entities = [*_inline_entities(spec, doc, expanded), *_file_entities(folder, env)]
    declared = spec.entities is not None or bool(entities)
    if not declared:
        entities = [EntityDef(folder.name, EntityFile(), doc, ())]
    _reject_duplicates(entities)
    unset = next((e for at, e in expanded.unset if at[:1] != ("entities",)), None)
    return FlowDef(folder.name, folder, spec, doc, tuple(entities), declared, unset)


def _inline_entities(spec: FlowFile, doc: YamlDoc, expanded: Expanded) -> list[EntityDef]:
    found = []
    for index, item in enumerate(spec.entities or []):
        at: KeyPath = ("entities", index)
        unset = expanded.first_unset(at)
        if isinstance(item, str):
            found.append(EntityDef(item, EntityFile(), doc, at, unset))
        elif item.name is None:
            raise ConfigError(f"{doc.where(at)}: an inline entity needs a 'name'")
        else:
            found.append(EntityDef(item.name, item, doc, at, unset))
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
        expanded = expand(doc, env)
        if expanded.data is None:
            expanded = Expanded({})
        spec = _validated(EntityFile, expanded, doc)
        if spec.name is not None and spec.name != name:
            raise ConfigError(
                f"{doc.where(('name',))}: name {spec.name!r} differs from the file name {name!r}",
                hint="remove 'name' or rename the file",
            )
        found.append(EntityDef(name, spec, doc, (), expanded.first_unset()))
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


def as_project(project: Project | str | Path | None) -> Project:
    """A project the library was given, or loaded from its folder (None: found by walking
    up from the current one): every public entry point takes either."""
    return project if isinstance(project, Project) else load_project(project)

"""Project + selection -> the entities to run, each with effective settings and their sources."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from hygge.config.connection_models import Connection
from hygge.config.layers import (
    CommandLine,
    applied_vars,
    resolve_section,
    resolve_settings,
    section_sources,
    var_error,
)
from hygge.config.models import RunType, Settings
from hygge.config.overrides import Var, parse_vars
from hygge.config.per_entity import per_entity
from hygge.config.project import EntityDef, FlowDef, Project
from hygge.config.validation import located_error
from hygge.config.yamlfile import KeyPath, YamlDoc
from hygge.connections import with_connection_url
from hygge.errors import ConfigError, HyggeError, NeedsWatermark, UsageError
from hygge.plugin import Context, Home, Store
from hygge.pool import Pools
from hygge.quarantine import quarantine_store
from hygge.registry import home_class, store_class
from hygge.selection import Selection
from hygge.window import refuse_cast_watermark


@dataclass(frozen=True)
class PlannedEntity:
    flow: str
    name: str
    run_type: RunType
    settings: Settings
    provenance: dict[str, str]  # setting -> where its value came from
    home: Home[Any]
    store: Store[Any]
    warnings: tuple[str, ...] = ()  # what the plan lets happen that may surprise
    pool_needs: Mapping[str, int] = field(default_factory=dict)  # its connection budget
    tags: tuple[str, ...] = ()  # its flow's and its own
    key_sources: Mapping[str, str] = field(default_factory=dict)  # "home.path" -> where it was set
    quarantine: Store[Any] | None = None  # where rows a check holds back go (hygge.quarantine)

    @property
    def address(self) -> str:
        return f"{self.flow}.{self.name}"


@dataclass(frozen=True)
class Plan:
    project: Project
    entities: tuple[PlannedEntity, ...]
    concurrency: int
    continue_on_error: bool
    pools: Pools
    left_out: tuple[str, ...] = ()  # selected entities --incremental cannot run, and why

    def crowding(self) -> list[str]:
        """Connection pools too small to run `concurrency` of their entities at once."""
        return self.pools.crowding([e.pool_needs for e in self.entities], self.concurrency)

    def preflight(self) -> None:
        """Cheap read-only checks of every home and store; all problems at once, exit 2."""
        problems = [
            f"{entity.address}: {problem}"
            for entity in self.entities
            for problem in (*entity.home.preflight(), *entity.store.preflight())
        ]
        if problems:
            raise UsageError(
                "; ".join(problems) if len(problems) == 1 else "\n  ".join(["", *problems]),
                hint="fix the paths and names in the flow files",
            )


def make_plan(
    project: Project,
    selection: Selection | None = None,
    run_type: RunType | None = None,
    concurrency: int | None = None,
    variables: Sequence[str] = (),
) -> Plan:
    """Resolve what to run. `run_type` is --incremental/--full-drop (beaten by suffixes)."""
    by_address = {(f.name, e.name): (f, e) for f in project.flows for e in f.entities}
    tags = {address: tags_of(*defined) for address, defined in by_address.items()}
    picked = (selection or Selection()).pick(list(by_address), tags)
    parsed = tuple(parse_vars(list(variables), project))
    connections = {  # a cloud connection has no pool: its filesystem keeps its own
        n: c for n, c in project.spec.connections.items() if isinstance(c, Connection)
    }
    pools = Pools(
        {name: c.pool_size for name, c in connections.items()},
        {name: c.acquire_timeout for name, c in connections.items()},
    )
    planned, left_out = [], []
    for address, suffix in picked.items():
        try:
            cli = CommandLine(run_type, suffix, parsed)
            planned.append(_plan_entity(project, *by_address[address], cli, pools))
        except NeedsWatermark:
            if run_type != "incremental" or suffix is not None:
                raise
            left_out.append(f"{'.'.join(address)} left out of --incremental: it has no watermark")
    if left_out and not planned:
        raise UsageError(
            "--incremental: no selected entity has a watermark: " + ", ".join(left_out),
            hint="give the entities a watermark, or run them without --incremental",
        )
    entities = tuple(planned)
    chosen = [_Placed(e.address, e.home, e.store) for e in entities]
    chosen += [_Placed(e.address, e.home, e.quarantine) for e in entities if e.quarantine]
    others = _unselected(project, by_address, picked, parsed, pools)
    _reject_shared_destinations(chosen, others)
    _reject_stores_over_homes(chosen, others)
    options = project.spec.options
    return Plan(
        project=project,
        entities=entities,
        concurrency=concurrency or options.concurrency or _default_concurrency(len(entities)),
        continue_on_error=options.continue_on_error,
        pools=pools,
        left_out=tuple(left_out),
    )


@dataclass(frozen=True)
class _Placed:
    """What the overlap checks need of an entity: what it reads and what it writes."""

    address: str
    home: Home[Any]
    store: Store[Any]


def _unselected(
    project: Project,
    by_address: dict[tuple[str, str], tuple[FlowDef, EntityDef]],
    picked: Mapping[tuple[str, str], RunType | None],
    variables: tuple[Var, ...],
    pools: Pools,
) -> list[_Placed]:
    """The project's other entities' home and store, as far as they build: a selection run
    alone must not write what another entity writes or reads either (an entity whose
    plugins do not build is reported when it is selected). Only the plugins are built:
    settings, run types and budgets of entities that do not run are not the checks' concern."""
    cli = CommandLine(variables=variables)
    others = []
    for (flow_name, name), (flow, entity) in by_address.items():
        if (flow_name, name) not in picked:
            with contextlib.suppress(HyggeError):
                _raise_unset(flow, entity)
                home, store = _plugins(project, flow, entity, cli, pools)
                others.append(_Placed(f"{flow_name}.{name}", home, store))
    return others


def _reject_shared_destinations(selected: list[_Placed], others: list[_Placed]) -> None:
    """Two entities writing one folder or table (or one inside the other) would clobber
    each other; refuse before anything runs. Compared by target, so two connection names
    for one database, or two spellings of one path, are one destination."""
    written = [(e, e.store.target()) for e in (*selected, *others)]  # each asked once
    chosen = len(selected)
    for index, (entity, mine) in enumerate(written[:chosen]):
        for other, theirs in (*written[:index], *written[chosen:]):
            if _overlap(mine, theirs):
                shown = (other.store.destination(), entity.store.destination())
                same = f", both {mine}" if mine == theirs and shown[0] != shown[1] else ""
                raise ConfigError(
                    f"{other.address} and {entity.address} write the same destination"
                    f" ({shown[0]} and {shown[1]}{same})",
                    hint="give each entity its own store path or table, e.g. with {entity}",
                )


def _reject_stores_over_homes(selected: list[_Placed], others: list[_Placed]) -> None:
    """A store that is, holds or lies inside what a home reads would replace that source
    (a full_drop swaps the whole folder) or read its own output back; refuse it."""
    origins = [(reader, reader.home.origin()) for reader in (*selected, *others)]
    for writer in selected:
        target = writer.store.target()
        for reader, origin in origins:
            if origin is not None and _overlap(target, origin):
                raise ConfigError(
                    f"the store of {writer.address} ({writer.store.destination()}) overlaps"
                    f" the home of {reader.address} ({reader.home.describe()})",
                    hint="a store must not be, hold or lie inside a file, folder or table a"
                    " home reads: give the store a path or table of its own",
                )


def _overlap(a: str, b: str) -> bool:
    """The same target, or one inside the other (a folder holding a folder or a database
    file, a database file holding a table)."""
    return a == b or a.startswith((b + "/", b + "#")) or b.startswith((a + "/", a + "#"))


def _default_concurrency(entities: int) -> int:
    return max(1, min(4, entities))


def _plan_entity(
    project: Project, flow: FlowDef, entity: EntityDef, cli: CommandLine, pools: Pools
) -> PlannedEntity:
    _raise_unset(flow, entity)
    settings, provenance = resolve_settings(project, flow, entity, cli)
    home, store = _plugins(project, flow, entity, cli, pools)
    address = f"{flow.name}.{entity.name}"
    needs = _connection_budget(address, home, store, pools)
    if home.new_files_only:
        settings = _new_files_only(address, settings, provenance)
    run_type: RunType = settings.run_type or "full_drop"
    _check_run_type(address, run_type, settings, home, store, provenance)
    warnings = _key_warnings(run_type, settings, store)
    sources = {
        f"{family}.{key}": source
        for family in ("home", "store")
        for key, source in section_sources(family, flow, entity, cli.variables).items()
    }
    held = quarantine_store(address, settings, home, store)
    parts = (flow.name, entity.name, run_type, settings, provenance, home, store, warnings, needs)
    return PlannedEntity(*parts, tags_of(flow, entity), sources, held)


def tags_of(flow: FlowDef, entity: EntityDef) -> tuple[str, ...]:
    """An entity's tags: its flow's, then its own."""
    return tuple(dict.fromkeys([*flow.spec.tags, *entity.spec.tags]))


def _raise_unset(flow: FlowDef, entity: EntityDef) -> None:
    """A variable the flow or entity uses and the environment lacks stops it here."""
    for unset in (flow.unset, entity.unset):
        if unset is not None:
            raise unset


def _plugins(
    project: Project, flow: FlowDef, entity: EntityDef, cli: CommandLine, pools: Pools
) -> tuple[Home[Any], Store[Any]]:
    """The entity's home and store; the store first, so the home knows what pool
    connections the store holds (`Context.reserved`) and may use the rest."""
    context = Context(project.root, flow.name, entity.name, pools)
    store = _plugin("store", flow, entity, context, cli, project)
    reading = replace(context, reserved=store.pool_needs())
    home = _plugin("home", flow, entity, reading, cli, project)
    return home, store


def _key_warnings(run_type: RunType, settings: Settings, store: Store[Any]) -> tuple[str, ...]:
    """A primary_key says rows are updated by key, which an append cannot do: every planned
    incremental run with one is warned, whatever its destination holds now (a plan reads
    nothing), since each changed row it reads is appended beside its earlier version."""
    if run_type != "incremental" or not settings.primary_key or store.incremental_upserts:
        return ()
    way_out = (
        "use run_type: merge to update them"
        if "merge" in store.run_types
        else f"a {store.config.type} store cannot merge"
    )
    keys = ", ".join(settings.primary_key)
    return (
        f"primary_key ({keys}) is declared but run type incremental appends: a row whose key"
        f" is already loaded is added again, not updated ({way_out}; remove primary_key if"
        " repeated keys are intended)",
    )


def _connection_budget(
    address: str, home: Home[Any], store: Store[Any], pools: Pools
) -> dict[str, int]:
    """The connections of each pool the entity holds at once (see `hygge.pool`); one its
    pool cannot hold would never start."""
    needs = Counter(home.pool_needs()) + Counter(store.pool_needs())
    for name, count in needs.items():
        if count > pools.size(name):
            raise ConfigError(
                f"{address}: its home and store hold {count} connections of {name!r} at once"
                f" (a read and a write), more than its pool_size {pools.size(name)}",
                hint=f"set pool_size: {count} (or more) on connection {name!r} in hygge.yml",
            )
    return dict(needs)


def _new_files_only(address: str, settings: Settings, provenance: dict[str, str]) -> Settings:
    """A home reading only new files runs incrementally by default and needs no watermark."""
    if settings.watermark is not None:
        raise ConfigError(
            f"{address}: home.new_files_only and a watermark both choose what is new",
            hint="keep one: new_files_only for landing folders, a watermark for columns",
        )
    if provenance["run_type"].startswith("built-in default"):
        provenance["run_type"] = "built-in default (home.new_files_only)"
        return settings.model_copy(update={"run_type": "incremental"})
    return settings


def _plugin(
    family: str,
    flow: FlowDef,
    entity: EntityDef,
    context: Context,
    cli: CommandLine,
    project: Project,
) -> Any:
    section, shared = resolve_section(family, flow, entity, cli.variables)
    override: dict[str, Any] = getattr(entity.spec, family)
    doc, at = (entity.doc, (*entity.at, family)) if override else (flow.doc, (family,))
    set_by = _set_by(family, flow, entity, cli, doc, at)
    kind = section.get("type")
    if not isinstance(kind, str):
        raise ConfigError(f"{doc.where(at)}: {family} needs a 'type'")
    try:
        cls = home_class(kind) if family == "home" else store_class(kind)
    except ConfigError as exc:
        raise ConfigError(f"{set_by('type')}: {exc.message}", hint=exc.hint) from None
    section = per_entity(cls, family, section, shared, flow, context.root)
    section = _fill_placeholders(section, flow, entity)
    if isinstance(section.get("connection"), str):
        project.check_connection(section["connection"])
    try:
        section = with_connection_url(section, project.spec.connections)
    except ConfigError as exc:
        raise ConfigError(f"{set_by('connection')}: {exc.message}", hint=exc.hint) from None
    try:
        config = cls.Config.model_validate(section)
    except ValidationError as exc:
        # pydantic's error quotes the input, which may hold an expanded secret
        raise _plugin_error(exc, cls.Config, flow, entity, family, cli) from None
    return cls(config, context)


def _set_by(
    family: str, flow: FlowDef, entity: EntityDef, cli: CommandLine, doc: YamlDoc, at: KeyPath
) -> Callable[[str], str]:
    """Where a key of the section was set, for messages: the --var as typed, or file:line."""
    applied = applied_vars(flow, entity, cli.variables)

    def where(key: str) -> str:
        var = next((v for v in reversed(applied) if v.key == (family, key)), None)
        return f"--var {var.text!r}" if var else doc.where((*at, key))

    return where


def _plugin_error(
    exc: ValidationError,
    model: Any,
    flow: FlowDef,
    entity: EntityDef,
    family: str,
    cli: CommandLine,
) -> UsageError:
    mine = applied_vars(flow, entity, cli.variables)
    blamed = var_error(exc, model, mine, (family,))
    if blamed is not None:
        return blamed
    first_key = next((e["loc"][0] for e in exc.errors() if e["loc"]), None)
    in_entity = first_key in getattr(entity.spec, family)
    doc: YamlDoc = entity.doc if in_entity else flow.doc
    at: KeyPath = (*entity.at, family) if in_entity else (family,)
    return located_error(exc, model, doc, at, what=f"{flow.name}.{entity.name}")


def _fill_placeholders(section: dict[str, Any], flow: FlowDef, entity: EntityDef) -> dict[str, Any]:
    """Replace {entity} and {flow} in string values."""
    return {
        key: value.replace("{entity}", entity.name).replace("{flow}", flow.name)
        if isinstance(value, str)
        else value
        for key, value in section.items()
    }


def _check_run_type(
    address: str,
    run_type: RunType,
    settings: Settings,
    home: Home[Any],
    store: Store[Any],
    provenance: dict[str, str],
) -> None:
    where = provenance.get("run_type", "")
    if run_type not in store.run_types:
        supported = ", ".join(sorted(store.run_types))
        raise ConfigError(
            f"{address}: run type {run_type!r} (from {where}) is not supported by store"
            f" type {store.config.type!r}",
            hint=f"this store supports: {supported}",
        )
    if run_type == "incremental" and settings.watermark is None and not home.new_files_only:
        raise NeedsWatermark(
            f"{address}: run type 'incremental' (from {where}) needs a watermark to tell new"
            " rows from old",
            hint="set watermark: {column: ...}, home.new_files_only: true, or run_type: full_drop",
        )
    refuse_cast_watermark(address, home.config, settings.watermark)
    problem = home.window_problem(settings.watermark.column if settings.watermark else None)
    if problem and run_type != "full_drop":
        raise ConfigError(f"{address}: {problem}", hint="put {window} into the query's WHERE")
    if run_type == "merge" and not settings.primary_key:
        raise ConfigError(
            f"{address}: run type 'merge' (from {where}) needs a primary_key to match rows on",
            hint="set primary_key: [id] on the flow or entity",
        )

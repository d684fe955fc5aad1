"""Effective settings of one entity: layers merged in precedence order, with provenance.

Lowest first: built-in defaults, hygge.yml options, flow.yml, the flow's defaults, the
entity, --incremental/--full-drop, --var for the flow, --var for the entity, and a run
type suffix of the selection. Mappings (watermark, home, store) merge key by key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from hygge.config.models import BUILTIN_SETTINGS, SETTING_KEYS, RunType, Settings
from hygge.config.overrides import PLUGIN_SECTIONS, Var, merge
from hygge.config.project import EntityDef, FlowDef, Project
from hygge.config.validation import clean_loc, problem
from hygge.config.yamlfile import KeyPath, YamlDoc
from hygge.errors import ConfigError, UsageError

# A layer's values, and where each key of it was set (a file layer credits every key to its
# own line, so `--dry-run -v` points at the line to change).
Layer = tuple[str | Callable[[str], str], dict[str, Any]]


@dataclass(frozen=True)
class CommandLine:
    """What the command line says about an entity."""

    run_type: RunType | None = None  # --incremental / --full-drop
    suffix: RunType | None = None  # --flow F:RT / --entity F.E:RT
    variables: tuple[Var, ...] = ()


def resolve_settings(
    project: Project, flow: FlowDef, entity: EntityDef, cli: CommandLine
) -> tuple[Settings, dict[str, str]]:
    keys = set(SETTING_KEYS)
    layers: list[Layer] = [
        ("built-in default", BUILTIN_SETTINGS.model_dump(exclude_none=True)),
        (_lines(project.doc, ("options",)), _dump(project.spec.options, keys)),
        (_lines(flow.doc, ()), _dump(flow.spec, keys)),
        (_lines(flow.doc, ("defaults",)), _dump(flow.spec.defaults, keys)),
        (_lines(entity.doc, entity.at), _dump(entity.spec, keys)),
    ]
    if cli.run_type:
        layers.append(("command line flag", {"run_type": cli.run_type}))
    layers += _var_layers(flow, entity, cli.variables, settings=True)
    if cli.suffix:
        layers.append(("command line selection suffix", {"run_type": cli.suffix}))
    values, provenance = _merge(layers)
    if values.get("run_type") is None:
        has_watermark = values.get("watermark") is not None
        values["run_type"] = "incremental" if has_watermark else "full_drop"
        why = "a watermark is set" if has_watermark else "no watermark"
        provenance["run_type"] = f"built-in default ({why})"
    try:
        return Settings.model_validate(values), provenance
    except ValidationError as exc:
        mine = applied_vars(flow, entity, cli.variables)
        blamed = var_error(exc, Settings, mine, ())
        # pydantic's error quotes the input, which may hold an expanded secret
        raise blamed or _settings_error(exc, flow, entity, provenance) from None


def resolve_section(
    family: str, flow: FlowDef, entity: EntityDef, variables: tuple[Var, ...]
) -> tuple[dict[str, Any], frozenset[str]]:
    """The effective home/store mapping, and its keys whose value is flow.yml's (shared by
    every entity of the flow)."""
    base: dict[str, Any] = getattr(flow.spec, family)
    layers: list[Layer] = [("entity", getattr(entity.spec, family))]
    layers += [(s, v.get(family, {})) for s, v in _var_layers(flow, entity, variables, False)]
    section: dict[str, Any] = dict(base)
    for _, layer in layers:
        section = merge(section, layer)
    return section, frozenset(base) - {key for _, layer in layers for key in layer}


def section_sources(
    family: str, flow: FlowDef, entity: EntityDef, variables: tuple[Var, ...]
) -> dict[str, str]:
    """Where each key written for the entity's home/store section was set: its line in
    flow.yml or the entity, or the --var that set it last."""
    layers: list[Layer] = [
        (_lines(flow.doc, (family,)), getattr(flow.spec, family)),
        (_lines(entity.doc, (*entity.at, family)), getattr(entity.spec, family)),
    ]
    layers += [(s, v.get(family, {})) for s, v in _var_layers(flow, entity, variables, False)]
    return _merge(layers)[1]


def applied_vars(flow: FlowDef, entity: EntityDef, variables: Sequence[Var]) -> list[Var]:
    """The --var that reach entity, in the order they apply (the flow's, then its own)."""
    return [
        v
        for scope in (None, entity.name)
        for v in variables
        if v.flow == flow.name and v.entity == scope
    ]


def var_error(
    exc: ValidationError, model: type[BaseModel], variables: Sequence[Var], at: KeyPath
) -> UsageError | None:
    """The error of a key (at key path `at` of the model) that a --var set, naming the --var
    as typed; None when no --var set any offending key."""
    for err in exc.errors():
        loc = (*at, *clean_loc(err["loc"]))
        for var in reversed(variables):  # the last one applied won
            common = min(len(loc), len(var.key))
            if len(loc) > len(at) and loc[:common] == var.key[:common]:
                return UsageError(
                    f"--var {var.text!r}: {problem(err, model, at)}",
                    hint="fix or drop that --var",
                )
    return None


def _var_layers(
    flow: FlowDef, entity: EntityDef, variables: tuple[Var, ...], settings: bool
) -> list[Layer]:
    return [
        (f"--var {var.text}", var.as_tree())
        for var in applied_vars(flow, entity, variables)
        if (var.key[0] not in PLUGIN_SECTIONS) == settings
    ]


def _lines(doc: YamlDoc, at: KeyPath) -> Callable[[str], str]:
    """Credit each key of the mapping at key path `at` to its own line: 'file:line'."""
    return lambda key: doc.where((*at, key))


def _dump(model: Settings, keys: set[str]) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True, include=keys)


def _merge(layers: list[Layer]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for source, layer in layers:
        layer = {k: v for k, v in layer.items() if v is not None}
        values = merge(values, layer)
        provenance |= {k: source if isinstance(source, str) else source(k) for k in layer}
    return values, provenance


def _settings_error(
    exc: ValidationError, flow: FlowDef, entity: EntityDef, provenance: dict[str, str]
) -> ConfigError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    source = provenance.get(str(err["loc"][0]), "settings") if err["loc"] else "settings"
    return ConfigError(
        f"{flow.name}.{entity.name}: {source}: key {key!r}: {err['msg']}"
        f" (got {err.get('input')!r})",
        hint="fix the value where it is set",
    )

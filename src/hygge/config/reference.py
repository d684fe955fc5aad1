"""The configuration reference, docs/configuration.md, written from the models that validate
the files, so that it cannot drift from them:

    python -m hygge.config.reference > docs/configuration.md

A test compares the committed file with this output, and a key without a description stops
the generator, naming it: every key a user may write is explained where it is defined.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hygge.config.connection_models import (
    AzureConnection,
    Connection,
    GcsConnection,
    PostgresJournalConfig,
    S3Connection,
    SqliteJournalConfig,
)
from hygge.config.models import (
    BUILTIN_SETTINGS,
    Bounds,
    Checks,
    EntityFile,
    FlowFile,
    Freshness,
    HashId,
    Polish,
    ProjectFile,
    ProjectOptions,
    Settings,
    Watermark,
)
from hygge.registry import BUILTINS, Family, home_class, store_class

# Where each nested model is explained: its heading (GitHub makes the anchor from it).
SECTIONS: dict[type[BaseModel], str] = {
    ProjectOptions: "options",
    Connection: "database connections",
    S3Connection: "s3 connections",
    AzureConnection: "azure connections",
    GcsConnection: "gcs connections",
    SqliteJournalConfig: "sqlite journal",
    PostgresJournalConfig: "postgres journal",
    EntityFile: "entities",
    Settings: "settings",
    Watermark: "watermark",
    Polish: "polish",
    HashId: "hash id",
    Checks: "checks",
    Bounds: "min and max",
    Freshness: "freshness",
}
HIDDEN = {"type", "credentials"}  # a plugin's heading names its type; credentials are filled in
SCALARS = {str: "text", int: "integer", float: "number", bool: "true or false", Any: "any value"}
PREFACE = """\
# Configuration reference

Every key of `hygge.yml`, `flow.yml` and the entity files, and of each home and store type,
with its type, default and meaning. Generated from the models that validate the files by
`python -m hygge.config.reference > docs/configuration.md`; a test fails when this file is
not what the generator writes, so edit the descriptions in the models, not here.
`hygge schema --config project|flow|entity` prints the same models as JSON Schemas for editors.
"""


def render() -> str:
    """The whole reference, as Markdown."""
    return "\n".join(_blocks()) + "\n"


def _blocks() -> Iterator[str]:
    yield PREFACE
    yield "## hygge.yml\n"
    yield _table(ProjectFile)
    yield _section("options", ProjectOptions, exclude=set(Settings.model_fields))
    yield "It also takes every key of [settings](#settings) but `allow_empty`, for every entity.\n"
    yield "### connections\n"
    yield "`connections: {NAME: {...}}` names a database or a cloud account; a home or store"
    yield "refers to it by `connection: NAME`. Its `type` says which of these it is.\n"
    yield _section("database connections", Connection, level=4)
    yield _section("s3 connections", S3Connection, level=4)
    yield _section("azure connections", AzureConnection, level=4)
    yield _section("gcs connections", GcsConnection, level=4)
    yield "### journal\n"
    yield "`journal: {type: ...}`: where runs and watermarks are recorded.\n"
    yield _section("sqlite journal", SqliteJournalConfig, level=4)
    yield _section("postgres journal", PostgresJournalConfig, level=4)
    yield "## flow.yml\n"
    yield "`flows/<flow>/flow.yml` (or `flow.yaml`): one home, one store, and settings.\n"
    yield _table(FlowFile, exclude=set(Settings.model_fields))
    yield "It also takes every key of [settings](#settings), for each entity of the flow.\n"
    yield "## entities\n"
    yield "An item of a flow's `entities:` or a file `flows/<flow>/entities/<name>.yml`.\n"
    yield _table(EntityFile, exclude=set(Settings.model_fields))
    yield "It also takes every key of [settings](#settings), for this entity only.\n"
    yield "## settings\n"
    yield (
        "Settings layer, most specific first: the command line (`--entity F.E:RT`, `--flow F:RT`,"
        "\n`--var`, `-i`/`-d`), the entity, the flow's `defaults`, `flow.yml`, `hygge.yml`"
        "\n`options`, the defaults below. `hygge go --dry-run -v` shows where each came from.\n"
    )
    yield _table(Settings, defaults=BUILTIN_SETTINGS)
    for model in (Watermark, Polish, HashId, Checks, Bounds, Freshness):
        yield _section(SECTIONS[model], model, level=3)
    yield from _plugins("home")
    yield from _plugins("store")


def _plugins(family: Family) -> Iterator[str]:
    yield f"## {family}s\n"
    yield f"The keys of `{family}:`, by its `type`. An entity may change any of them.\n"
    load = home_class if family == "home" else store_class
    nested: dict[type[BaseModel], None] = {}
    for kind in BUILTINS[family]:
        config: type[BaseModel] = load(kind).Config
        yield _section(f"{family} type {kind}", config)
        nested |= dict.fromkeys(_nested_models(config))
    for model in nested:
        yield _section(_title(model), model)


def _nested_models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """Models a plugin config nests (a SQL home's `partition`), explained once after them."""
    for name, field in model.model_fields.items():
        for arg in _flatten(field.annotation):
            if name not in HIDDEN and isinstance(arg, type) and issubclass(arg, BaseModel):
                yield arg


def _section(
    title: str, model: type[BaseModel], level: int = 3, exclude: set[str] | None = None
) -> str:
    return f"{'#' * level} {title}\n\n{_table(model, exclude)}"


def _table(
    model: type[BaseModel], exclude: set[str] | None = None, defaults: BaseModel | None = None
) -> str:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if name in (exclude or set()) or (name in HIDDEN and model not in SECTIONS):
            continue
        default = getattr(defaults, name) if defaults is not None else None
        rows.append(
            f"| `{field.alias or name}` | {_type(field)} |"
            f" {_default(field, default)} | {_cell(_meaning(model, name))} |"
        )
    return "\n".join(rows) + "\n"


def _meaning(model: type[BaseModel], name: str) -> str:
    """A field's description, or the one a base class gives it (a subclass that only changes
    a default keeps its meaning)."""
    for cls in model.__mro__:
        fields = getattr(cls, "__pydantic_fields__", {})
        if name in fields and fields[name].description:
            return str(fields[name].description)
    raise ValueError(
        f"{model.__module__}.{model.__qualname__}.{name} has no description: add a docstring"
        " under the field"
    )


def _type(field: FieldInfo) -> str:
    text = _type_name(field.annotation)
    for limit in field.metadata:
        for attribute, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            if isinstance(limit, getattr(annotated_types, attribute.capitalize())):
                text += f", {sign} {getattr(limit, attribute)}"
    return text


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        title = _title(annotation)
        return f"[{title}](#{title.replace(' ', '-')})"
    return SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _title(model: type[BaseModel]) -> str:
    """The heading a model is explained under (a plugin's nested model: its class name)."""
    return SECTIONS.get(model, model.__name__.lower())


def _flatten(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in get_args(annotation):
        yield from _flatten(arg)


def _default(field: FieldInfo, builtin: Any) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    value = builtin if value is None and builtin is not None else value
    if isinstance(value, BaseModel):
        return "`{}`"
    if value is None:
        return "none"
    if value == "":
        return '`""`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | tuple | dict):
        return "`{}`" if isinstance(value, dict) else "`[]`"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"`{value:_}`".replace("_", ",")
    return f"`{value}`"


def _cell(text: str) -> str:
    """Text fit for one table cell: one line, no column separator."""
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    print(render(), end="")

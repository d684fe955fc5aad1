"""Turn pydantic validation errors into messages that name file, line and key."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hygge.config.yamlfile import KeyPath, YamlDoc, dotted
from hygge.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any, doc: YamlDoc, at: KeyPath = (), what: str = "") -> M:
    """Validate data (found at key path `at` of doc) as model, or raise a located ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # pydantic's error quotes the input, which may hold an expanded secret
        raise located_error(exc, model, doc, at, what) from None


def located_error(
    exc: ValidationError, model: type[BaseModel], doc: YamlDoc, at: KeyPath, what: str = ""
) -> ConfigError:
    first_per_key: dict[KeyPath, Any] = {}
    for err in exc.errors():  # a union reports each branch: keep the first per key
        first_per_key.setdefault(clean_loc(err["loc"]), err)
    lines = [_describe(err, model, doc, at) for err in first_per_key.values()]
    first, rest = lines[0], lines[1:]
    message = first if not rest else first + "".join(f"\n  also {line}" for line in rest)
    return ConfigError(f"{what}: {message}" if what else message, hint="fix the key in that file")


def _describe(err: Any, model: type[BaseModel], doc: YamlDoc, at: KeyPath) -> str:
    where = doc.where((*at, *clean_loc(err["loc"])))
    return f"{where}: {problem(err, model, at)}"


def problem(err: Any, model: type[BaseModel], at: KeyPath = ()) -> str:
    """What is wrong with the key of one pydantic error (found at key path `at`), not where."""
    loc = clean_loc(err["loc"])
    key = dotted((*at, *loc)) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        known = sorted(_field_names(model, loc[:-1]))
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
        return f"unknown key {key!r}{hint}"
    if kind == "missing":
        return f"missing required key {key!r}"
    value = err.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict | list) else ""
    message = str(err["msg"]).removeprefix("Value error, ")  # pydantic's wrapper of our own
    return f"key {key!r}: {message}{shown}"


def clean_loc(loc: tuple[Any, ...]) -> KeyPath:
    """Drop pydantic's union-branch labels (e.g. 'str', 'EntityFile') from a location."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (part[:1].isupper() or part in {"str", "int", "list"}):
            continue
        if isinstance(part, str) and "[" in part:
            continue
        out.append(part)
    return tuple(out)


def _field_names(model: type[BaseModel], loc: KeyPath) -> set[str]:
    """Field names of the (sub)model found at loc; falls back to the top-level fields."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            break
        current = _model_in(field.annotation) or current
    return set(getattr(current, "model_fields", {}) or model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The first BaseModel class inside an annotation like `X | None` or `list[str | X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None

"""Plugin kinds -> classes: built-ins plus entry points, imported only when used."""

from __future__ import annotations

import difflib
import importlib
import sys
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Literal

from hygge.errors import ConfigError, MissingDriverError
from hygge.plugin import Home, Store

Family = Literal["home", "store"]


@dataclass(frozen=True)
class Builtin:
    target: str  # "module:Class"
    extra: str | None = None  # the pip extra that brings its driver


BUILTINS: dict[Family, dict[str, Builtin]] = {
    "home": {
        "parquet": Builtin("hygge.homes.parquet:ParquetHome"),
        "csv": Builtin("hygge.homes.csv:CsvHome"),
        "ndjson": Builtin("hygge.homes.ndjson:NdjsonHome"),
        "duckdb": Builtin("hygge.homes.duckdb:DuckDbHome", extra="duckdb"),
        "postgres": Builtin("hygge.homes.postgres:PostgresHome", extra="postgres"),
        "sqlite": Builtin("hygge.homes.sqlite:SqliteHome"),
        "mysql": Builtin("hygge.homes.mysql:MySqlHome", extra="mysql"),
        "mssql": Builtin("hygge.homes.mssql:MsSqlHome", extra="mssql"),
    },
    "store": {
        "parquet": Builtin("hygge.stores.parquet:ParquetStore"),
        "csv": Builtin("hygge.stores.csv:CsvStore"),
        "ndjson": Builtin("hygge.stores.ndjson:NdjsonStore"),
        "duckdb": Builtin("hygge.stores.duckdb:DuckDbStore", extra="duckdb"),
        "postgres": Builtin("hygge.stores.postgres:PostgresStore", extra="postgres"),
        "sqlite": Builtin("hygge.stores.sqlite:SqliteStore"),
        "mysql": Builtin("hygge.stores.mysql:MySqlStore", extra="mysql"),
        "mssql": Builtin("hygge.stores.mssql:MsSqlStore", extra="mssql"),
        "delta": Builtin("hygge.stores.delta:DeltaStore", extra="delta"),
        "open_mirroring": Builtin("hygge.stores.open_mirroring:OpenMirroringStore"),
    },
}


def known_kinds(family: Family) -> list[str]:
    return sorted({*BUILTINS[family], *_entry_points(family)})


def home_class(kind: str) -> type[Home[Any]]:
    cls = _load("home", kind)
    assert issubclass(cls, Home), f"{cls} is not a Home"
    return cls


def store_class(kind: str) -> type[Store[Any]]:
    cls = _load("store", kind)
    assert issubclass(cls, Store), f"{cls} is not a Store"
    return cls


def _load(family: Family, kind: str) -> type:
    builtin = BUILTINS[family].get(kind)
    points = {} if builtin is not None else _entry_points(family)  # a built-in wins anyway
    if builtin is None and kind not in points:
        known = known_kinds(family)
        close = difflib.get_close_matches(kind, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown {family} type {kind!r}",
            hint=f"{hint}known {family} types: {', '.join(known)}",
        )
    try:
        if builtin is not None:
            module_name, _, attr = builtin.target.partition(":")
            return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]
        return points[kind].load()  # type: ignore[no-any-return]
    except ImportError as exc:
        extra = builtin.extra if builtin else None
        install = (
            f"install the extra {extra!r}: pip install '.[{extra}]' in a checkout of hygge"
            " (the name hygge on PyPI is another project)"
            if extra
            else f"install the package for {kind!r}"
        )
        raise MissingDriverError(
            f"{family} type {kind!r} needs a driver that is not installed ({exc.name or exc})",
            hint=install,
        ) from exc


def plugin_kinds() -> set[str]:
    """The home and store types installed plugins bring."""
    return {*_entry_points("home"), *_entry_points("store")}


def _entry_points(family: Family) -> dict:  # type: ignore[type-arg]
    return _entry_points_on(family, tuple(sys.path))


@cache
def _entry_points_on(family: Family, path: tuple[str, ...]) -> dict:  # type: ignore[type-arg]
    """Read once per search path: each look reads every installed package's metadata, about
    20 ms here, and a run asked four times."""
    return {ep.name: ep for ep in entry_points(group=f"hygge.{family}s")}

"""What every SQL store shares: table naming, staging names, the commit-record table, and
the rule for new or changed source columns.

A load stages its rows in a table of its own, `_hygge_stage#<table>#<run id>`, beside the
destination (same schema, so a full_drop can rename it into place). `#` never occurs in a
validated table name, so `recover()` can tell this destination's leftovers from those of a
table whose name merely starts the same. Publishing is one transaction that also writes the
load's commit record into `_hygge_commits` (one row per load: run id, destination,
published_at, watermark, state), which is how a rerun learns what was published but never
committed to the journal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from hygge.config.models import RunType
from hygge.errors import StoreError
from hygge.plugin import PluginConfig, Store

STAGE_PREFIX = "_hygge_stage#"
COMMITS = "_hygge_commits"
KEEP_COMMITS = 20  # records kept per destination; older ones can no longer matter
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def _identifier(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r} is not a plain name: use letters, digits and _")
    return value


class SqlStoreConfig(PluginConfig):
    table: str
    schema_name: str = Field(alias="schema")

    _table = field_validator("table")(_identifier)
    _schema = field_validator("schema_name")(_identifier)


class SqlStore(Store):
    """A store writing one table of a SQL database."""

    config: SqlStoreConfig
    run_types: ClassVar[frozenset[RunType]] = frozenset({"full_drop", "incremental", "merge"})

    @property
    def qualified(self) -> str:
        """`schema.table`: the destination's name inside its database (and in commit records)."""
        return f"{self.config.schema_name}.{self.config.table}"

    def stage_name(self, run_id: str) -> str:
        return f"{STAGE_PREFIX}{self.config.table}#{run_id}"

    def is_own_stage(self, name: str) -> bool:
        return name.startswith(f"{STAGE_PREFIX}{self.config.table}#")

    def refuse_undeclared(self, run_type: RunType) -> None:
        if run_type not in self.run_types:
            raise StoreError(
                f"{self.config.type} store cannot {run_type}",
                hint=f"use one of: {', '.join(sorted(self.run_types))}",
            )


def new_columns(
    destination: Mapping[str, str],
    source: Mapping[str, str],
    fits: Callable[[str, str], bool],
    where: str,
) -> list[tuple[str, str]]:
    """The source columns to add to the destination (as nullable), in source order.

    A column both have must fit: `fits(source_type, destination_type)` says whether the
    destination's type holds every value of the source's. Two timestamp types fit only when
    equal: a cast would drop digits or invent a zone, which a database's implicit casts allow.
    A misfit stops the load before anything is written, naming the column and both types;
    hygge never narrows or rewrites a destination column on its own.
    """
    added = []
    for name, source_type in source.items():
        held = destination.get(name)
        if held is None:
            added.append((name, source_type))
        elif held != source_type and (
            _timestamps(source_type, held) or not fits(source_type, held)
        ):
            raise StoreError(
                f"column {name!r} is {source_type} in the source but {held} in {where},"
                " which cannot hold it",
                hint="change the destination column's type, or cast the column in the source",
            )
    return added


def _timestamps(*types: str) -> bool:
    return all(name.upper().startswith("TIMESTAMP") for name in types)


def file_database_preflight(path: str) -> list[str]:
    """A store kept in one database file: the path must not be a folder."""
    return [f"store database {path} is a folder"] if Path(path).is_dir() else []


def new_file_database_problems(path: str) -> list[str]:
    """A database file that does not exist yet: its folder must take a new file."""
    folder = next(p for p in Path(path).parents if p.exists())
    writable = folder.is_dir() and os.access(folder, os.W_OK)
    return [] if writable else [f"store database {path}: {folder} is not writable"]

"""The rule for a SQL destination's columns against a load's: which source columns a load adds,
which of its types the destination's hold (`new_columns`, as an append publishes), and the
same judgement of each column for `hygge schema` (`landed_column`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from hygge.engines.types import named_type
from hygge.errors import StoreError
from hygge.plugin import LandedColumn


def column_types(
    schema: pl.Schema, column_type: Callable[[str, pl.DataType], str]
) -> dict[str, str]:
    """Column name -> the engine's type for it, by the engine's `column_type`."""
    return {name: column_type(name, dtype) for name, dtype in schema.items()}


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
        elif not holds(source_type, held, fits):
            raise StoreError(
                f"column {name!r} is {source_type} in the source but {held} in {where},"
                " which cannot hold it",
                hint="cast the column in the source, change the destination column's type,"
                " or run the entity once as full_drop (it replaces the table with the new types)",
            )
    return added


def landed_column(
    name: str, held: str, incoming: bool, given: str | None, fits: Callable[[str, str], bool]
) -> LandedColumn:
    """A destination column held to the incoming one of its name, whose stage type is given."""
    if not incoming:
        return LandedColumn(name, held, None, None)
    return LandedColumn(name, held, given == held, given is not None and holds(given, held, fits))


def known_types(
    incoming: pl.Schema, column_type: Callable[[str, pl.DataType], str]
) -> dict[str, str]:
    """The engine's `column_type` of each incoming column it has one for."""
    named = {name: named_type(column_type, name, dtype) for name, dtype in incoming.items()}
    return {name: dtype for name, dtype in named.items() if dtype is not None}


def holds(source: str, held: str, fits: Callable[[str, str], bool]) -> bool:
    """Does a destination column of type held take a source column of source_type?"""
    return held == source or (not _timestamps(source, held) and fits(source, held))


def _timestamps(*types: str) -> bool:
    return all(name.upper().startswith("TIMESTAMP") for name in types)

"""Which columns a home reads, and as what type: `columns`, `exclude_columns` and `cast`.

Every home takes them. A file home selects and casts in its lazy scan (a parquet file's other
columns are never read); a SQL home names the columns in its SELECT list, so the database
sends no others, and casts the batches it receives (the same rule on every engine). A name
the source does not have stops the read, naming the entity, the key and the column, with the
nearest name there is. A cast is strict: a value that does not fit fails the read, naming
the column, rather than arriving as NULL.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import polars as pl
from pydantic import field_validator, model_validator

from hygge.errors import ConfigError, SourceError
from hygge.plugin import PluginConfig
from hygge.typenames import parse_type


class ShapeConfig(PluginConfig):
    """The keys every home takes (see the module docstring)."""

    columns: list[str] | None = None
    """Read only these columns, in this order; none: all."""
    exclude_columns: list[str] = []
    """Read every column but these."""
    cast: dict[str, str] = {}
    """Column -> the type to read it as (int64, string, decimal(10, 2), datetime(us, UTC), ...)."""

    @field_validator("cast")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            parse_type(text)  # its ValueError names the type
        return value

    @model_validator(mode="after")
    def _one_way(self) -> ShapeConfig:
        if self.columns is not None and self.exclude_columns:
            raise ValueError("give columns or exclude_columns, not both")
        return self


class Shaper:
    """One home's columns and casts, checked against the names its source has."""

    def __init__(self, config: ShapeConfig, address: str) -> None:
        self.config = config
        self.address = address
        self.types = {column: parse_type(text) for column, text in config.cast.items()}

    @property
    def narrows(self) -> bool:
        return self.config.columns is not None or bool(self.config.exclude_columns)

    def chosen(self, available: Sequence[str]) -> list[str]:
        """The columns to read of those the source has, every name written checked."""
        config = self.config
        self._known("columns", config.columns or [], available)
        self._known("exclude_columns", config.exclude_columns, available)
        self._known("cast", list(config.cast), available)
        if config.columns is not None:
            return list(config.columns)
        return [c for c in available if c not in config.exclude_columns]

    def cast(self, frame: pl.DataFrame) -> pl.DataFrame:
        if not self.types:
            return frame
        try:
            return frame.with_columns(self.exprs(frame.columns))
        except pl.exceptions.PolarsError as exc:
            raise self.cast_failed(exc) from exc

    def exprs(self, present: Sequence[str]) -> list[pl.Expr]:
        """The casts of the columns present (a file may lack one its folder has)."""
        return [pl.col(c).cast(t, strict=True) for c, t in self.types.items() if c in present]

    def cast_schema(self, schema: pl.Schema) -> pl.Schema:
        return pl.Schema({name: self.types.get(name, dtype) for name, dtype in schema.items()})

    def cast_failed(self, exc: BaseException, where: str = "") -> SourceError:
        """The error of a cast that a value did not fit (Polars names column and value)."""
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        casts = ", ".join(f"{c} to {t}" for c, t in self.config.cast.items())
        return SourceError(
            f"{self.address}: home.cast ({casts}) failed{where}: {detail}",
            hint="cast to a type every value fits, or leave the column out of cast",
        )

    def _known(self, key: str, names: Sequence[str], available: Sequence[str]) -> None:
        for name in names:
            if name not in available:
                near = difflib.get_close_matches(name, available, n=1)
                guess = f" (did you mean {near[0]!r}?)" if near else ""
                raise ConfigError(
                    f"{self.address}: home.{key} names column {name!r}, which the source"
                    f" does not have{guess}",
                    hint=f"the source's columns: {', '.join(available)}",
                )

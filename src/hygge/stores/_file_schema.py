"""The columns of a file store's folder, and what a load may change in them.

Every file of a folder must read back as one table, so each batch a load writes is held to
the folder's published columns (kept in the newest commit record; for a folder published
before records kept them, the newest parquet file's footer) before anything is published:

- a column the folder has, with the same type: written as it comes;
- a new column: added, and reported (`schema_changes`); files from then on carry it;
- a column of the folder that the batch lacks: written as null of the folder's type, so the
  newest file always has every column (read newest first, see the README);
- a type that converts exactly into the folder's (`converts`): cast to the folder's type;
- a column the folder holds only as nulls (type Null) takes the first real type it gets;
- anything else fails the load before it publishes, naming the column and both types.

A full_drop starts from nothing (its files replace the folder's), but its batches are held
to each other the same way. Columns keep the folder's order; new ones come last.
"""

from __future__ import annotations

import polars as pl

from hygge.errors import StoreError
from hygge.filesystem import FileSystem, is_hidden
from hygge.plugin import LandedColumn, LoadRun
from hygge.results import SchemaChange
from hygge.stores._commits import read_records
from hygge.typenames import type_name

# Bits an integer type's values need without their sign, and a float's exact integers.
_INTEGER_BITS: dict[type[pl.DataType], int] = {
    pl.Int8: 7, pl.Int16: 15, pl.Int32: 31, pl.Int64: 63, pl.Int128: 127,
    pl.UInt8: 8, pl.UInt16: 16, pl.UInt32: 32, pl.UInt64: 64,
}  # fmt: skip
_FLOAT_BITS: dict[type[pl.DataType], int] = {pl.Float32: 24, pl.Float64: 53}


def converts(source: pl.DataType, target: pl.DataType) -> bool:
    """Does every value of `source` convert to `target` exactly? A narrower integer into a
    wider one (unsigned into a signed one only if it is wider), an integer of at most 24 bits
    into Float32 or of at most 53 bits into Float64 (Int64 into Float64 would round), Float32
    into Float64, and a column of nulls into anything."""
    if source == pl.Null:
        return True
    bits = _INTEGER_BITS.get(source.base_type())
    if bits is None:
        return source == pl.Float32 and target == pl.Float64
    if target.is_integer():
        signs_fit = target.is_signed_integer() or not source.is_signed_integer()
        return signs_fit and _INTEGER_BITS[target.base_type()] >= bits
    return bits <= _FLOAT_BITS.get(target.base_type(), 0)


class FolderSchema:
    """One load's columns, held to what its folder published (None: a new folder, or a
    full_drop), as the module docstring says."""

    def __init__(
        self, published: pl.Schema | None, where: str, address: str, holder: str = "folder"
    ) -> None:
        self.published = published
        self.schema: dict[str, pl.DataType] | None = None if published is None else {**published}
        self.where = where
        self.address = address
        self.holder = holder  # what `where` is, as messages name it: "folder", "Delta table"

    @classmethod
    def of(cls, fs: FileSystem, folder: str, run: LoadRun, address: str) -> FolderSchema:
        published = None if run.run_type == "full_drop" else published_schema(fs, folder)
        return cls(published, folder, address)

    def admit(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
        """frame in the folder's columns, and whether they changed since the batch before:
        a file's columns are its first batch's, so the load then starts a new file."""
        if not frame.height:
            return frame, False
        if self.schema is None:
            self.schema = dict(frame.schema)
            return frame, False
        if list(frame.schema.items()) == list(self.schema.items()):
            return frame, False  # the usual batch: nothing to check or cast
        schema, changed = dict(self.schema), False
        for name, dtype in frame.schema.items():
            held = schema.get(name)
            if held is None or (held == pl.Null and dtype != pl.Null):
                schema[name], changed = dtype, True
            elif held != dtype and not converts(dtype, held):
                raise self._conflict(name, dtype, held)
        self.schema = schema
        columns = [
            pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
            for name, dtype in schema.items()
        ]
        return frame.select(columns), changed

    def adopts(self, schema: pl.Schema) -> bool:
        """Would files of schema need no change to join the folder? Then they are its columns
        (as the first batch's would be); nothing is taken up when they would."""
        if self.schema is None:
            self.schema = dict(schema)
            return True
        return list(schema.items()) == list(self.schema.items())

    @property
    def after(self) -> pl.Schema | None:
        """The folder's columns once this load is published (None: no columns known)."""
        return None if self.schema is None else pl.Schema(self.schema)

    def changes(self) -> tuple[SchemaChange, ...]:
        """The columns this load added to a folder that had published columns."""
        if self.published is None or self.schema is None:
            return ()
        held = self.published
        return tuple(SchemaChange(n, str(t)) for n, t in self.schema.items() if n not in held)

    def _conflict(self, name: str, dtype: pl.DataType, held: pl.DataType) -> StoreError:
        if self.published is not None and self.published.get(name) == held:
            return StoreError(
                f"column {name!r} is {dtype} in this run's rows but {held} in the"
                f" {self.holder} {self.where}, which cannot hold both types",
                hint=f"cast the column to {held} in the source, or rewrite the {self.holder}"
                f" with the new type by one full_drop run: hygge go --entity {self.address}:d",
            )
        return StoreError(
            f"column {name!r} is {dtype} in a batch but {held} in the batches before it",
            hint="the source's rows disagree on the column's type: cast it in the source",
        )


def published_schema(fs: FileSystem, folder: str) -> pl.Schema | None:
    """The folder's columns: the newest commit record's, else (a folder written before
    records kept them) its newest parquet file's; None when neither tells."""
    for record in reversed(read_records(fs, folder)):
        if record.schema is not None:
            return record.schema
    files = [n for n in fs.list_names(folder) if n.endswith(".parquet") and not is_hidden(n)]
    if not files:
        return None
    with fs.fs.open(f"{folder}/{max(files)}", "rb") as handle:
        return pl.Schema(pl.read_parquet_schema(handle))


def folder_landing(fs: FileSystem, folder: str, incoming: pl.Schema) -> list[LandedColumn] | None:
    """The folder's columns held to incoming's: empty when there is no folder, None when it
    tells no columns (files hygge did not publish, or none)."""
    published = published_schema(fs, folder)
    if published is None:
        return None if fs.exists(folder) else []
    return landed_in(published, incoming)


def landed_in(published: pl.Schema, incoming: pl.Schema) -> list[LandedColumn]:
    """published's columns held to incoming's by `FolderSchema.admit`'s rule."""
    found = []
    for name, held in published.items():
        dtype = incoming.get(name)
        if dtype is None:
            found.append(LandedColumn(name, type_name(held), None, None))
        else:
            holds = held == dtype or held == pl.Null or converts(dtype, held)
            found.append(LandedColumn(name, type_name(held), held == dtype, holds))
    return found

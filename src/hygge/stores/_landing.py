"""The rules of a Fabric open mirroring landing zone that the store writes by.

A table folder holds `_metadata.json` (its key columns, fixed once declared) and data files
named by a 20-digit sequence number that Fabric reads in order, one after the other: a gap
stalls every later file, a reused number is never read again. Rows of change files carry
`__rowMarker__` as their last column (0 insert, 1 update, 2 delete, 4 upsert); an initial
load goes without it (Fabric then inserts every row, its fastest path). Names starting with
`_` are Fabric's to ignore, which is where hygge keeps its records and staging.
"""

from __future__ import annotations

import json
import re

import polars as pl

from hygge.errors import StoreError
from hygge.filesystem import FileSystem
from hygge.stores._commits import RECORDS_FOLDER, Record

MARKER = "__rowMarker__"
UPSERT = 4
METADATA = "_metadata.json"
PARTNER_EVENTS = "_partnerEvents.json"
DIGITS = 20
_DATA_NAME = re.compile(rf"^(\d{{{DIGITS}}})\.parquet$")
# Delta tables (what Fabric mirrors into) refuse these in a column name.
REFUSED_CHARACTERS = " ,;{}()\n\t="


def data_name(sequence: int) -> str:
    return f"{sequence:0{DIGITS}d}.parquet"


def sequence_of(name: str) -> int | None:
    """The sequence number of a data file's name; None for any other name."""
    match = _DATA_NAME.match(name)
    return int(match.group(1)) if match else None


def highest_sequence(names: list[str], records: list[Record]) -> int:
    """The highest number landed: of the files present, or of the records, which remember
    it after Fabric has moved the files it processed away (it leaves only the last)."""
    numbers = [sequence_of(name) for name in names]
    numbers += [sequence_of(name) for record in records for name in record.files]
    return max((n for n in numbers if n is not None), default=0)


def column_problem(name: str) -> str | None:
    """Why Fabric would refuse a column of this name; None when it takes it."""
    if name == MARKER:
        return f"{MARKER} is the row marker column that open mirroring adds itself"
    if not name.strip():
        return "an empty or blank column name"
    found = sorted({repr(c) for c in name if c in REFUSED_CHARACTERS})
    if found:
        return f"it holds {', '.join(found)}, which Fabric's Delta tables refuse in names"
    return None


def refuse_columns(names: list[str], where: str) -> None:
    for name in names:
        problem = column_problem(name)
        if problem:
            raise StoreError(
                f"column {name!r} of {where} cannot be mirrored: {problem}",
                hint="let the entity's polish rename it (remove_spaces, remove_special or"
                " rename), or rename it in the source",
            )


def read_keys(fs: FileSystem, folder: str) -> list[str] | None:
    """The key columns a table folder declares; None when it has no `_metadata.json`."""
    path = f"{folder}/{METADATA}"
    if not fs.exists(path):
        return None
    try:
        with fs.fs.open(path, "rb") as handle:
            data = json.loads(handle.read())
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"cannot read {path}: {exc}",
            hint="fix or remove the file (remove it only if Fabric has not seen the table yet)",
        ) from exc
    keys = data.get("keyColumns", []) if isinstance(data, dict) else None
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise StoreError(
            f"{path} does not hold a list of column names under keyColumns",
            hint="fix the file by hand, or rebuild the table with one full_drop run",
        )
    return keys


def write_metadata(fs: FileSystem, folder: str, keys: tuple[str, ...]) -> None:
    """Write `_metadata.json` whole or not at all: written aside, then renamed into place."""
    fs.makedirs(f"{folder}/{RECORDS_FOLDER}")
    temporary = f"{folder}/{RECORDS_FOLDER}/.metadata.json.tmp"
    with fs.open_write(temporary) as handle:
        handle.write(json.dumps({"keyColumns": list(keys)}, indent=2).encode())
    fs.move(temporary, f"{folder}/{METADATA}")


def with_marker(frame: pl.DataFrame, marker: int) -> pl.DataFrame:
    """frame with the row marker as its last column."""
    return frame.with_columns(pl.lit(marker, pl.Int32).alias(MARKER))


def without_marker(schema: pl.Schema) -> pl.Schema:
    return pl.Schema({name: dtype for name, dtype in schema.items() if name != MARKER})


def scan_parts(fs: FileSystem, staging: str, parts: list[str]) -> pl.LazyFrame:
    """A run's staged parts as one table: a part started when a column was added has more
    columns than those before it (theirs read as null); the marker stays last."""
    options = fs.scan_options
    scans = [pl.scan_parquet(f"{staging}/{part}", storage_options=options) for part in parts]
    rows = pl.concat(scans, how="diagonal")
    names = rows.collect_schema().names()
    if MARKER in names:
        rows = rows.select(*(name for name in names if name != MARKER), MARKER)
    return rows


def write_partner_events(fs: FileSystem, landing: str, source_type: str) -> None:
    """The landing zone's `_partnerEvents.json` (optional in Fabric: it tells Fabric which
    writer and which kind of source feed the mirror), written once, whole or not at all;
    one already there, hygge's or another writer's, is left as it is."""
    path = f"{landing}/{PARTNER_EVENTS}"
    if fs.exists(path):
        return
    from hygge import __version__

    events = {
        "partnerName": "hygge",
        "sourceInfo": {
            "sourceType": source_type,
            "additionalInformation": {"hyggeVersion": __version__},
        },
    }
    fs.makedirs(landing)
    temporary = f"{path}.hygge-writing"  # `_` first: Fabric skips it
    with fs.open_write(temporary) as handle:
        handle.write(json.dumps(events, indent=2).encode())
    fs.move(temporary, path)

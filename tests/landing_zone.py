"""A checker of Fabric open mirroring landing zones, and a reader that applies their markers.

`check_landing_zone` holds a landing zone to the rules of Microsoft's pages "Open mirroring
landing zone requirements and format" and "Open mirroring best practices", in whatever state
a run (or a crash) left it: folders of tables (or `<schema>.schema` folders of them), every
visible file of a table a complete parquet file named by 20 digits, the numbers without a
gap, `_metadata.json` with `keyColumns` beside the first data file, `__rowMarker__` the last
column with known values, marker-free files (an initial load) only before change files, and
the optional `_partnerEvents.json` at the root naming the partner and the kind of source.
`read_mirror` is what Fabric would make of a table folder: the files in order, markers
applied by key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

MARKER = "__rowMarker__"
MARKERS = {0, 1, 2, 4}
DATA_NAME = re.compile(r"^\d{20}\.parquet$")


def visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(("_", ".")))


def table_folders(landing: Path) -> list[Path]:
    """The table folders of a landing zone, checking the zone's own layout on the way."""
    tables: list[Path] = []
    for entry in visible(landing):
        assert entry.is_dir(), f"{entry}: a landing zone holds table folders only"
        if entry.name.endswith(".schema"):
            for table in visible(entry):
                assert table.is_dir(), f"{table}: a schema folder holds table folders only"
                tables.append(table)
        else:
            tables.append(entry)
    return tables


def check_landing_zone(landing: Path) -> None:
    if landing.is_dir():
        for table in table_folders(landing):
            check_table(table)
        check_partner_events(landing / "_partnerEvents.json")


def check_partner_events(path: Path) -> None:
    """The optional events file: a JSON object naming the partner and the kind of source."""
    if not path.exists():
        return
    events = json.loads(path.read_text())
    assert isinstance(events, dict) and isinstance(events.get("partnerName"), str), events
    info = events.get("sourceInfo")
    assert isinstance(info, dict) and isinstance(info.get("sourceType"), str), events
    extra = info.get("additionalInformation", {})
    assert isinstance(extra, dict), f"{path}: additionalInformation is not an object"


def keys_of(table: Path) -> list[str]:
    metadata = json.loads((table / "_metadata.json").read_text())
    assert isinstance(metadata, dict), f"{table}/_metadata.json is not a JSON object"
    keys = metadata.get("keyColumns", [])
    assert isinstance(keys, list) and all(isinstance(k, str) for k in keys), metadata
    return keys


def check_table(table: Path) -> None:
    files = visible(table)
    for file in files:
        assert file.is_file() and DATA_NAME.match(file.name), f"{file}: not a data file name"
    if not files:
        return
    assert (table / "_metadata.json").is_file(), f"{table}: data files without _metadata.json"
    keys = keys_of(table)
    numbers = [int(file.stem) for file in files]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"gap: {numbers}"
    assert numbers[0] >= 1, f"{table}: sequence numbers start at 1"
    changes_seen = False
    for file in files:
        schema = pl.read_parquet_schema(file)  # a partial file has no footer: this fails
        names = list(schema)
        assert set(keys) <= set(names), f"{file}: key columns {keys} missing from {names}"
        if MARKER not in names:
            assert not changes_seen, f"{file}: a file without {MARKER} after change files"
            continue
        changes_seen = True
        assert names[-1] == MARKER, f"{file}: {MARKER} is not the last column of {names}"
        markers = pl.read_parquet(file, columns=[MARKER])[MARKER]
        assert markers.null_count() == 0, f"{file}: a row without a marker"
        assert set(markers.unique().to_list()) <= MARKERS, f"{file}: markers {markers.unique()}"


def read_mirror(table: Path) -> pl.DataFrame:
    """The table Fabric would mirror from this folder (no marker column)."""
    keys = keys_of(table)
    rows: pl.DataFrame | None = None
    for file in visible(table):
        frame = pl.read_parquet(file)
        if MARKER not in frame.columns:
            rows = frame if rows is None else pl.concat([rows, frame], how="diagonal_relaxed")
            continue
        for marker, part in frame.group_by(MARKER, maintain_order=True):
            part = part.drop(MARKER)
            if rows is not None and keys and marker[0] != 0:
                rows = rows.join(part.select(keys), on=keys, how="anti", nulls_equal=True)
            if marker[0] != 2:
                rows = part if rows is None else pl.concat([rows, part], how="diagonal_relaxed")
    return rows if rows is not None else pl.DataFrame()


def leftovers(table: Path) -> list[str]:
    """Staging beside the table folder and temporary files inside it."""
    beside = [p.name for p in table.parent.glob(f"_{table.name}.hygge-*")]
    inside = [p.name for p in table.glob("_*") if p.name not in ("_metadata.json", "_hygge")]
    temporary = [p.name for p in table.glob("_hygge/**/.*")]
    return sorted(beside + inside + temporary)

"""Deletions for open mirroring: rows gone from the source since its last full read.

Fabric removes a mirrored row only when a file says so (marker 2 beside its key), and hygge can
tell that a row is gone only when it reads the whole source. So with the store's `deletes`,
every run keeps the keys it landed in the table folder's `_hygge/keys/`: a full read all of
them (`<run id>.full.keys.parquet`), an incremental or merge run its own (`<run id>.keys.parquet`).
A full_drop of a table that exists then lands as changes instead of a rebuild: an upsert of
every row read, and a delete of every key landed since the last full read that it did not read.

The keys file is staged with the run's files and moves in after them (`recover()` finishes it
too); a full read's file makes the older ones useless, so they go.
"""

from __future__ import annotations

import polars as pl

from hygge.filesystem import FileSystem
from hygge.plugin import LoadRun
from hygge.stores._commits import RECORDS_FOLDER
from hygge.stores._landing import MARKER, scan_parts

KEYS = f"{RECORDS_FOLDER}/keys"
DELETES_PART = "part-zz-deletes.parquet"  # sorts after the run's other parts: lands last
_FULL = ".full.keys.parquet"
_SOME = ".keys.parquet"


def keys_name(run: LoadRun) -> str:
    return f"{run.run_id}{_FULL if run.run_type == 'full_drop' else _SOME}"


def stage_keys(fs: FileSystem, staging: str, parts: list[str], run: LoadRun, into: str) -> None:
    """Write the distinct keys of the staged parts to `into` (a full read of no rows: none)."""
    if not parts:
        return
    keys = scan_parts(fs, staging, parts).select(run.primary_key)
    with fs.open_write(into) as handle:
        keys.unique().sink_parquet(handle)


def landed_keys(fs: FileSystem, folder: str) -> pl.LazyFrame | None:
    """The keys landed since the last full read, that read's included; None: none kept."""
    names = [n for n in fs.list_names(f"{folder}/{KEYS}") if n.endswith(_SOME)]
    fulls = [i for i, name in enumerate(names) if name.endswith(_FULL)]
    chosen = names[fulls[-1] :] if fulls else names
    if not chosen:
        return None
    files = [f"{folder}/{KEYS}/{name}" for name in chosen]
    return pl.scan_parquet(files, storage_options=fs.scan_options).unique()


def stage_deletes(
    fs: FileSystem, staging: str, folder: str, run: LoadRun, schema: pl.Schema | None
) -> list[str]:
    """A part of delete rows (the key, other columns null, marker 2) for each key landed
    before that this full read did not read; [] when there is none."""
    before = landed_keys(fs, folder)
    if before is None:
        return []
    keys = list(run.primary_key)
    read = f"{staging}/{keys_name(run)}"
    if fs.exists(read):
        done = pl.scan_parquet(read, storage_options=fs.scan_options)
        gone = before.join(done, on=keys, how="anti", nulls_equal=True)
    else:
        gone = before  # a full read of no rows: every key is gone
    columns = [
        pl.col(name).cast(dtype) if name in keys else pl.lit(None, dtype).alias(name)
        for name, dtype in (schema or before.collect_schema()).items()
    ]
    rows = gone.select(*columns, pl.lit(2, pl.Int32).alias(MARKER))
    if not rows.select(pl.len()).collect().item():
        return []
    with fs.open_write(f"{staging}/{DELETES_PART}") as handle:
        rows.sink_parquet(handle)
    return [DELETES_PART]


def move_keys_in(fs: FileSystem, staging: str, folder: str) -> None:
    """Move a staged keys file into the table folder; after a full read's, drop the older."""
    for name in fs.list_names(staging):
        if name.endswith(_SOME):
            fs.makedirs(f"{folder}/{KEYS}")
            fs.move(f"{staging}/{name}", f"{folder}/{KEYS}/{name}")
    prune_keys(fs, folder)


def prune_keys(fs: FileSystem, folder: str) -> None:
    names = [n for n in fs.list_names(f"{folder}/{KEYS}") if n.endswith(_SOME)]
    fulls = [i for i, name in enumerate(names) if name.endswith(_FULL)]
    for name in names[: fulls[-1]] if fulls else []:
        fs.remove_tree(f"{folder}/{KEYS}/{name}")

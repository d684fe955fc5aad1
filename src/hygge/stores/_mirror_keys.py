"""One row per key in a run's change files, as a merge into a database keeps one.

Fabric applies the rows of a landing zone in file order, so two versions of one key in a
run would leave whichever came last, not the newest. Before the files land, the staged
parts are checked for repeated keys (one streaming aggregate); only when some repeat are
they rewritten into one part holding, per key, the rows of the greatest `version` (the
watermark), exact copies once. Versions that still differ fail the load, naming a key,
with the error a database merge gives (`_one_per_key`).
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from hygge.filesystem import FileSystem
from hygge.plugin import LoadRun
from hygge.stores._landing import scan_parts
from hygge.stores._one_per_key import SHOWN, ambiguous_versions
from hygge.stores.parquet import ParquetStoreConfig

MERGED = "part-merged.parquet"
Codec = Literal["uncompressed", "snappy", "gzip", "zstd", "lz4", "brotli"]


def one_row_per_key(
    fs: FileSystem, staging: str, parts: list[str], run: LoadRun, format: ParquetStoreConfig
) -> list[str]:
    """The staged parts after keeping one row per key (the same parts when none repeats)."""
    keys = list(run.primary_key)
    rows = scan_parts(fs, staging, parts)
    if not _repeated(rows, keys):
        return parts
    names = rows.collect_schema().names()
    if run.version is not None and run.version in names:
        newest = pl.col(run.version) == pl.col(run.version).max().over(keys)
        rows = rows.filter(newest)
    rows = rows.unique(maintain_order=True)
    still = _repeated(rows, keys)
    if still:
        raise ambiguous_versions(still, keys, run.version)
    with fs.open_write(f"{staging}/{MERGED}") as handle:
        rows.sink_parquet(handle, compression=_codec(format))
    for part in parts:
        fs.remove_tree(f"{staging}/{part}")
    return [MERGED]


def _repeated(rows: pl.LazyFrame, keys: list[str]) -> list[tuple[object, ...]]:
    """A few key values held more than once."""
    counts = rows.group_by(keys).agg(pl.len().alias("_hygge_count"))
    repeated = counts.filter(pl.col("_hygge_count") > 1).select(keys).head(SHOWN).collect()
    return list(repeated.iter_rows())


def _codec(format: ParquetStoreConfig) -> Codec:
    return "uncompressed" if format.compression == "none" else format.compression

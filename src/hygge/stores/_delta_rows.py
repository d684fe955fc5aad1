"""Reconciliation for Delta: the rows a load's commit put into the table, as its log says.

The commit is found by the run id its record carries (`_delta_record`). An append or an
overwrite counts the `numRecords` of the files the commit added (the add actions of its
version that the version before lacks); a merge rewrites files that also hold rows it did not
touch, so it counts the rows its commit metrics say it inserted and updated.
"""

from __future__ import annotations

import polars as pl
from deltalake import DeltaTable

from hygge.stores._delta_record import run_of

_SEARCHED = 20  # the newest commits searched for this run's


def committed_rows(path: str, options: dict[str, str] | None, run_id: str) -> int | None:
    """Rows the commit of run_id delivered; None when the log cannot tell (no such commit
    among the newest, files without statistics)."""
    table = DeltaTable(path, storage_options=options)
    info = next((i for i in table.history(_SEARCHED) if run_of(i) == run_id), None)
    if info is None or not isinstance(info.get("version"), int):
        return None
    if info.get("operation") == "MERGE":
        metrics = info.get("operationMetrics") or {}
        parts = [metrics.get(f"num_target_rows_{kind}") for kind in ("inserted", "updated")]
        counts = [p for p in parts if isinstance(p, int)]
        return sum(counts) if len(counts) == len(parts) else None
    version: int = info["version"]
    added = _files(DeltaTable(path, version=version, storage_options=options))
    if version > 0:
        before = _files(DeltaTable(path, version=version - 1, storage_options=options))
        added = added.join(before, on="path", how="anti")
    if added["num_records"].null_count():
        return None
    return int(added["num_records"].sum())


def _files(table: DeltaTable) -> pl.DataFrame:
    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    if actions.is_empty():
        return pl.DataFrame(schema={"path": pl.String, "num_records": pl.Int64})
    return actions.select("path", "num_records")

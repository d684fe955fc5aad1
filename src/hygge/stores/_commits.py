"""Commit records of file stores: `_hygge/commits/<run_id>.json` inside the destination.

A record names the files its load published and carries the watermark state, so that
a crash mid-publish can be rolled forward and a crash before the journal commit can be
reconciled. It also keeps the folder's columns after the load (`_file_schema`), so the next
load can be held to them. The `_` prefix keeps every reader (hygge, Spark, DuckDB globs)
away from it.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from hygge.filesystem import FileSystem
from hygge.plugin import Commit

RECORDS_FOLDER = "_hygge"
RECORDS = f"{RECORDS_FOLDER}/commits"
KEEP = 20


@dataclass(frozen=True)
class Record:
    commit: Commit
    files: tuple[str, ...]
    schema: pl.Schema | None = None  # the folder's columns after the load; None: not kept
    replacing: bool = False  # a full_drop on object storage, its old files not yet all gone


def write_record(
    fs: FileSystem,
    folder: str,
    commit: Commit,
    files: list[str],
    schema: pl.Schema | None = None,
    replacing: bool = False,
) -> None:
    """Write atomically: a reader finds the whole record or none."""
    target = f"{folder}/{RECORDS}"
    fs.makedirs(target)
    text = json.dumps(
        {
            "run_id": commit.run_id,
            "published_at": commit.published_at.isoformat(),
            "watermark": commit.watermark,
            "state": base64.b64encode(commit.state).decode() if commit.state else None,
            "files": files,
            "schema": None if schema is None else encode_schema(schema),
            "replacing": replacing,
        }
    )
    temporary = f"{target}/.{commit.run_id}.json.tmp"
    try:
        with fs.open_write(temporary) as handle:
            handle.write(text.encode())
        fs.move(temporary, f"{target}/{commit.run_id}.json")
    except OSError:
        with contextlib.suppress(OSError):
            fs.remove_tree(temporary)
        raise


def drop_record(fs: FileSystem, folder: str, run_id: str) -> None:
    """Remove the record of a load whose publish was rolled back."""
    fs.remove_tree(f"{folder}/{RECORDS}/{run_id}.json")


def read_records(fs: FileSystem, folder: str) -> list[Record]:
    """All complete records, oldest first (run ids sort by time)."""
    target = f"{folder}/{RECORDS}"
    names = [n for n in fs.list_names(target) if n.endswith(".json") and not n.startswith(".")]
    return [_read(fs, f"{target}/{name}") for name in names]


def last_commit(fs: FileSystem, folder: str) -> Commit | None:
    records = read_records(fs, folder)
    return records[-1].commit if records else None


def prune(fs: FileSystem, folder: str) -> None:
    """Keep the newest records only; older ones can no longer matter."""
    for record in read_records(fs, folder)[:-KEEP]:
        drop_record(fs, folder, record.commit.run_id)


def _read(fs: FileSystem, path: str) -> Record:
    with fs.fs.open(path, "rb") as handle:
        data = json.loads(handle.read())
    commit = Commit(
        run_id=data["run_id"],
        published_at=datetime.fromisoformat(data["published_at"]),
        watermark=data["watermark"],
        state=base64.b64decode(data["state"]) if data["state"] else None,
    )
    schema = data.get("schema")  # records of earlier versions have none
    return Record(
        commit,
        tuple(data["files"]),
        decode_schema(schema) if schema else None,
        bool(data.get("replacing")),
    )


def encode_schema(schema: pl.Schema) -> str:
    """Columns and types as text: an empty parquet file of them, in base64. Polars reads
    every type of its own back exactly from parquet, a format that outlives its versions."""
    buffer = io.BytesIO()
    pl.DataFrame(schema=schema).write_parquet(buffer)
    return base64.b64encode(buffer.getvalue()).decode()


def decode_schema(text: str) -> pl.Schema:
    return pl.Schema(pl.read_parquet_schema(io.BytesIO(base64.b64decode(text))))

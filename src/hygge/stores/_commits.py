"""Commit records of file stores: `_hygge/commits/<run_id>.json` inside the destination.

A record names the files its load published and carries the watermark state, so that
a crash mid-publish can be rolled forward and a crash before the journal commit can be
reconciled. The `_` prefix keeps every reader (hygge, Spark, DuckDB globs) away from it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from hygge.filesystem import FileSystem
from hygge.plugin import Commit

RECORDS = "_hygge/commits"
KEEP = 20


@dataclass(frozen=True)
class Record:
    commit: Commit
    files: tuple[str, ...]


def write_record(fs: FileSystem, folder: str, commit: Commit, files: list[str]) -> None:
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
        }
    )
    temporary = f"{target}/.{commit.run_id}.json.tmp"
    with fs.open_write(temporary) as handle:
        handle.write(text.encode())
    fs.move(temporary, f"{target}/{commit.run_id}.json")


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
    target = f"{folder}/{RECORDS}"
    for record in read_records(fs, folder)[:-KEEP]:
        fs.remove_tree(f"{target}/{record.commit.run_id}.json")


def _read(fs: FileSystem, path: str) -> Record:
    with fs.fs.open(path, "rb") as handle:
        data = json.loads(handle.read())
    commit = Commit(
        run_id=data["run_id"],
        published_at=datetime.fromisoformat(data["published_at"]),
        watermark=data["watermark"],
        state=base64.b64decode(data["state"]) if data["state"] else None,
    )
    return Record(commit, tuple(data["files"]))

"""hygge's commit record inside a Delta table's own log: no record file beside it.

Each commit hygge makes carries two things in the same atomic log entry as its data:
- an application transaction (the `txn` action) of app id `hygge` whose version counts the
  loads hygge published into the table (1, 2, ...): Delta keeps the newest version per app
  id in every checkpoint, so it survives log cleanup, and other engines can see it;
- the record itself (run id, published_at, watermark, state) in the commit's `commitInfo`,
  under the key `hygge`, with the version it belongs to.
`last_commit` takes the table's transaction version and finds the commitInfo of that
version: so a crash between the Delta commit and the journal's is adopted, never redone.
A record whose commit the log no longer holds (cleaned up after `delta.logRetentionDuration`,
30 days by default) is not adopted; by then the journal has long caught up.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from deltalake import CommitProperties, DeltaTable, Transaction

from hygge.plugin import Commit

APP_ID = "hygge"
KEY = "hygge"
_SEARCHED = (20, None)  # commits read back for the record: the newest few, then all


def commit_properties(table: DeltaTable | None, commit: Commit) -> CommitProperties:
    """The app transaction and the record of commit, for the commit that publishes it."""
    version = (published_version(table) or 0) + 1
    record = {
        "version": version,
        "run_id": commit.run_id,
        "published_at": commit.published_at.isoformat(),
        "watermark": commit.watermark,
        "state": base64.b64encode(commit.state).decode() if commit.state else None,
    }
    return CommitProperties(
        custom_metadata={KEY: json.dumps(record)},
        app_transactions=[Transaction(APP_ID, version)],
    )


def published_version(table: DeltaTable | None) -> int | None:
    return None if table is None else table.transaction_version(APP_ID)


def last_commit(table: DeltaTable | None) -> Commit | None:
    """The record of the newest load hygge published into table; None when none is found."""
    version = published_version(table)
    if table is None or version is None:
        return None
    for limit in _SEARCHED:
        for info in table.history(limit):
            record = _record(info)
            if record is not None and record.get("version") == version:
                return _commit(record)
    return None


def run_of(info: dict[str, Any]) -> str | None:
    """The run id of the hygge record in a commit's info; None when it has none."""
    record = _record(info)
    run = None if record is None else record.get("run_id")
    return run if isinstance(run, str) else None


def _record(info: dict[str, Any]) -> dict[str, Any] | None:
    text = info.get(KEY)
    if not isinstance(text, str):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _commit(record: dict[str, Any]) -> Commit:
    state = record.get("state")
    return Commit(
        run_id=record["run_id"],
        published_at=datetime.fromisoformat(record["published_at"]),
        watermark=record.get("watermark"),
        state=base64.b64decode(state) if state else None,
    )

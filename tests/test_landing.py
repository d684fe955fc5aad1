"""A landing folder read with `new_files_only`: each file once, changed files again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import read_lake
from tests.proc import run

FLOW = """\
home: {type: csv, path: landing, new_files_only: true}
store: {type: parquet, path: lake}
"""


@pytest.fixture
def landing(make_project) -> Path:
    root = make_project({"flows/events/flow.yml": FLOW})
    (root / "landing").mkdir()
    drop(root, "a.csv", [1, 2])
    drop(root, "b.csv", [3])
    return root


def drop(root: Path, name: str, ids: list[int]) -> None:
    path = root / "landing" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"id": ids}).write_csv(path)


def go(hygge_cli, root: Path, *args: str) -> dict:
    result = hygge_cli("go", "--json", *args, cwd=root)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["entities"][0]


def lake_ids(root: Path) -> list[int]:
    return sorted(read_lake(root / "lake")["id"].to_list())


def test_each_file_is_read_once_and_changed_files_again(landing: Path, hygge_cli) -> None:
    first = go(hygge_cli, landing)
    assert (first["run_type"], first["rows"]) == ("incremental", 3)

    assert go(hygge_cli, landing)["rows"] == 0
    drop(landing, "2026/c.csv", [4, 5])
    new_file = go(hygge_cli, landing)
    assert new_file["rows"] == 2 and not new_file["warnings"]
    drop(landing, "b.csv", [3, 6])  # the file changed: read again, whole, and said so
    changed = go(hygge_cli, landing)
    assert changed["rows"] == 2
    assert any("b.csv" in w and "twice" in w for w in changed["warnings"]), changed
    (landing / "landing/a.csv").unlink()
    assert go(hygge_cli, landing)["rows"] == 0

    assert lake_ids(landing) == [1, 2, 3, 3, 4, 5, 6]


def test_a_file_landing_with_an_old_modification_time_is_still_read(
    landing: Path, hygge_cli
) -> None:
    go(hygge_cli, landing)
    drop(landing, "late.csv", [9])
    os.utime(landing / "landing/late.csv", ns=(1_000_000_000, 1_000_000_000))  # e.g. mv, rsync -a

    assert go(hygge_cli, landing)["rows"] == 1
    assert lake_ids(landing) == [1, 2, 3, 9]


def test_full_drop_rereads_every_file_and_history_shows_the_newest(
    landing: Path, hygge_cli
) -> None:
    go(hygge_cli, landing)
    assert go(hygge_cli, landing, "-d")["rows"] == 3
    assert lake_ids(landing) == [1, 2, 3]
    history = json.loads(hygge_cli("history", "--json", cwd=landing).stdout)
    assert history[0]["watermark_after"]  # the newest file's modification time


def test_a_crash_after_publish_does_not_read_the_files_again(landing: Path) -> None:
    assert run(landing, "go").returncode == 0
    drop(landing, "c.csv", [4])
    assert run(landing, "go", env={"HYGGE_FAILPOINT": "after_publish"}).returncode == 99

    assert run(landing, "go").returncode == 0
    assert lake_ids(landing) == [1, 2, 3, 4]


def test_a_watermark_and_new_files_only_do_not_mix(make_project, hygge_cli) -> None:
    root = make_project({"flows/events/flow.yml": FLOW + "watermark: {column: id}\n"})
    (root / "landing").mkdir()
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 2
    assert "new_files_only and a watermark" in result.stderr


def test_a_backfill_needs_a_watermark(landing: Path, hygge_cli) -> None:
    backfill = hygge_cli("go", "--entity", "events.events", "--from", "1", cwd=landing)
    assert backfill.exit_code == 2
    assert "--from/--to need a watermark, which events.events has not" in backfill.stderr

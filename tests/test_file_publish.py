"""File stores publish all or nothing, and only into what is theirs: a folder of someone else's
files is not swapped away, a folder hygge cannot write fails before anything moves, and a
publish that fails half-way is rolled back or finished, never recorded as done.

Permission tests run hygge without root's capabilities (tests/proc.py: unprivileged), since
root ignores file modes.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import data_files, read_lake
from tests.proc import finish, run, start_paused, unprivileged

FULL_DROP = """\
home: {type: parquet, path: data/orders}
store: {type: parquet, path: lake/orders}
run_type: full_drop
"""
INCREMENTAL = """\
home: {type: parquet, path: data/orders}
store: {type: parquet, path: lake/orders, file_rows: 1}
watermark: {column: id}
"""


def add_orders(root: Path, name: str, ids: list[int]) -> None:
    folder = root / "data/orders"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"id": ids}).write_parquet(folder / f"{name}.parquet")


def ids(root: Path) -> list[int]:
    return sorted(read_lake(root / "lake/orders")["id"].to_list())


def records(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "lake/orders/_hygge/commits").iterdir())


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "lake").iterdir() if p.name.startswith("."))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def lake(make_project, request: pytest.FixtureRequest) -> Path:
    """A project whose lake holds orders 1-3 from one good run (flow: the test's param)."""
    root = make_project({"flows/orders/flow.yml": request.param})
    add_orders(root, "a", [1, 2, 3])
    first = run(root, "go")
    assert first.returncode == 0, first.stderr
    return root


# --- someone else's folder ----------------------------------------------------------------


def test_a_full_drop_does_not_swap_away_a_folder_of_foreign_files(make_project) -> None:
    root = make_project({"flows/orders/flow.yml": FULL_DROP})
    add_orders(root, "a", [1, 2])
    mine = root / "lake/orders"
    (mine / "a").mkdir(parents=True)
    (mine / "a/Q3-figures.xlsx").write_bytes(b"quarterly figures")
    (mine / "notes.txt").write_text("do not delete")
    before = snapshot(mine)

    refused = run(root, "go")

    assert refused.returncode == 1, refused.stdout
    assert "hygge did not write (notes.txt, a/Q3-figures.xlsx)" in refused.stdout
    assert "overwrite_foreign: true" in refused.stdout
    assert snapshot(mine) == before
    flow = root / "flows/orders/flow.yml"
    flow.write_text(FULL_DROP.replace("lake/orders}", "lake/orders, overwrite_foreign: true}"))
    replaced = run(root, "go")
    assert replaced.returncode == 0, replaced.stdout
    assert ids(root) == [1, 2] and not (mine / "notes.txt").exists()


@pytest.mark.parametrize("lake", [FULL_DROP], indirect=True)
def test_a_folder_hygge_published_to_is_replaced_as_before(lake: Path) -> None:
    (lake / "lake/orders/notes.txt").write_text("dropped in by hand")
    add_orders(lake, "b", [4])

    result = run(lake, "go")

    assert result.returncode == 0, result.stdout
    assert ids(lake) == [1, 2, 3, 4]


# --- folders hygge cannot write -----------------------------------------------------------


@pytest.mark.parametrize("lake", [FULL_DROP, INCREMENTAL], indirect=True)
def test_an_unwritable_destination_fails_before_anything_moves(lake: Path) -> None:
    add_orders(lake, "b", [4])
    destination = lake / "lake/orders"
    before = snapshot(destination)
    destination.chmod(0o555)
    try:
        failed = run(lake, "go", prefix=unprivileged())
        again = run(lake, "go", prefix=unprivileged())
    finally:
        destination.chmod(0o755)

    for result in (failed, again):
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"{destination} is not writable" in result.stdout
    assert snapshot(destination) == before  # no file, no record
    assert leftovers(lake) == []
    fixed = run(lake, "go")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert ids(lake) == [1, 2, 3, 4]


@pytest.mark.parametrize("lake", [FULL_DROP], indirect=True)
def test_a_swap_whose_old_copy_turned_read_only_still_publishes_and_cleans(
    lake: Path, tmp_path: Path
) -> None:
    """The destination turns read-only after the checks: the swap still happens, and the old
    copy it leaves beside the destination is removed (then or by the next run)."""
    add_orders(lake, "b", [4])
    marker = tmp_path / "paused"
    prefix = unprivileged()
    runner = start_paused(lake, marker, "go", point="before_publish", prefix=prefix)
    (lake / "lake/orders").chmod(0o555)
    marker.unlink()
    status, out, err = finish(runner)

    assert status == 0, out + err
    assert ids(lake) == [1, 2, 3, 4]
    rerun = run(lake, "go", prefix=prefix)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert leftovers(lake) == []


@pytest.mark.parametrize("lake", [FULL_DROP], indirect=True)
def test_recovery_removes_a_read_only_leftover_of_an_earlier_run(lake: Path) -> None:
    """An earlier version swapped a read-only copy out and could not remove it: every later
    run failed removing it. Recovery makes it removable and removes it."""
    leftover = lake / "lake/.orders.hygge-20260101T000000000000-0badf00d"
    (leftover / "_hygge").mkdir(parents=True)
    (leftover / "old-00001.parquet").write_bytes(b"old copy")
    for folder in (leftover / "_hygge", leftover):
        folder.chmod(0o555)

    result = run(lake, "go", prefix=unprivileged())

    assert result.returncode == 0, result.stdout + result.stderr
    assert leftovers(lake) == []
    assert ids(lake) == [1, 2, 3]


# --- a publish that fails half-way --------------------------------------------------------


@pytest.mark.parametrize("lake", [INCREMENTAL], indirect=True)
def test_a_publish_that_cannot_move_its_files_leaves_no_record(lake: Path, tmp_path: Path) -> None:
    """The folder turns read-only after the checks: the publish fails, its record goes with
    it, and the next run loads the new rows (an adopted record skipped them for good)."""
    add_orders(lake, "b", [4, 5])
    before = records(lake)
    marker = tmp_path / "paused"
    prefix = unprivileged()
    runner = start_paused(lake, marker, "go", point="before_publish", prefix=prefix)
    (lake / "lake/orders").chmod(0o555)
    marker.unlink()
    status, out, err = finish(runner)
    (lake / "lake/orders").chmod(0o755)

    assert status == 1, out + err
    assert "cannot publish" in out
    assert records(lake) == before
    assert leftovers(lake) == []
    rerun = run(lake, "go", prefix=prefix)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert ids(lake) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("lake", [INCREMENTAL], indirect=True)
def test_a_move_that_fails_half_way_is_rolled_back(lake: Path, tmp_path: Path) -> None:
    """The second file vanishes from the staging mid-publish: the first goes back out of
    the destination, the record goes, and the next run reads those rows again."""
    add_orders(lake, "b", [4, 5])
    before = (data_files(lake / "lake/orders"), records(lake))
    marker = tmp_path / "paused"
    runner = start_paused(lake, marker, "go", point="mid_publish")
    staging = next(p for p in (lake / "lake").iterdir() if p.name.startswith("."))
    for file in staging.glob("*.parquet"):
        file.unlink()
    marker.unlink()
    status, out, err = finish(runner)

    assert status == 1, out + err
    assert "cannot publish" in out
    assert (data_files(lake / "lake/orders"), records(lake)) == before
    rerun = run(lake, "go")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert ids(lake) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("lake", [INCREMENTAL], indirect=True)
def test_a_move_that_fails_and_cannot_be_rolled_back_is_finished_by_the_next_run(
    lake: Path, tmp_path: Path
) -> None:
    """Half the files are in when the folder turns read-only: neither the rest nor the way
    back can move. The record and the staging stay; the next run that can write finishes."""
    add_orders(lake, "b", [4, 5])
    marker = tmp_path / "paused"
    prefix = unprivileged()
    runner = start_paused(lake, marker, "go", point="mid_publish", prefix=prefix)
    (lake / "lake/orders").chmod(0o555)
    marker.unlink()
    status, out, err = finish(runner)
    (lake / "lake/orders").chmod(0o755)

    assert status == 1, out + err
    assert "the next run finishes it" in out
    rerun = run(lake, "go", prefix=prefix)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert ids(lake) == [1, 2, 3, 4, 5]
    assert leftovers(lake) == []

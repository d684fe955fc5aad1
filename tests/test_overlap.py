"""Overlapping runs, in real processes held at failpoints (no sleeps as synchronisation)."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from hygge.locks import entity_lock
from tests.conftest import read_lake
from tests.proc import finish, go_beside_a_paused_go, history, run, start, start_paused, wait_for

FLOW = """\
home: {type: parquet, path: "data/{entity}"}
store: {type: parquet, path: lake, file_rows: 50}
batch_rows: 20
entities:
  - {name: a, run_type: full_drop}
  - {name: b, run_type: full_drop}
  - {name: c, primary_key: [id], watermark: {column: id}}
  - {name: d, primary_key: [id], watermark: {column: id}}
"""


@pytest.fixture
def project(make_project) -> Path:
    root = make_project({"flows/f/flow.yml": FLOW})
    for name in "abcd":
        write(root, name, range(100))
    return root


def write(root: Path, name: str, ids: range) -> pl.DataFrame:
    frame = pl.DataFrame({"id": list(ids), "name": [f"{name}{i}" for i in ids]})
    folder = root / "data" / name
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / f"{ids.start}.parquet")
    return frame


def source(root: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(sorted((root / "data" / name).glob("*.parquet"))).sort("id")


def runs_of(root: Path, entity: str, status: str = "success") -> list[dict]:
    return [h for h in history(root) if h["entity"] == entity and h["status"] == status]


def span(record: dict) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(record["started_at"]), datetime.fromisoformat(record["ended_at"])


def test_disjoint_entities_run_side_by_side(project: Path, tmp_path: Path) -> None:
    held = start_paused(project, tmp_path / "a", "go", "--entity", "f.a")

    other = run(project, "go", "--entity", "f.b")
    (tmp_path / "a").unlink()
    code, _, err = finish(held)

    assert other.returncode == 0, other.stderr
    assert code == 0, err
    (a_start, a_end), (b_start, b_end) = (
        span(runs_of(project, "f.a")[0]),
        span(runs_of(project, "f.b")[0]),
    )
    assert a_start < b_end and b_start < a_end  # the two entity runs overlapped in time


def test_the_same_entity_is_skipped_with_its_holder_named_or_waited_for(
    project: Path, tmp_path: Path
) -> None:
    held = start_paused(project, tmp_path / "a", "go", "--entity", "f.a", "--json")

    skipped = run(project, "go", "--entity", "f.a,f.b")
    waiting = start(project, "go", "--entity", "f.a", "--wait", "60", "--json")
    locks = run(project, "locks", "--json")
    (tmp_path / "a").unlink()
    held_code, held_out, _ = finish(held)
    waited_code, waited_out, _ = finish(waiting)

    assert skipped.returncode == 75, skipped.stdout + skipped.stderr
    holder_run = json.loads(held_out)["run_id"]
    assert f"held by pid {held.pid}" in skipped.stdout and holder_run in skipped.stdout
    assert [lock["run_id"] for lock in json.loads(locks.stdout)] == [holder_run]
    assert (held_code, waited_code) == (0, 0)
    first, second = sorted(runs_of(project, "f.a"), key=lambda r: r["started_at"])
    assert first["run_id"] == holder_run and second["run_id"] == json.loads(waited_out)["run_id"]
    assert span(second)[0] >= span(first)[1]


def test_a_killed_holder_frees_its_entity_at_once(project: Path, tmp_path: Path) -> None:
    assert run(project, "go", "--entity", "f.a").returncode == 0
    write(project, "a", range(100, 300))
    held = start_paused(project, tmp_path / "a", "go", "--entity", "f.a")

    held.kill()
    held.wait()
    after = run(project, "go", "--entity", "f.a")

    assert after.returncode == 0, after.stdout + after.stderr
    assert read_lake(project / "lake/a").sort("id").equals(source(project, "a"))
    assert [p.name for p in (project / "lake").iterdir() if p.name.startswith(".")] == []
    assert "interrupted" in [h["status"] for h in history(project) if h["entity"] == "f.a"]


def test_a_forked_child_does_not_keep_its_parents_lock(tmp_path: Path) -> None:
    ready, forked = tmp_path / "ready", tmp_path / "forked"
    script = textwrap.dedent(
        f"""
        import os, time
        from pathlib import Path
        from hygge.locks import Holder, entity_lock
        lock = entity_lock(Path({str(tmp_path)!r}), "f.a")
        assert lock.try_acquire(Holder.me("run", "test"))
        child = os.fork()
        if child == 0:  # fork has returned here, so the at-fork handlers have run
            Path({str(forked)!r}).write_text("")
            time.sleep(120)
            os._exit(0)
        Path({str(ready)!r}).write_text(str(child))
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    wait_for(ready, parent)
    wait_for(forked, parent)  # else the check below could run before the child did
    child = int(ready.read_text())
    lock = entity_lock(tmp_path, "f.a")
    try:
        assert lock.is_held()
        parent.kill()
        parent.wait()
        os.kill(child, 0)  # the forked child still lives...
        assert not lock.is_held()  # ...but the lock died with its parent
    finally:
        os.kill(child, signal.SIGKILL)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_cleanly(signum: int, code: int, project: Path, tmp_path: Path) -> None:
    assert run(project, "go", "--entity", "f.a").returncode == 0
    old = source(project, "a")
    write(project, "a", range(100, 300))
    held = start_paused(project, tmp_path / "a", "go", "--entity", "f.a", "--json")

    held.send_signal(signum)  # the main thread takes it at once: workers block signals
    (tmp_path / "a").unlink()
    exit_code, out, err = finish(held)

    assert exit_code == code, err
    statuses = {e["entity"]: e["status"] for e in json.loads(out)["entities"]}
    assert statuses["f.a"] == "interrupted"
    assert read_lake(project / "lake/a").sort("id").equals(old)
    assert [p.name for p in (project / "lake").iterdir() if p.name.startswith(".")] == []
    assert not entity_lock(project, "f.a").is_held()
    assert "interrupted" in [h["status"] for h in history(project) if h["entity"] == "f.a"]


def test_two_entities_writing_one_destination_are_refused(make_project) -> None:
    flow = FLOW.replace("{name: b, run_type: full_drop}", "{name: b, store: {path: lake/a/x}}")
    root = make_project({"flows/f/flow.yml": flow})
    for name in "abcd":
        write(root, name, range(3))
    result = run(root, "go")
    assert result.returncode == 2
    assert "f.a and f.b write the same destination" in result.stderr


def test_exclusive_projects_run_one_coordinator_at_a_time(make_project, tmp_path: Path) -> None:
    root = make_project(
        {"hygge.yml": "name: t\noptions: {exclusive: true}\n", "flows/f/flow.yml": FLOW}
    )
    for name in "abcd":
        write(root, name, range(10))
    held = start_paused(root, tmp_path / "a", "go", "--entity", "f.a")

    other = run(root, "go", "--entity", "f.b")
    (tmp_path / "a").unlink()
    assert finish(held)[0] == 0

    assert other.returncode == 75
    assert f"held by pid {held.pid}" in other.stdout


def test_eight_processes_on_random_selections(project: Path) -> None:
    chooser = random.Random(20261127)
    names = "abcd"
    for name in "cd":
        write(project, name, range(100, 150))
    runs = [
        start(
            project,
            "go",
            "--json",
            "--entity",
            ",".join(f"f.{n}" for n in chooser.sample(names, k=chooser.randint(1, 4))),
        )
        for _ in range(8)
    ]
    outcomes = [finish(p) for p in runs]

    for code, out, err in outcomes:
        assert code in (0, 75), err
        assert {e["status"] for e in json.loads(out)["entities"]} <= {"success", "skipped"}
    for name in names:
        assert read_lake(project / "lake" / name).sort("id").equals(source(project, name))
        spans = sorted(span(r) for r in runs_of(project, f"f.{name}"))
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


@pytest.mark.parametrize("spelling", ["shared-lake", "alias", "one/../shared-lake"])
def test_two_projects_cannot_write_one_folder_at_once(spelling: str, tmp_path: Path) -> None:
    """Also when the second spells the folder through a symlink or `..`."""
    (tmp_path / "shared-lake").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "shared-lake")
    roots = []
    for name in ("one", "two"):
        root = tmp_path / name
        (root / "flows/orders").mkdir(parents=True)
        (root / "hygge.yml").write_text(f"name: {name}\n")
        shared = tmp_path / ("shared-lake" if name == "one" else spelling) / "orders"
        flow = f"home: {{type: parquet, path: data}}\nstore: {{type: parquet, path: {shared}}}\n"
        (root / "flows/orders/flow.yml").write_text(flow + "batch_rows: 10\n")
        (root / "data").mkdir()
        pl.DataFrame({"id": range(50)}).write_parquet(root / "data/x.parquet")
        roots.append(root)
    held_pid, held_code, other = go_beside_a_paused_go(roots[0], roots[1], tmp_path / "one-paused")

    assert held_code == 0
    assert other.returncode == 75, other.stdout + other.stderr
    assert f"held by pid {held_pid}" in other.stdout

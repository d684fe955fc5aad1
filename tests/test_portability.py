"""What macOS and Windows lack, forced on Linux: no renameat2 (the two-step folder swap, with
a real process crashing at each step), no fork, no O_CLOEXEC, no signal masks."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hygge
from hygge import folder_swap
from tests.conftest import read_lake
from tests.proc import run
from tests.test_processes import FLOW, hidden_leftovers, write_orders

TWO_STEP = {"HYGGE_FOLDER_SWAP": "two-step"}
POSIX_ONLY = {"fcntl", "termios", "pwd", "grp", "resource", "posix"}


def test_no_module_imports_what_windows_lacks() -> None:
    """The locks come from portalocker, which picks the platform's own call."""
    found = []
    for path in Path(hygge.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in POSIX_ONLY]
    assert found == []


def test_locks_and_swaps_work_without_fork_cloexec_or_renameat2(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        del os.fork, os.register_at_fork, os.O_CLOEXEC  # Windows has none of them
        import hygge.folder_swap
        hygge.folder_swap._renameat2 = lambda: None  # nor renameat2, as macOS
        from hygge.folder_swap import swap
        from hygge.locks import FileLock, Holder
        root = Path({str(tmp_path)!r})
        lock, other = FileLock(root / "a.lock"), FileLock(root / "a.lock")
        assert lock.try_acquire(Holder.me("run", "test"))
        assert not other.try_acquire(Holder.me("other", "test")) and other.is_held()
        lock.release()
        assert not other.is_held()
        (root / "old").mkdir(); (root / "old/v1").touch()
        (root / "new").mkdir(); (root / "new/v2").touch()
        swap(str(root / "new"), str(root / "old"))
        print(sorted(p.name for p in root.iterdir()), os.listdir(root / "old"))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['a.lock',", "'a.lock.holder',", "'new',", "'old']", "['v2']"]
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["v1"]  # the old copy, to remove


def test_hygge_go_runs_without_fork_cloexec_signal_masks_or_renameat2(make_project) -> None:
    root = make_project({"flows/orders/flow.yml": FLOW})
    frame = write_orders(root, 1)
    script = textwrap.dedent(
        """
        import os, signal
        del os.fork, os.register_at_fork, os.O_CLOEXEC, signal.pthread_sigmask  # not on Windows
        import hygge.folder_swap
        hygge.folder_swap._renameat2 = lambda: None  # and renameat2, as macOS
        from hygge.cli import main
        main(["go", "--concurrency", "2"])
        """
    )
    for _ in range(2):  # the second run swaps a folder that exists
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "1 passed, 0 failed" in done.stdout
    assert read_lake(root / "lake/orders").sort("id").equals(frame)
    assert hidden_leftovers(root) == []


def test_a_swap_the_filesystem_refuses_falls_back_to_two_steps(tmp_path: Path, monkeypatch) -> None:
    """A kernel or filesystem without RENAME_EXCHANGE answers EINVAL: the two steps run."""
    monkeypatch.setattr(folder_swap, "_renameat2", lambda: refusing)
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake/old.parquet").touch()
    (tmp_path / ".lake.hygge-run").mkdir()
    (tmp_path / ".lake.hygge-run/new.parquet").touch()

    folder_swap.swap(str(tmp_path / ".lake.hygge-run"), str(tmp_path / "lake"))

    assert [p.name for p in (tmp_path / "lake").iterdir()] == ["new.parquet"]
    assert [p.name for p in (tmp_path / ".lake.hygge-run").iterdir()] == ["old.parquet"]
    assert not (tmp_path / ".lake.hygge-aside").exists()


def refusing(*_: object) -> int:
    import ctypes
    import errno

    ctypes.set_errno(errno.EINVAL)
    return -1


@pytest.mark.parametrize(
    ("point", "survivor"),
    [("before_publish", 1), ("swap_aside", 1), ("swap_in", 2), ("after_swap", 2)],
)
def test_a_crash_at_each_step_of_the_two_step_swap_leaves_old_or_new(
    point: str, survivor: int, make_project
) -> None:
    root = make_project({"flows/orders/flow.yml": FLOW})
    write_orders(root, 1)
    assert run(root, "go", env=TWO_STEP).returncode == 0
    new = write_orders(root, 2)

    crashed = run(root, "go", env={**TWO_STEP, "HYGGE_FAILPOINT": point})

    assert crashed.returncode == 99, crashed.stderr
    if point == "swap_aside":  # between the renames: no folder, the old copy waits aside
        assert not (root / "lake/orders").exists()
        aside = read_lake(root / "lake/.orders.hygge-aside")
        assert aside["version"].unique().to_list() == [1]
    # the next run's recovery comes first: stopped right after it, the survivor is whole
    recovered = run(root, "go", env={**TWO_STEP, "HYGGE_FAILPOINT": "after_batch"})
    assert recovered.returncode == 99, recovered.stderr
    seen = read_lake(root / "lake/orders")
    assert seen["version"].unique().to_list() == [survivor] and seen.height == 1000

    rerun = run(root, "go", env=TWO_STEP)

    assert rerun.returncode == 0, rerun.stderr
    assert read_lake(root / "lake/orders").sort("id").equals(new)
    assert hidden_leftovers(root) == []

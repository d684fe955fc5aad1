"""Lock folders hygge cannot use: a clear error (exit 2), no traceback, an honest journal.

The permission cases run hygge as `nobody` when the tests run as root (root ignores modes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from hygge.journal import open_journal
from tests.conftest import read_lake
from tests.proc import run

FLOW = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake/x}\n"


def write_project(root: Path) -> Path:
    (root / "flows/f").mkdir(parents=True)
    (root / "hygge.yml").write_text("name: locks\n")
    (root / "flows/f/flow.yml").write_text(FLOW)
    (root / "data").mkdir()
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(root / "data/x.parquet")
    return root


def run_statuses(root: Path) -> list[str]:
    with open_journal(root) as journal:
        return [r.status for r in journal.runs()]


def assert_refused_cleanly(result: subprocess.CompletedProcess, folder: Path, root: Path) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"lock folder {folder}" in result.stderr and "hint:" in result.stderr
    assert run_statuses(root) == ["failed"]
    assert not (root / "lake").exists()


def test_a_file_where_the_project_lock_folder_belongs(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project")
    (root / ".hygge").mkdir()
    (root / ".hygge/locks").write_text("not a folder")

    result = run(root, "go")

    assert_refused_cleanly(result, root / ".hygge/locks", root)
    assert "not a folder" in result.stderr


def test_a_file_as_hygge_lock_dir(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project")
    not_a_folder = tmp_path / "locks-file"
    not_a_folder.write_text("")

    result = run(root, "go", env={"HYGGE_LOCK_DIR": str(not_a_folder)})

    assert_refused_cleanly(result, not_a_folder, root)
    assert "HYGGE_LOCK_DIR" in result.stderr


def give_to_nobody(*paths: Path) -> None:
    """Hand the files to the unprivileged user (when we are root; else they are ours)."""
    if os.geteuid() != 0:
        return
    for top in paths:
        for path in [top, *top.rglob("*")]:
            shutil.chown(path, "nobody", "nogroup")


def run_unprivileged(root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`hygge ARGS` as `nobody` when we are root (as ourselves otherwise).

    It keeps CAP_DAC_READ_SEARCH only, to reach the interpreter (under /root, mode 0700, here)
    and pytest's tmp_path: it may read anything and write only what the modes allow it.
    """
    drop = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    drop += ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--"]
    command = [sys.executable, "-m", "hygge", *args]
    return subprocess.run(
        drop + command if os.geteuid() == 0 else command,
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unwritable_project_lock_folder(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project")
    machine = tmp_path / "machine-locks"
    machine.mkdir()
    locks = root / ".hygge/locks"
    locks.mkdir(parents=True)
    give_to_nobody(root, machine)
    locks.chmod(0o555)

    result = run_unprivileged(root, "go", env={"HYGGE_LOCK_DIR": str(machine)})

    assert_refused_cleanly(result, locks, root)
    assert "not writable" in result.stderr


def test_an_unwritable_hygge_lock_dir(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project")
    machine = tmp_path / "machine-locks"
    machine.mkdir()
    give_to_nobody(root, machine)
    machine.chmod(0o555)

    result = run_unprivileged(root, "go", env={"HYGGE_LOCK_DIR": str(machine)})

    assert_refused_cleanly(result, machine, root)
    assert "not writable" in result.stderr and "HYGGE_LOCK_DIR" in result.stderr


def test_another_users_lock_file_fails_its_entity_only(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project")
    flow = FLOW.replace("lake/x", '"lake/{entity}"') + "entities: [a, b]\n"
    (root / "flows/f/flow.yml").write_text(flow)
    for name in "ab":  # the home folder `data` holds one sub-folder per entity
        (root / "data" / name).mkdir()
        pl.DataFrame({"id": [1, 2, 3]}).write_parquet(root / f"data/{name}/x.parquet")
    machine = tmp_path / "machine-locks"
    locks = root / ".hygge/locks"
    locks.mkdir(parents=True)
    machine.mkdir()
    give_to_nobody(root, machine)
    (locks / "f.b.lock").write_text("")  # root's, mode 0644: nobody may not open it to write
    (locks / "f.b.lock").chmod(0o444)

    result = run_unprivileged(root, "go", env={"HYGGE_LOCK_DIR": str(machine)})

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"cannot open lock file {locks / 'f.b.lock'}" in result.stdout
    assert read_lake(root / "lake/a").height == 3
    assert not (root / "lake/b").exists()
    assert run_statuses(root) == ["failed"]


def test_hygge_locks_reads_another_users_lock_files(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project")
    locks = root / ".hygge/locks"
    locks.mkdir(parents=True)
    give_to_nobody(root)
    (locks / "f.f.lock").write_text("")  # root's, read-only to others
    (locks / "f.f.lock").chmod(0o444)

    result = run_unprivileged(root, "locks", env={})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 held" in result.stdout

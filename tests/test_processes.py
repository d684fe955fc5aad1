"""Real processes: the README's demo command, crashes at failpoints, and Ctrl-C."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import read_lake
from tests.proc import run

REPO = Path(__file__).resolve().parents[1]
FLOW = """\
home: {type: parquet, path: data/orders}
store: {type: parquet, path: lake/orders, file_rows: 250}
run_type: full_drop
batch_rows: 100
"""


def hygge(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hygge", *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_orders(root: Path, version: int, rows: int = 1000) -> pl.DataFrame:
    frame = pl.DataFrame({"id": range(rows), "version": [version] * rows})
    folder = root / "data/orders"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    frame.write_parquet(folder / "part.parquet")
    return frame


def hidden_leftovers(root: Path) -> list[str]:
    return [p.name for p in (root / "lake").iterdir() if p.name.startswith(".")]


def test_make_demo_runs_the_sample_project(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    result = subprocess.run(
        ["make", "-s", "demo", f"VENV={sys.prefix}", f"DEMO={demo}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed, 0 failed, 0 skipped" in result.stdout
    assert read_lake(demo / "lake/shop/orders").height == 4000


@pytest.mark.parametrize(
    ("point", "survivor"),
    [("after_batch", 1), ("before_publish", 1), ("after_swap", 2), ("after_publish", 2)],
)
def test_full_drop_crash_leaves_old_or_new_and_rerun_recovers(
    point: str, survivor: int, make_project
) -> None:
    root = make_project({"flows/orders/flow.yml": FLOW})
    write_orders(root, 1)
    assert run(root, "go").returncode == 0
    new = write_orders(root, 2)

    crashed = run(root, "go", env={"HYGGE_FAILPOINT": point})

    assert crashed.returncode == 99, crashed.stderr
    seen = read_lake(root / "lake/orders")
    assert seen["version"].unique().to_list() == [survivor]
    assert seen.height == 1000

    rerun = run(root, "go")

    assert rerun.returncode == 0, rerun.stderr
    assert read_lake(root / "lake/orders").sort("id").equals(new)
    assert hidden_leftovers(root) == []

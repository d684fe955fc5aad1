"""Shared fixtures: write small projects into tmp_path and run the CLI on them; the session's
PostgreSQL and MariaDB servers (tests/pg.py, tests/mariadb.py), started by the first test
that needs one."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

import hygge
from hygge.cli import main
from tests.azurite import azurite, azurite_throttled  # noqa: F401  (session fixtures)
from tests.gcs import gcs, gcs_throttled  # noqa: F401  (session fixtures)
from tests.mariadb import mariadb_url  # noqa: F401  (a session fixture)
from tests.pg import postgres_url  # noqa: F401  (a session fixture)
from tests.s3 import (  # noqa: F401  (session fixtures)
    s3_counted,
    s3_locked,
    s3_server,
    s3_throttled,
)

if TYPE_CHECKING:
    from tests.engines import Engine

ProjectMaker = Callable[[dict[str, str]], Path]
EngineProject = Callable[..., tuple[Path, str]]
PARQUET = "{type: parquet, path: data/x.parquet}"  # a project's default home

# CI runs the same examples every time (a red CI must be reproducible); locally hypothesis
# explores new ones on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectMaker:
    """Write {relative path: YAML text} under tmp_path/project; hygge.yml gets a default."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "project"
        files = {"hygge.yml": "name: test\n", **files}
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        (root / "flows").mkdir(exist_ok=True)
        return root

    return make


@pytest.fixture
def project(
    engine: Engine, make_project: ProjectMaker, monkeypatch: pytest.MonkeyPatch
) -> EngineProject:
    """make(extra, home=PARQUET, store=None, table=None, pool_size=2) -> (root, table): a
    project of one flow `x` (plus `extra` lines) whose store is table of the module's `engine`
    (a table of its own unless named), its connection `db` reading the environment."""
    for name, value in engine.env.items():
        monkeypatch.setenv(name, value)

    def make(
        extra: str,
        home: str = PARQUET,
        store: str | None = None,
        table: str | None = None,
        pool_size: int = 2,
    ) -> tuple[Path, str]:
        table = table or "r_" + os.urandom(6).hex()
        flow = f"home: {home}\nstore: {store or engine.store_yaml(table)}\n{extra}"
        root = make_project({"hygge.yml": engine.hygge_yml(pool_size), "flows/x/flow.yml": flow})
        (root / "data").mkdir(exist_ok=True)
        return root, table

    return make


@pytest.fixture
def hygge_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `hygge ARGS` in folder cwd through Click's runner (stdout and stderr kept apart)."""

    def run(*args: str, cwd: Path) -> Result:
        monkeypatch.chdir(cwd)
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def data_files(folder: Path) -> list[str]:
    """Names of the data files a reader sees in a destination folder (not _hygge/ records)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(("_", ".")))


def lake_snapshot(root: Path) -> dict[str, bytes]:
    """Every data file a reader of root/lake could see, by relative path, with its bytes."""
    lake = root / "lake"
    return {
        str(path.relative_to(lake)): path.read_bytes()
        for path in sorted(lake.rglob("*"))
        if path.is_file() and "_hygge" not in path.parts
    }


def read_lake(folder: Path) -> pl.DataFrame:
    """Everything a reader of a parquet destination folder would see."""
    return pl.read_parquet(sorted(folder.glob("*.parquet")))


def run_ok(root: Path) -> None:
    """One in-process run of every flow, which must succeed."""
    result = hygge.run(root)
    assert result.exit_code == 0, [(r.address, r.error) for r in result.entities]

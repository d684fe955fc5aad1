"""Shared fixtures: write small projects into tmp_path and run the CLI on them."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

from hygge.cli import main

ProjectMaker = Callable[[dict[str, str]], Path]

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
def hygge_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `hygge ARGS` in folder cwd through Click's runner (stdout and stderr kept apart)."""

    def run(*args: str, cwd: Path) -> Result:
        monkeypatch.chdir(cwd)
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def data_files(folder: Path) -> list[str]:
    """Names of the data files a reader sees in a destination folder (not _hygge/ records)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(("_", ".")))


def read_lake(folder: Path) -> pl.DataFrame:
    """Everything a reader of a parquet destination folder would see."""
    return pl.read_parquet(sorted(folder.glob("*.parquet")))

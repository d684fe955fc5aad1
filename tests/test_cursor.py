"""Every driver's cursor fits `hygge.engines.cursor.Cursor`, as mypy sees it.

The SQL stores hand each driver's cursor to code typed with the protocol, so a driver whose
cursor stopped fitting (or a protocol grown past what a driver offers) would leave that code
type-checked against a promise no cursor keeps. mypy runs here as `make lint` runs it (the
project's settings, the dev extra's stubs), on a module that assigns each cursor class to the
protocol; one class known not to fit shows that a misfit is reported. mssql-python's stubs
declare its rows as a class of their own, not a Sequence, so its cursor is not listed: the
mssql store types its cursor as Any, and its rows are only ever indexed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import hygge

ROOT = Path(__file__).resolve().parents[1]

CURSORS = textwrap.dedent(
    """
    import sqlite3

    import duckdb
    import pymysql.cursors
    from adbc_driver_manager import dbapi

    from hygge.engines.cursor import Cursor


    class NoFetchAll:
        def execute(self, sql: str, params: object = None) -> None: ...
        def executemany(self, sql: str, rows: object) -> None: ...
        def fetchone(self) -> None: ...
        def fetchmany(self, size: int) -> list[tuple[int]]:
            return []
        def close(self) -> None: ...


    fitting: list[type[Cursor]] = [
        sqlite3.Cursor,
        duckdb.DuckDBPyConnection,
        pymysql.cursors.Cursor,
        pymysql.cursors.SSCursor,
        dbapi.Cursor,
    ]
    misfit: type[Cursor] = NoFetchAll
    """
)


def test_every_driver_cursor_fits_the_protocol(tmp_path: Path) -> None:
    module = tmp_path / "cursors.py"
    module.write_text(CURSORS)
    run = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")),
            *("--cache-dir", str(tmp_path / "cache"), "--no-error-summary", str(module)),
        ],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(Path(hygge.__file__).parents[1])},  # this hygge
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, run.stdout + run.stderr
    misfit = CURSORS.splitlines().index("misfit: type[Cursor] = NoFetchAll") + 1
    assert f"cursors.py:{misfit}:" in errors[0] and '"type[NoFetchAll]"' in errors[0], errors

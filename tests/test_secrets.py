"""Passwords holding characters a URL gives meaning to (`@ : / %` and spaces), against a live
PostgreSQL: given as the README says they log in, and when a driver chokes on one written
raw into a URL, no part of it shows in output or the journal."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import adbc_driver_postgresql.dbapi as dbapi
import pytest

from tests import proc
from tests.conftest import ProjectMaker, read_lake

FLOW = "home: {type: postgres, connection: wh, table: SOURCE}\nstore: {type: parquet, path: lake}\n"
Login = Callable[[str], tuple[str, str]]


@pytest.fixture
def login(postgres_url: str) -> Login:
    """login(password) -> (role, table): a new role with that password, and a table of three
    rows it may read."""

    def make(password: str) -> tuple[str, str]:
        suffix = os.urandom(4).hex()
        role, table = f"r_{suffix}", f"t_{suffix}"
        quoted = password.replace("'", "''")
        with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
            cur.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{quoted}'")
            cur.execute(f"CREATE TABLE {table} AS SELECT g AS id FROM generate_series(1, 3) g")
            cur.execute(f"GRANT SELECT ON {table} TO {role}")
        return role, table

    return make


def where(postgres_url: str) -> tuple[str, int]:
    parts = urlsplit(postgres_url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


@pytest.mark.parametrize("form", ["url", "password"])
def test_a_password_holding_url_characters_logs_in(
    form: str, login: Login, postgres_url: str, make_project: ProjectMaker
) -> None:
    """`url: postgresql://ROLE:${VAR}@...` percent-encodes the value it puts in the userinfo;
    `password: ${VAR}` needs no encoding at all."""
    password = "p@ss:w/rd 100%"
    role, table = login(password)
    host, port = where(postgres_url)
    connection = (
        f'{{type: postgres, url: "postgresql://{role}:${{WH_PASSWORD}}@{host}:{port}/hygge"}}'
        if form == "url"
        else f"{{type: postgres, host: {host}, port: {port}, database: hygge, user: {role},"
        ' password: "${WH_PASSWORD}"}'
    )
    hygge_yml = f"name: test\nconnections:\n  wh: {connection}\n"
    root = make_project({"hygge.yml": hygge_yml, "flows/x/flow.yml": FLOW.replace("SOURCE", table)})

    result = proc.run(root, "go", "--json", env={"WH_PASSWORD": password})

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["rows"] == 3
    assert sorted(read_lake(root / "lake")["id"]) == [1, 2, 3]
    assert password not in result.stdout + result.stderr


def test_a_password_a_whole_url_cannot_hold_never_shows(
    login: Login, postgres_url: str, make_project: ProjectMaker
) -> None:
    """libpq quotes the piece of the password it choked on ("Se%cret Pass", before the '@'),
    which no URL pattern recognises: the secret is masked by its value and its pieces."""
    password = "Se%cret Pass@word99"
    pieces = [password, "Se%cret", "Se%cret Pass", "Pass@word99", "word99", "Se%25cret"]
    role, table = login(password)
    host, port = where(postgres_url)
    env = {"WH_URL": f"postgresql://{role}:{password}@{host}:{port}/hygge"}
    hygge_yml = 'name: test\nconnections:\n  wh: {type: postgres, url: "${WH_URL}"}\n'
    root = make_project({"hygge.yml": hygge_yml, "flows/x/flow.yml": FLOW.replace("SOURCE", table)})

    ran = proc.run(root, "go", "-v", env=env)
    checked = proc.run(root, "debug", env=env)
    history = proc.run(root, "history", "--json", env=env)

    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "x.x" in ran.stdout + ran.stderr and "postgres wh" in ran.stdout + ran.stderr
    assert "percent-encode `@ : / %` and spaces in the URL's password" in ran.stdout
    assert checked.returncode == 1 and "postgres wh" in checked.stdout
    assert history.returncode == 0 and json.loads(history.stdout)[0]["status"] == "failed"
    said = "".join(r.stdout + r.stderr for r in (ran, checked, history))
    recorded = b"".join(p.read_bytes() for p in Path(root / ".hygge").rglob("*") if p.is_file())
    for piece in pieces:
        assert piece not in said, piece
        assert piece.encode() not in recorded, piece

"""Locks of a project whose journal is PostgreSQL: advisory locks that hold across machines.

A "machine" is a copy of the project folder run by its own processes: the copies share
nothing but the journal's database, so only the advisory locks can keep them apart.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import read_lake
from tests.proc import finish, history, run, start_paused

FLOW = """\
home: {type: parquet, path: "data/{entity}"}
store: {type: parquet, path: "LAKE"}
batch_rows: 20
entities:
  - {name: a, run_type: full_drop}
"""


def machine(folder: Path, url: str, schema: str, name: str = "shop", lake: str = "lake") -> Path:
    """A project folder whose journal is `schema` on the server at url."""
    (folder / "flows" / "f").mkdir(parents=True)
    (folder / "hygge.yml").write_text(
        f"name: {name}\nconnections:\n  jdb: {{type: postgres, url: '${{JOURNAL_URL}}'}}\n"
        f"journal: {{type: postgres, connection: jdb, schema: {schema}}}\n"
    )
    (folder / ".env").write_text(f"JOURNAL_URL={url}\n")
    (folder / "flows" / "f" / "flow.yml").write_text(FLOW.replace("LAKE", lake))
    data = folder / "data" / "a"
    data.mkdir(parents=True)
    pl.DataFrame({"id": range(100)}).write_parquet(data / "0.parquet")
    return folder


@pytest.fixture
def schema() -> str:
    return f"l_{secrets.token_hex(5)}"


def test_an_entity_held_on_one_machine_is_skipped_on_another(
    tmp_path: Path, postgres_url: str, schema: str
) -> None:
    one = machine(tmp_path / "one", postgres_url, schema)
    two = tmp_path / "two"
    shutil.copytree(one, two)
    held = start_paused(one, tmp_path / "paused", "go", "--json")

    skipped = run(two, "go", "--json")
    locks = run(two, "locks", "--json")
    (tmp_path / "paused").unlink()
    code, out, err = finish(held)

    assert skipped.returncode == 75, skipped.stdout + skipped.stderr
    holder_run = json.loads(out)["run_id"]
    assert f"held by pid {held.pid} on {socket.gethostname()}, run {holder_run}" in skipped.stdout
    (lock,) = json.loads(locks.stdout)
    assert (lock["lock"], lock["pid"], lock["run_id"]) == ("f.a", held.pid, holder_run)
    assert lock["entity"] == "f.a"
    assert code == 0, err
    assert run(two, "locks").stdout.strip().endswith("0 held")
    assert run(two, "go").returncode == 0  # free again


def test_a_worker_killed_with_kill_9_frees_its_locks(
    tmp_path: Path, postgres_url: str, schema: str
) -> None:
    one = machine(tmp_path / "one", postgres_url, schema)
    two = tmp_path / "two"
    shutil.copytree(one, two)
    held = start_paused(one, tmp_path / "paused", "go")

    held.kill()  # SIGKILL: no cleanup, the kernel closes its session's socket
    held.wait()
    after = run(two, "go", "--wait", "60")

    assert after.returncode == 0, after.stdout + after.stderr
    assert sorted(read_lake(two / "lake" / "a")["id"]) == list(range(100))
    statuses = [h["status"] for h in history(two)]
    assert statuses == ["success", "interrupted"]  # this host saw its pid gone
    assert run(two, "locks").stdout.strip().endswith("0 held")


def test_a_destination_is_held_across_projects_and_machines(
    tmp_path: Path, postgres_url: str, schema: str
) -> None:
    lake = str(tmp_path / "shared-lake")
    one = machine(tmp_path / "one", postgres_url, schema, name="shop", lake=lake)
    two = machine(tmp_path / "two", postgres_url, schema, name="other", lake=lake)
    held = start_paused(one, tmp_path / "paused", "go", "--json")

    skipped = run(two, "go", env={"HYGGE_LOCK_DIR": str(tmp_path / "two-machine-locks")})
    (tmp_path / "paused").unlink()
    code, _, err = finish(held)

    assert skipped.returncode == 75, skipped.stdout + skipped.stderr
    assert f"held by pid {held.pid}" in skipped.stdout
    assert code == 0, err

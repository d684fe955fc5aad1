"""A project whose journal is PostgreSQL: its config, every command on it, and projects
sharing one schema without seeing each other. The journal API itself is tested on both
backends by tests/test_journal.py."""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from hygge.config.project import load_project
from hygge.errors import JournalError
from hygge.journal import open_journal, open_project_journal
from tests.conftest import ProjectMaker, read_lake
from tests.journals import open_test_journal, raw, use_postgres, where
from tests.proc import history, run, start_paused

FLOW = """\
home: {type: parquet, path: "data/{entity}"}
store: {type: parquet, path: lake}
entities:
  - {name: orders, primary_key: [id], watermark: {column: id}}
"""


def hygge_yml(schema: str, name: str = "shop", extra: str = "") -> str:
    """A hygge.yml whose journal is `schema` on the server the project's .env names."""
    return (
        f"name: {name}\n{extra}"
        "connections:\n  jdb: {type: postgres, url: '${JOURNAL_URL}'}\n"
        f"journal: {{type: postgres, connection: jdb, schema: {schema}}}\n"
    )


def write_orders(root: Path, ids: range) -> None:
    folder = root / "data" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"id": list(ids)}).write_parquet(folder / f"{ids.start}.parquet")


@pytest.fixture
def schema() -> str:
    return f"j_{secrets.token_hex(5)}"


@pytest.fixture
def shop(make_project: ProjectMaker, postgres_url: str, schema: str) -> Path:
    root = make_project(
        {
            "hygge.yml": hygge_yml(schema),
            ".env": f"JOURNAL_URL={postgres_url}\n",
            "flows/f/flow.yml": FLOW,
        }
    )
    write_orders(root, range(10))
    return root


def test_every_command_works_on_a_postgres_journal(shop: Path) -> None:
    first = run(shop, "go")
    assert first.returncode == 0, first.stderr
    write_orders(shop, range(10, 15))
    second = run(shop, "go")
    assert second.returncode == 0, second.stderr
    assert sorted(read_lake(shop / "lake" / "orders")["id"]) == list(range(15))
    assert not (shop / ".hygge" / "journal.db").exists()  # nothing went to SQLite

    history = json.loads(run(shop, "history", "--json").stdout)
    assert [(h["entity"], h["status"], h["rows_written"]) for h in history] == [
        ("f.orders", "success", 5),
        ("f.orders", "success", 10),
    ]
    shown = json.loads(run(shop, "journal", "show", "--json").stdout)
    assert "14" in json.dumps(shown)

    assert run(shop, "journal", "set", "--entity", "f.orders", "--to", "12").returncode == 0
    write_orders(shop, range(15, 16))
    assert run(shop, "go").returncode == 0
    latest = json.loads(run(shop, "history", "--json", "--limit", "1").stdout)[0]
    assert "12" in str(latest["watermark_before"])  # it read on from the value set by hand
    assert 15 in read_lake(shop / "lake" / "orders")["id"]

    reset = run(shop, "journal", "reset", "--entity", "f.orders", "--reason", "redo")
    assert reset.returncode == 0 and "watermark reset" in reset.stdout
    audit = json.loads(run(shop, "journal", "show", "--json").stdout)
    assert "redo" in json.dumps(audit)
    locks = run(shop, "locks")
    assert locks.returncode == 0 and "0 held" in locks.stdout


def test_projects_sharing_a_schema_see_only_their_own_rows(
    tmp_path: Path, postgres_url: str, schema: str
) -> None:
    roots = []
    for ident in ("eu", "us"):
        root = tmp_path / ident
        (root / "flows" / "f").mkdir(parents=True)
        (root / "hygge.yml").write_text(hygge_yml(schema, extra=f"id: {ident}\n"))
        (root / ".env").write_text(f"JOURNAL_URL={postgres_url}\n")
        (root / "flows" / "f" / "flow.yml").write_text(FLOW)
        roots.append(root)
    eu, us = roots
    write_orders(eu, range(3))
    write_orders(us, range(7))
    assert run(eu, "go").returncode == 0
    assert run(us, "go").returncode == 0

    for root, rows in ((eu, 3), (us, 7)):
        history = json.loads(run(root, "history", "--json").stdout)
        assert [h["rows_written"] for h in history] == [rows]
    assert run(eu, "journal", "reset", "--entity", "f.orders").returncode == 0
    us_marks = json.dumps(json.loads(run(us, "journal", "show", "--json").stdout))
    assert '"6"' in us_marks or ": 6" in us_marks  # the other project's reset left it


@pytest.mark.parametrize(
    ("journal", "says"),
    [
        (
            "journal: {type: postgres, connection: nope}",
            "key 'journal.connection': connection 'nope' is not defined",
        ),
        (
            "journal: {type: postgres, connection: files}",
            "connection 'files' is of type 's3', but the journal needs a PostgreSQL one",
        ),
        ("journal: {type: postgres, connection: jdb, schemaa: x}", "unknown key 'journal.schemaa'"),
        ("journal: {type: postgres}", "missing required key 'journal.connection'"),
    ],
)
def test_a_wrong_journal_section_stops_every_command_naming_the_key(
    make_project: ProjectMaker, journal: str, says: str
) -> None:
    root = make_project(
        {
            "hygge.yml": "name: shop\nconnections:\n"
            "  jdb: {type: postgres, url: 'postgresql://u@127.0.0.1:1/db'}\n"
            "  files: {type: s3}\n" + journal + "\n",
            "flows/f/flow.yml": FLOW,
        }
    )
    for command in (["go"], ["history"], ["journal", "show"], ["locks"]):
        done = run(root, *command)
        assert done.returncode == 2, (command, done.stderr)
        assert says in done.stderr and "hygge.yml:" in done.stderr
        assert "Traceback" not in done.stderr


def test_migrate_copies_the_sqlite_journal_and_refuses_a_second_time(
    make_project: ProjectMaker, postgres_url: str, schema: str
) -> None:
    root = make_project(
        {
            "hygge.yml": "name: shop\nconnections:\n"
            "  jdb: {type: postgres, url: '${JOURNAL_URL}'}\n",
            ".env": f"JOURNAL_URL={postgres_url}\n",
            "flows/f/flow.yml": FLOW,
        }
    )
    write_orders(root, range(10))
    assert run(root, "go").returncode == 0
    write_orders(root, range(10, 15))
    assert run(root, "go").returncode == 0
    assert run(root, "journal", "set", "--entity", "f.orders", "--to", "12").returncode == 0
    with open_journal(root) as before:
        runs, history, audit = before.runs(), before.history(), before.audit()
        mark = before.watermark("f", "orders")

    done = run(root, "journal", "migrate", "--to", "jdb", "--schema", schema)
    assert done.returncode == 0, done.stderr
    assert "copied 2 runs, 2 entity runs, 1 watermarks, 1 audit" in done.stdout

    (root / "hygge.yml").write_text(hygge_yml(schema))
    with open_project_journal(load_project(root)) as after:
        assert after.runs() == runs
        assert [replace(h, id=0) for h in after.history()] == [replace(h, id=0) for h in history]
        assert [replace(a, id=0) for a in after.audit()] == [replace(a, id=0) for a in audit]
        assert after.watermark("f", "orders") == mark
    write_orders(root, range(15, 16))
    assert run(root, "go").returncode == 0
    latest = json.loads(run(root, "history", "--json", "--limit", "1").stdout)[0]
    assert "12" in str(latest["watermark_before"])  # it went on from the migrated watermark

    again = run(root, "journal", "migrate", "--to", "jdb", "--schema", schema)
    assert again.returncode == 2
    assert "already holds project 'shop'" in again.stderr and "nothing was copied" in again.stderr
    assert len(json.loads(run(root, "history", "--json").stdout)) == 3  # nothing was added
    wrong = run(root, "journal", "migrate", "--to", "nope")
    assert wrong.returncode == 2 and "--to 'nope': not a postgres connection" in wrong.stderr


def test_a_schema_from_a_newer_hygge_is_refused(tmp_path: Path, postgres_url: str) -> None:
    use_postgres(tmp_path, postgres_url)
    open_test_journal(tmp_path).close()
    raw(tmp_path, "INSERT INTO schema_version VALUES (99, now())")

    with pytest.raises(JournalError) as caught:
        open_test_journal(tmp_path)
    assert "schema version 99" in str(caught.value) and where(tmp_path) in str(caught.value)
    assert caught.value.hint is not None and "upgrade hygge" in caught.value.hint


def test_a_run_of_a_dead_worker_on_another_machine_is_marked_interrupted(
    shop: Path, tmp_path: Path
) -> None:
    """Another machine's process cannot be looked up: its run counts as alive while its
    journal session holds the run's advisory lock, and as interrupted once that session
    died with the process. The other machine is a process with a hostname of its own."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed to give a process another hostname")
    other = tmp_path / "other-machine"
    shutil.copytree(shop, other)
    elsewhere = ["unshare", "--uts", "sh", "-c", 'hostname machine-b && exec "$@"', "sh"]
    held = start_paused(other, tmp_path / "paused", "go", prefix=elsewhere)
    (remote,) = history(shop)

    skipped = run(shop, "go")  # marks the runs of dead processes first: this one lives
    still = {r["run_id"]: r["status"] for r in history(shop)}
    held.kill()
    held.wait()
    after = run(shop, "go")
    final = {r["run_id"]: r["status"] for r in history(shop)}

    assert skipped.returncode == 75, skipped.stdout + skipped.stderr
    assert still[remote["run_id"]] == "running"
    assert after.returncode == 0, after.stdout + after.stderr
    assert final[remote["run_id"]] == "interrupted"
    assert sorted(read_lake(shop / "lake" / "orders")["id"]) == list(range(10))

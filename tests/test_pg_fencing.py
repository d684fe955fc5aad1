"""Fencing: a worker that lost its PostgreSQL session (its locks with it) commits nothing.

docs/architecture.md, Fencing, describes the protocol: the entity run's journal writes go
through the session that holds its locks, and each that commits an entity run's end or a
watermark checks in its transaction that the session still holds them.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import polars as pl
import pytest

from hygge.errors import JournalError
from hygge.journal import WatermarkCommit
from hygge.locks import Holder
from tests.conftest import read_lake
from tests.journals import open_test_journal, use_postgres
from tests.proc import finish, history, run, start_paused
from tests.proxy import proxied

FLOW = """\
home: {type: parquet, path: "data/{entity}"}
store: {type: parquet, path: "LAKE"}
entities:
  - {name: a, primary_key: [id], watermark: {column: id}}
"""


def machine(folder: Path, url: str, schema: str, lake: Path) -> Path:
    (folder / "flows" / "f").mkdir(parents=True)
    (folder / "hygge.yml").write_text(
        "name: shop\nconnections:\n  jdb: {type: postgres, url: '${JOURNAL_URL}'}\n"
        f"journal: {{type: postgres, connection: jdb, schema: {schema}}}\n"
    )
    (folder / ".env").write_text(f"JOURNAL_URL={url}\n")
    (folder / "flows" / "f" / "flow.yml").write_text(FLOW.replace("LAKE", str(lake)))
    return folder


def add_rows(root: Path, ids: range) -> None:
    folder = root / "data" / "a"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"id": list(ids)}).write_parquet(folder / f"{ids.start}.parquet")


def test_a_worker_cut_off_from_the_journal_commits_nothing_and_each_row_loads_once(
    tmp_path: Path, postgres_url: str
) -> None:
    schema, lake = f"f_{secrets.token_hex(5)}", tmp_path / "lake"
    with proxied(postgres_url) as (proxy, through_proxy):
        cut = machine(tmp_path / "cut", through_proxy, schema, lake)
        add_rows(cut, range(100))
        other = tmp_path / "other"
        shutil.copytree(cut, other)
        (other / ".env").write_text(f"JOURNAL_URL={postgres_url}\n")
        held = start_paused(cut, tmp_path / "paused", "go", "--json", point="after_publish")

        proxy.kill()  # the network between the worker and PostgreSQL is gone
        taken_over = run(other, "go", "--json", "--wait", "60")
        (tmp_path / "paused").unlink()
        code, out, _ = finish(held)

    assert taken_over.returncode == 0, taken_over.stdout + taken_over.stderr
    assert code == 1
    error = json.loads(out)["error"]  # its end could not be recorded either
    assert "could not record" in error["message"] and "unreachable" in error["hint"]
    ids = read_lake(lake / "a")["id"]
    assert sorted(ids) == list(range(100))  # published once, by the worker cut off
    statuses = sorted(h["status"] for h in history(other))
    assert statuses == ["running", "success"]  # the cut worker's entity run committed nothing
    marks = json.loads(run(other, "journal", "show", "--json").stdout)
    assert "99" in json.dumps(marks)

    add_rows(other, range(100, 130))
    assert run(other, "go").returncode == 0
    assert sorted(read_lake(lake / "a")["id"]) == list(range(130))  # every row exactly once
    assert sorted(h["status"] for h in history(other)) == ["interrupted", "success", "success"]


@pytest.fixture
def journal_root(tmp_path: Path, postgres_url: str) -> Path:
    use_postgres(tmp_path, postgres_url)
    return tmp_path


def test_a_claim_whose_session_lost_its_locks_commits_nothing(journal_root: Path) -> None:
    with open_test_journal(journal_root) as journal:
        locks = journal.locks(journal_root)
        claim = locks.claim("f.a", "destination of f.a")
        assert claim.try_take(Holder.me("r", "hygge go")) is None
        fenced = claim.fence(journal)
        journal.start_run("r", "hygge go")
        entity_run = fenced.start_entity("r", "f", "a", "incremental", None)
        session = claim.session  # type: ignore[attr-defined]
        with session.cursor("drop the locks") as cur:  # as if the server had ended them
            cur.execute("SELECT pg_advisory_unlock_all()")

        with pytest.raises(JournalError, match="no longer holds its locks") as caught:
            fenced.finish_entity(
                entity_run, status="success", attempts=1, rows_read=1, rows_written=1,
                bytes_written=0, seconds=0.1, commit=WatermarkCommit("id", "1", None),
            )  # fmt: skip
        assert caught.value.hint is not None and "nothing was committed" in caught.value.hint
        assert journal.watermark("f", "a") is None
        assert journal.history()[0].status == "running"
        claim.release()
        locks.close()

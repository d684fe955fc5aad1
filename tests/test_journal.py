"""The journal: round trips, audit, concurrent threads and processes, killed runs, versions.

Every test runs on a real SQLite file in tmp_path and again on a real PostgreSQL schema of its
own (tests/journals.py), but those marked sqlite_only, which look at the file itself; the
concurrency tests use real processes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from hygge.errors import HyggeError, JournalError
from hygge.journal import (
    EntityRunRecord,
    Journal,
    WatermarkCommit,
    journal_path,
    open_journal,
)
from hygge.journal.schema import MIGRATIONS
from hygge.results import SchemaChange
from tests.journals import integrity_error, like, open_test_journal, raw, use_postgres, where

PROCESSES = 4
RUNS_PER_PROCESS = 120
SHARED = ("orders", "customers", "products")

CRASH = f"""
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).parents[1])!r})
from tests.journals import open_test_journal

root, run_id, mode = sys.argv[1:]
journal = open_test_journal(Path(root))
journal.start_run(run_id, "hygge go")
journal.start_entity(run_id, "shop", "orders", "incremental", None)
if mode == "finished":  # the run was ended but one entity run was left running
    journal.finish_run(run_id, "failed")
if mode == "zombie":
    print("ready", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    sqlite_only = metafunc.definition.get_closest_marker("sqlite_only") is not None
    metafunc.parametrize("backend", ["sqlite"] if sqlite_only else ["sqlite", "postgres"])


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Which journal tmp_path stands for: its SQLite file, or a PostgreSQL schema."""
    if request.param == "postgres":
        use_postgres(tmp_path, request.getfixturevalue("postgres_url"))
    return str(request.param)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with open_test_journal(tmp_path) as journal:
        yield journal


def finish(
    journal: Journal,
    entity_run_id: int,
    commit: WatermarkCommit | None = None,
    status: str = "success",
    error: str | None = None,
) -> None:
    journal.finish_entity(
        entity_run_id,
        status=status,
        attempts=2,
        rows_read=10,
        rows_written=9,
        bytes_written=1234,
        seconds=1.5,
        error=error,
        commit=commit,
    )


@pytest.mark.sqlite_only
def test_open_journal_creates_a_wal_database_at_the_current_version(tmp_path: Path) -> None:
    open_journal(tmp_path).close()
    assert journal_path(tmp_path) == tmp_path / ".hygge" / "journal.db"
    open_journal(tmp_path).close()  # reopening applies nothing twice
    assert raw(tmp_path, "PRAGMA journal_mode") == [("wal",)]
    versions = raw(tmp_path, "SELECT version FROM schema_version ORDER BY version")
    assert versions == [(n,) for n in range(1, len(MIGRATIONS) + 1)]


def test_runs_round_trip_newest_first(journal: Journal) -> None:
    before = datetime.now(UTC)
    for number in range(3):
        journal.start_run(f"run-{number}", f"hygge go --entity shop.{number}")
    journal.finish_run("run-1", "failed")

    runs = journal.runs()
    assert [r.run_id for r in runs] == ["run-2", "run-1", "run-0"]
    assert [r.run_id for r in journal.runs(limit=2)] == ["run-2", "run-1"]
    assert journal.runs(limit=0) == []
    newest, failed, _ = runs
    assert newest.host == socket.gethostname()
    assert newest.pid == os.getpid()
    assert newest.command == "hygge go --entity shop.2"
    assert newest.status == "running"
    assert newest.ended_at is None
    assert newest.started_at.utcoffset() == timedelta(0)
    assert before <= newest.started_at <= datetime.now(UTC)
    assert failed.status == "failed"
    assert failed.ended_at is not None and failed.ended_at >= failed.started_at


def test_entity_run_round_trip(journal: Journal) -> None:
    journal.start_run("r", "hygge go")
    entity_run_id = journal.start_entity("r", "shop", "orders", "incremental", '"2024-01-01"')

    (started,) = journal.history()
    assert started == EntityRunRecord(
        id=entity_run_id,
        run_id="r",
        flow="shop",
        entity="orders",
        run_type="incremental",
        status="running",
        attempts=0,
        rows_read=0,
        rows_written=0,
        bytes_written=0,
        seconds=0.0,
        watermark_before='"2024-01-01"',
        watermark_after=None,
        error=None,
        started_at=started.started_at,
        ended_at=None,
    )

    finish(journal, entity_run_id, status="failed", error="boom\nline two")
    (ended,) = journal.history()
    assert (ended.status, ended.attempts, ended.rows_read, ended.rows_written) == (
        "failed",
        2,
        10,
        9,
    )
    assert (ended.bytes_written, ended.seconds, ended.error) == (1234, 1.5, "boom\nline two")
    assert ended.watermark_after is None
    assert ended.ended_at is not None and ended.ended_at >= ended.started_at
    assert ended.started_at.tzinfo is not None and ended.ended_at.tzinfo is not None


def test_history_is_newest_first_with_filters_and_limit(journal: Journal) -> None:
    journal.start_run("r", "hygge go")
    started = [
        (flow, entity, journal.start_entity("r", flow, entity, "full_drop", None))
        for flow, entity in [("shop", "orders"), ("crm", "orders"), ("shop", "items")] * 3
    ]
    ids = [entity_run_id for _, _, entity_run_id in started]

    assert [h.id for h in journal.history(limit=100)] == ids[::-1]
    assert [h.id for h in journal.history(limit=4)] == ids[::-1][:4]
    assert [h.id for h in journal.history(flow="shop")] == [
        i for f, _, i in reversed(started) if f == "shop"
    ]
    assert [h.id for h in journal.history(entity="orders", limit=3)] == [
        i for _, e, i in reversed(started) if e == "orders"
    ][:3]
    only = journal.history(flow="crm", entity="orders")
    assert len(only) == 3 and all((h.flow, h.entity) == ("crm", "orders") for h in only)
    assert journal.history(flow="nope") == []
    with pytest.raises(ValueError, match="limit"):
        journal.history(limit=-1)


def test_finish_entity_commits_the_watermark_with_the_entity_run(
    journal: Journal, tmp_path: Path
) -> None:
    journal.start_run("r1", "hygge go")
    first = journal.start_entity("r1", "shop", "orders", "incremental", None)
    finish(journal, first, WatermarkCommit("updated_at", '"2024-01-02"', b"\x00arrow\xff"))

    mark = journal.watermark("shop", "orders")
    assert mark is not None
    assert (mark.flow, mark.entity, mark.column) == ("shop", "orders", "updated_at")
    assert (mark.value, mark.state, mark.run_id) == ('"2024-01-02"', b"\x00arrow\xff", "r1")
    (entity_run,) = journal.history()
    assert entity_run.watermark_after == '"2024-01-02"'
    assert mark.updated_at == entity_run.ended_at  # written in the same transaction

    # A finish without a commit leaves the watermark as it was.
    journal.start_run("r2", "hygge go")
    second = journal.start_entity("r2", "shop", "orders", "incremental", mark.value)
    finish(journal, second, status="failed", error="store down")
    assert journal.watermark("shop", "orders") == mark
    assert journal.history(limit=1)[0].watermark_after is None

    # A later commit replaces it (upsert: still one watermark per entity).
    third = journal.start_entity("r2", "shop", "orders", "incremental", mark.value)
    finish(journal, third, WatermarkCommit("id", "42", None))
    newer = journal.watermark("shop", "orders")
    assert newer is not None
    assert (newer.column, newer.value, newer.state, newer.run_id) == ("id", "42", None, "r2")
    assert journal.watermark("shop", "customers") is None
    assert raw(tmp_path, "SELECT count(*) FROM watermarks") == [(1,)]


def test_a_failing_finish_entity_changes_neither_table(journal: Journal, tmp_path: Path) -> None:
    journal.start_run("r", "hygge go")
    entity_run_id = journal.start_entity("r", "shop", "orders", "incremental", None)
    finish(journal, entity_run_id, WatermarkCommit("id", "1", None))
    again = journal.start_entity("r", "shop", "orders", "incremental", "1")
    # The entity run is updated first, then the watermark upsert violates NOT NULL: both roll back.
    broken = WatermarkCommit("id", cast(str, None), None)
    with pytest.raises(JournalError, match=re.escape(where(tmp_path))):
        finish(journal, again, broken)
    assert journal.history(limit=1)[0].status == "running"
    mark = journal.watermark("shop", "orders")
    assert mark is not None and mark.value == "1"


def test_unknown_runs_and_entity_runs_raise_journal_errors_naming_the_file(
    journal: Journal, tmp_path: Path
) -> None:
    named = where(tmp_path)
    with pytest.raises(JournalError, match="no run 'nope'") as caught:
        journal.finish_run("nope", "success")
    assert named in str(caught.value) and caught.value.exit_code == 1
    with pytest.raises(JournalError, match="no entity run 99"):
        finish(journal, 99)
    with pytest.raises(JournalError, match="FOREIGN KEY") as caught:
        journal.start_entity("nope", "shop", "orders", "full_drop", None)
    assert named in str(caught.value)
    assert isinstance(caught.value.__cause__, integrity_error(tmp_path))
    journal.start_run("r", "hygge go")
    with pytest.raises(JournalError, match="UNIQUE"):
        journal.start_run("r", "hygge go")


def test_statuses_are_checked(journal: Journal) -> None:
    journal.start_run("r", "hygge go")
    entity_run_id = journal.start_entity("r", "shop", "orders", "full_drop", None)
    with pytest.raises(ValueError, match="'done'"):
        journal.finish_run("r", "done")
    with pytest.raises(ValueError, match="'running'"):
        finish(journal, entity_run_id, status="running")
    finish(journal, entity_run_id, status="skipped")
    assert journal.history()[0].status == "skipped"


def test_set_and_reset_are_audited(journal: Journal) -> None:
    journal.set_watermark(
        "shop", "orders", WatermarkCommit("id", "10", None), user="ann", reason="backfill"
    )
    mark = journal.watermark("shop", "orders")
    assert mark is not None and (mark.value, mark.run_id) == ("10", None)
    journal.set_watermark(
        "shop", "orders", WatermarkCommit("id", "5", b"keys"), user="bob", reason="redo 5..10"
    )
    journal.set_watermark("crm", "orders", WatermarkCommit("id", "7", None), user="cy", reason="x")
    assert journal.reset_watermark("shop", "orders", user="dee", reason="full reload") is True
    assert journal.watermark("shop", "orders") is None
    # Resetting what is not there changes nothing, so it is not audited.
    assert journal.reset_watermark("shop", "orders", user="dee", reason="again") is False

    trail = journal.audit(flow="shop", entity="orders")
    assert [(a.action, a.user, a.old_value, a.new_value, a.reason) for a in trail] == [
        ("reset", "dee", "5", None, "full reload"),
        ("set", "bob", "10", "5", "redo 5..10"),
        ("set", "ann", None, "10", "backfill"),
    ]
    assert all(a.at.utcoffset() == timedelta(0) for a in trail)
    assert trail[0].at >= trail[1].at >= trail[2].at
    assert len(journal.audit()) == 4
    assert [a.flow for a in journal.audit(entity="orders")] == ["shop", "crm", "shop", "shop"]
    assert [a.user for a in journal.audit(flow="crm")] == ["cy"]


def test_a_round_knows_what_its_runs_loaded(journal: Journal) -> None:
    journal.start_run("r1", "hygge go --round day", round_id="day")
    journal.start_run("r2", "hygge go --round day", round_id="day")
    journal.start_run("solo", "hygge go")
    for run_id, entity, status in [
        ("r1", "orders", "failed"),
        ("r2", "orders", "success"),  # another worker loaded it after r1 failed
        ("r1", "items", "success"),
        ("r2", "refunds", "skipped"),
        ("solo", "refunds", "success"),  # not a run of the round
    ]:
        finish(journal, journal.start_entity(run_id, "shop", entity, "incremental", None),
               status=status)  # fmt: skip

    assert journal.round_done("day") == {("shop", "orders"): "r2", ("shop", "items"): "r1"}
    assert journal.round_done("another day") == {}
    history = journal.history(round_id="day")
    assert [(h.run_id, h.entity) for h in history] == [
        ("r2", "refunds"), ("r1", "items"), ("r2", "orders"), ("r1", "orders"),
    ]  # fmt: skip
    assert [h.run_id for h in journal.history(entity="orders", round_id="day", limit=1)] == ["r2"]


def test_threads_share_one_journal(journal: Journal) -> None:
    journal.start_run("r", "hygge go")
    ids: list[int] = []

    def work(thread: int) -> None:
        for number in range(25):
            entity_run_id = journal.start_entity("r", "shop", f"e{thread}", "incremental", None)
            ids.append(entity_run_id)
            finish(journal, entity_run_id, WatermarkCommit("id", str(number), None))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 200
    history = journal.history(limit=1000)
    assert len(history) == 200 and {h.status for h in history} == {"success"}
    for t in range(8):
        mark = journal.watermark("shop", f"e{t}")
        assert mark is not None and mark.value == "24"


def test_journals_opened_at_the_same_moment_all_open(tmp_path: Path) -> None:
    # Switching a new file to WAL does not wait for other openers; the journal retries.
    errors: list[BaseException] = []
    for attempt in range(20):
        root = tmp_path / str(attempt)
        (root / ".hygge").mkdir(parents=True)
        like(root, tmp_path)
        barrier = threading.Barrier(6)

        def open_and_write(thread: int, root: Path = root, barrier: threading.Barrier = barrier):
            barrier.wait(timeout=30)
            try:
                with open_test_journal(root) as journal:
                    journal.start_run(f"run-{thread}", "hygge go")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_and_write, args=(t,)) for t in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with open_test_journal(root) as journal:
            assert len(journal.runs()) == 6
    assert errors == []


def record_runs(root: str, worker: int, barrier: Any) -> None:
    """One process: open the journal with the others, then record RUNS_PER_PROCESS runs."""
    barrier.wait(timeout=60)
    with open_test_journal(Path(root)) as journal:
        run_id = f"run-{worker}"
        journal.start_run(run_id, f"worker {worker}")
        for number in range(RUNS_PER_PROCESS):
            entity = entity_of(worker, number)
            before = journal.watermark("shop", entity)
            entity_run_id = journal.start_entity(
                run_id, "shop", entity, "incremental", before.value if before else None
            )
            value = value_of(worker, number)
            journal.finish_entity(
                entity_run_id,
                status="success",
                attempts=1,
                rows_read=number,
                rows_written=number,
                bytes_written=8 * number,
                seconds=0.001,
                commit=WatermarkCommit("seq", value, value.encode()),
            )
        journal.finish_run(run_id, "success")


def entity_of(worker: int, number: int) -> str:
    return f"own-{worker}" if number % 4 == 3 else SHARED[number % len(SHARED)]


def value_of(worker: int, number: int) -> str:
    return f'"{worker}-{number:04d}"'


def test_processes_record_concurrently_without_losing_anything(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    workers = [
        context.Process(target=record_runs, args=(str(tmp_path), worker, barrier))
        for worker in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * PROCESSES

    with open_test_journal(tmp_path) as journal:
        history = journal.history(limit=10 * PROCESSES * RUNS_PER_PROCESS)
        assert len(history) == PROCESSES * RUNS_PER_PROCESS
        assert {h.status for h in history} == {"success"}
        assert len({h.id for h in history}) == len(history)
        assert {r.run_id: r.status for r in journal.runs()} == {
            f"run-{w}": "success" for w in range(PROCESSES)
        }
        for worker in range(PROCESSES):
            mine = [h for h in history if h.run_id == f"run-{worker}"]
            assert sorted(h.rows_read for h in mine) == list(range(RUNS_PER_PROCESS))
            # An entity only this process wrote ends at its last value.
            last = max(
                n for n in range(RUNS_PER_PROCESS) if entity_of(worker, n) == f"own-{worker}"
            )
            own = journal.watermark("shop", f"own-{worker}")
            assert own is not None
            assert (own.value, own.run_id) == (value_of(worker, last), f"run-{worker}")
        for entity in SHARED:
            mark = journal.watermark("shop", entity)
            assert mark is not None
            runs = [h for h in history if h.entity == entity]
            assert mark.value in {h.watermark_after for h in runs}
            assert mark.state == mark.value.encode()
            # The watermark is the one of the last entity run to finish, committed with it.
            (writer,) = [h for h in runs if h.watermark_after == mark.value]
            assert (writer.run_id, writer.ended_at) == (mark.run_id, mark.updated_at)
            assert mark.updated_at == max(h.ended_at for h in runs if h.ended_at)


def crash(root: Path, run_id: str, mode: str = "running") -> None:
    result = subprocess.run(
        [sys.executable, "-c", CRASH, str(root), run_id, mode], capture_output=True, timeout=60
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_runs_of_killed_processes_are_marked_interrupted(tmp_path: Path) -> None:
    with open_test_journal(tmp_path) as journal:
        journal.start_run("live", "hygge go")
        live_entity = journal.start_entity("live", "shop", "items", "full_drop", None)
        crash(tmp_path, "dead")
        crash(tmp_path, "ended", mode="finished")
        crash(tmp_path, "elsewhere")
        raw(tmp_path, "UPDATE runs SET host = 'another-host' WHERE run_id = 'elsewhere'")

        assert journal.mark_interrupted() == 2
        assert journal.mark_interrupted() == 0

        runs = {r.run_id: r for r in journal.runs()}
        assert runs["dead"].status == "interrupted" and runs["dead"].ended_at is not None
        assert runs["ended"].status == "failed"  # finished runs keep their status
        assert runs["live"].status == "running" and runs["live"].ended_at is None
        assert runs["elsewhere"].status == "running"  # its pid means nothing on this host
        entities = {h.run_id: h for h in journal.history()}
        for run_id in ("dead", "ended"):
            assert entities[run_id].status == "interrupted"
            assert entities[run_id].ended_at is not None
        assert entities["live"].id == live_entity
        assert (entities["live"].status, entities["live"].ended_at) == ("running", None)
        assert entities["elsewhere"].status == "running"


@pytest.mark.skipif(sys.platform != "linux", reason="waitid(WNOWAIT) and /proc")
def test_a_killed_process_not_yet_reaped_counts_as_gone(tmp_path: Path) -> None:
    with open_test_journal(tmp_path) as journal:
        child = subprocess.Popen(
            [sys.executable, "-c", CRASH, str(tmp_path), "zombie", "zombie"],
            stdout=subprocess.PIPE,
        )
        try:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
            os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, but still a zombie
            assert journal.mark_interrupted() == 1
            assert journal.runs()[0].status == "interrupted"
        finally:
            if child.stdout is not None:
                child.stdout.close()
            assert child.wait(timeout=60) == -signal.SIGKILL


@contextlib.contextmanager
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    """A real process that lives until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        yield process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=60)


@pytest.mark.skipif(sys.platform != "linux", reason="process start times come from /proc")
def test_a_dead_runs_pid_taken_by_another_process_counts_as_gone(tmp_path: Path) -> None:
    with open_test_journal(tmp_path) as journal:
        journal.start_run("live", "hygge go")
        crash(tmp_path, "dead")
        with live_process() as stranger:  # started after the dead run's process died
            # The kernel gave the dead run's pid to this later process.
            raw(tmp_path, f"UPDATE runs SET pid = {stranger.pid} WHERE run_id = 'dead'")

            assert journal.mark_interrupted() == 1

            runs = {r.run_id: r.status for r in journal.runs()}
            assert runs == {"dead": "interrupted", "live": "running"}
            assert stranger.poll() is None


@pytest.mark.sqlite_only
def test_runs_recorded_before_process_starts_were_kept_trust_their_pid(tmp_path: Path) -> None:
    path = journal_path(tmp_path)
    path.parent.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    assert gone.wait(timeout=60) == 0  # reaped: its pid is free
    with live_process() as older, contextlib.closing(sqlite3.connect(path)) as db:
        with db:  # a version 1 journal: runs without process_start
            db.executescript(MIGRATIONS[0])
            db.execute("INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00+00:00')")
            for run_id, pid in (("alive", older.pid), ("dead", gone.pid)):
                db.execute(
                    "INSERT INTO runs (run_id, host, pid, command, started_at, status)"
                    " VALUES (?, ?, ?, 'hygge go', '2026-01-01T00:00:00+00:00', 'running')",
                    (run_id, socket.gethostname(), pid),
                )
        with open_journal(tmp_path) as journal:
            journal.mark_interrupted()
            runs = {r.run_id: r.status for r in journal.runs()}
    assert runs == {"alive": "running", "dead": "interrupted"}
    assert raw(tmp_path, "SELECT max(version) FROM schema_version") == [(len(MIGRATIONS),)]


@pytest.mark.sqlite_only
def test_a_journal_from_a_newer_hygge_is_refused(tmp_path: Path) -> None:
    open_journal(tmp_path).close()
    raw(tmp_path, "INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')")

    with pytest.raises(JournalError) as caught:
        open_journal(tmp_path)
    error = caught.value
    assert isinstance(error, HyggeError) and error.exit_code == 1
    assert str(journal_path(tmp_path)) in str(error)
    assert "schema version 99" in str(error) and f"up to {len(MIGRATIONS)}" in str(error)
    assert error.hint is not None and "upgrade hygge" in error.hint


@pytest.mark.sqlite_only
def test_an_existing_empty_database_is_migrated(tmp_path: Path) -> None:
    path = journal_path(tmp_path)
    path.parent.mkdir(parents=True)
    sqlite3.connect(path).close()
    with open_journal(tmp_path) as journal:
        journal.start_run("r", "hygge go")
    assert raw(tmp_path, "SELECT max(version) FROM schema_version") == [(len(MIGRATIONS),)]


@pytest.mark.sqlite_only
def test_a_version_1_journal_is_upgraded_keeping_its_history(tmp_path: Path) -> None:
    """A journal written before entity runs kept their schema changes: its runs stay, and
    new ones record what they changed."""
    path = journal_path(tmp_path)
    path.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as old:
        old.executescript(MIGRATIONS[0])
        old.executescript(
            "INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00+00:00');"
            " INSERT INTO runs VALUES ('old', 'h', 1, 'hygge go', '2026-01-01T00:00:00+00:00',"
            " '2026-01-01T00:00:01+00:00', 'success');"
            " INSERT INTO entity_runs (run_id, flow, entity, run_type, status, rows_written,"
            " started_at) VALUES ('old', 'shop', 'orders', 'incremental', 'success', 7,"
            " '2026-01-01T00:00:00+00:00');"
        )

    with open_journal(tmp_path) as journal:
        (before,) = journal.history()
        journal.start_run("new", "hygge go")
        entity_run_id = journal.start_entity("new", "shop", "orders", "incremental", None)
        added = (SchemaChange("extra", "DOUBLE"), SchemaChange("note", "VARCHAR"))
        journal.finish_entity(
            entity_run_id, status="success", attempts=1, rows_read=2, rows_written=2,
            bytes_written=0, seconds=0.1, schema_changes=added,
        )  # fmt: skip
        after, _ = journal.history()

    assert (before.run_id, before.rows_written, before.schema_changes) == ("old", 7, ())
    assert after.schema_changes == added
    assert raw(tmp_path, "SELECT max(version) FROM schema_version") == [(len(MIGRATIONS),)]


@pytest.mark.sqlite_only
def test_a_file_that_is_not_a_database_gives_a_journal_error(tmp_path: Path) -> None:
    path = journal_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, it is a text file of some length" * 20)
    with pytest.raises(JournalError, match="not a database") as caught:
        open_journal(tmp_path)
    assert str(path) in str(caught.value)


def test_a_closed_journal_refuses_work_and_closes_twice(tmp_path: Path) -> None:
    with open_test_journal(tmp_path) as journal:
        journal.start_run("r", "hygge go")
    with pytest.raises(JournalError, match="is closed"):
        journal.runs()
    journal.close()

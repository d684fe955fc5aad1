"""Faults around a run: a full disk under the store, a journal deleted or damaged between
runs, a source database that dies mid-read. Each ends with a clear error (or a success
that lost nothing), and the destination holds the old snapshot or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tests import proc
from tests.conftest import lake_snapshot, read_lake

FLOW = """\
home: {type: parquet, path: data/orders.parquet}
store: {type: parquet, path: lake/orders}
watermark: {column: id}
"""


def write_orders(root: Path, ids: range, text_bytes: int = 8) -> pl.DataFrame:
    """Orders with incompressible text (random hex) of text_bytes per row; rows already in
    the source keep their text, as an append-only table would."""
    path = root / "data/orders.parquet"
    old = pl.read_parquet(path) if path.exists() else None
    frame = pl.DataFrame(
        {"id": list(ids), "text": [os.urandom(text_bytes).hex() for _ in ids]},
        schema={"id": pl.Int64, "text": pl.String},
    )
    if old is not None:
        frame = pl.concat([old, frame.filter(pl.col("id") > old["id"].max())])
    frame.write_parquet(path)
    return frame


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[None]:
    """A tmpfs of `size` mounted at folder, so writes there run out of space."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a small tmpfs: {mounted.stderr.strip()}")
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def orders(make_project) -> Path:
    root = make_project({"flows/orders/flow.yml": FLOW})
    (root / "data").mkdir()
    return root


@pytest.mark.parametrize("run_type", ["incremental", "full_drop"])
def test_a_full_disk_fails_the_entity_and_keeps_the_old_snapshot(
    orders: Path, run_type: str
) -> None:
    with small_disk(orders / "lake", "2m"):
        write_orders(orders, range(100))
        assert proc.run(orders, "go").returncode == 0
        before = lake_snapshot(orders)
        big = write_orders(orders, range(100, 40_100), text_bytes=64)  # ~5 MB of parquet

        flag = "-i" if run_type == "incremental" else "-d"
        failed = proc.run(orders, "go", flag)

        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "orders.orders" in failed.stdout
        assert "No space left on device" in failed.stdout
        assert "Traceback" not in failed.stdout + failed.stderr
        assert lake_snapshot(orders) == before
        assert [p.name for p in (orders / "lake").iterdir()] == ["orders"]  # no staging left
        big.head(110).write_parquet(orders / "data/orders.parquet")  # room again
        assert proc.run(orders, "go", flag).returncode == 0
        assert sorted(read_lake(orders / "lake/orders")["id"]) == list(range(110))


def test_a_deleted_journal_costs_no_row_and_duplicates_none(orders: Path) -> None:
    first = write_orders(orders, range(10))
    assert proc.run(orders, "go").returncode == 0
    for leftover in (orders / ".hygge").glob("journal.db*"):
        leftover.unlink()
    second = write_orders(orders, range(15))

    result = proc.run(orders, "go")

    assert result.returncode == 0, result.stdout + result.stderr
    lake = read_lake(orders / "lake/orders").sort("id")
    assert lake.to_dicts() == second.to_dicts()
    assert second.head(10).to_dicts() == first.to_dicts()


def test_a_damaged_journal_stops_the_run_and_says_how_to_go_on(orders: Path) -> None:
    write_orders(orders, range(10))
    assert proc.run(orders, "go").returncode == 0
    before = lake_snapshot(orders)
    journal = orders / ".hygge/journal.db"
    journal.write_bytes(b"not a database, and not the journal either" * 100)
    write_orders(orders, range(12))

    damaged = proc.run(orders, "go")

    output = damaged.stdout + damaged.stderr
    assert damaged.returncode == 1, output
    assert str(journal) in output and "move it aside" in output
    assert "Traceback" not in output
    assert lake_snapshot(orders) == before
    journal.rename(journal.with_name("journal.db.damaged"))
    assert proc.run(orders, "go").returncode == 0
    assert sorted(read_lake(orders / "lake/orders")["id"].to_list()) == list(range(12))


def _parent_of(pid: int) -> int:
    """A server backend's parent: the postmaster."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


@pytest.fixture
def private_postgres() -> Iterator[str]:
    """A PostgreSQL server of this test's own: the test kills it."""
    from tests import pg

    try:
        with pg.running_server() as url:
            yield url
    except pg.ServerUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


def test_a_source_server_that_dies_mid_read_publishes_nothing(
    make_project, private_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(private_postgres) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS text"
                       " FROM generate_series(1, 1000) g")  # fmt: skip
        conn.commit()
        cursor.execute("SELECT pg_backend_pid()")
        postmaster = _parent_of(int(cursor.fetchone()[0]))
    flow = "home: {type: postgres, url: '${SRC_URL}', table: orders}\n"
    root = make_project({"flows/orders/flow.yml": flow + "store: {type: parquet, path: lake}\n"})
    monkeypatch.setenv("SRC_URL", private_postgres)
    small_batches = ("--var", "flow.orders.batch_rows=1000")
    assert proc.run(root, "go", *small_batches).returncode == 0
    before = lake_snapshot(root)
    with adbc.connect(private_postgres) as conn, conn.cursor() as cursor:
        cursor.execute("INSERT INTO orders SELECT g, md5(g::text)"
                       " FROM generate_series(1001, 500000) g")  # fmt: skip
        conn.commit()

    marker = root / "paused"
    process = proc.start_paused(root, marker, "go", *small_batches)
    os.kill(postmaster, signal.SIGQUIT)  # an immediate shutdown, as a crash would
    marker.unlink()
    code, out, err = proc.finish(process)

    assert "Traceback" not in out + err
    if code == 0:  # the driver had every row before the server died: the new snapshot
        assert len(read_lake(root / "lake")) == 500_000
    else:
        assert code == 1, out + err
        assert "orders.orders" in out and "failed" in out
        assert "the server may be down" in out  # retried as transient, then given up
        assert "OSError" not in out  # the driver's error, told as such
        assert lake_snapshot(root) == before

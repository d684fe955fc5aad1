"""Connection pools, with a small fake connection (the database issue plugs real drivers in)."""

from __future__ import annotations

import itertools
import threading

import pytest

from hygge.pool import Pool, Pools, PoolTimeout


class FakeConnection:
    ids = itertools.count()

    def __init__(self) -> None:
        self.id = next(self.ids)
        self.alive = True
        self.closed = False


def make_pool(size: int = 2, timeout: float = 5.0) -> Pool[FakeConnection]:
    return Pool(
        "warehouse",
        size,
        FakeConnection,
        close=lambda c: setattr(c, "closed", True),
        is_alive=lambda c: c.alive and not c.closed,
        timeout=timeout,
    )


def test_connections_are_reused_and_bounded() -> None:
    pool = make_pool(size=2, timeout=0.2)
    seen = set()
    for _ in range(5):
        with pool.connection() as connection:
            seen.add(connection.id)
    assert len(seen) == 1 and pool.opened == 1

    in_use = threading.Barrier(3)
    release = threading.Event()

    def borrow() -> None:
        with pool.connection():
            in_use.wait()
            release.wait()

    workers = [threading.Thread(target=borrow) for _ in range(2)]
    for worker in workers:
        worker.start()
    in_use.wait()
    assert pool.opened == 2
    with (
        pytest.raises(PoolTimeout, match="'warehouse': all 2 connections") as error,
        pool.connection(),
    ):
        pass
    assert "pool_size" in (error.value.hint or "")
    assert pool.opened == 2
    release.set()
    for worker in workers:
        worker.join()


def test_a_third_borrower_waits_for_a_free_connection() -> None:
    pool = make_pool(size=1, timeout=10)
    got: list[int] = []
    with pool.connection() as first:
        waiter = threading.Thread(target=lambda: got.append(_borrow_id(pool)))
        waiter.start()
        waiter.join(0.05)
        assert waiter.is_alive() and not got  # still waiting: the only connection is busy
    waiter.join()
    assert got == [first.id]


def _borrow_id(pool: Pool[FakeConnection]) -> int:
    with pool.connection() as connection:
        return connection.id


def test_broken_connections_are_replaced() -> None:
    pool = make_pool(size=1)
    with pool.connection() as connection:
        first = connection
    first.alive = False
    with pool.connection() as connection:
        assert connection is not first
    assert first.closed

    with pytest.raises(RuntimeError), pool.connection() as connection:
        failed = connection
        raise RuntimeError("the server went away")
    assert failed.closed
    with pool.connection() as connection:
        assert connection is not failed


def test_pools_are_per_connection_and_sized_by_config() -> None:
    pools = Pools({"warehouse": 3, "crm": 1})
    warehouse = pools.get("warehouse", FakeConnection)
    assert pools.get("warehouse", FakeConnection) is warehouse
    assert (warehouse.size, pools.get("crm", FakeConnection).size) == (3, 1)
    with warehouse.connection() as connection:
        pass
    pools.close()
    assert pools.get("warehouse", FakeConnection) is not warehouse
    assert connection is not None

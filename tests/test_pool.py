"""Connection pools, with a small fake connection (the database issue plugs real drivers in)."""

from __future__ import annotations

import itertools
import threading

import pytest

from hygge.config.project import load_project
from hygge.errors import ConfigError, PoolTimeout
from hygge.plan import make_plan
from hygge.pool import Pool, Pools
from tests.conftest import ProjectMaker


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

    workers = [threading.Thread(target=borrow, daemon=True) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        in_use.wait()
        assert pool.opened == 2
        with (
            pytest.raises(PoolTimeout, match="'warehouse': all 2 connections") as error,
            pool.connection(),
        ):
            pass
        assert "acquire_timeout or pool_size" in (error.value.hint or "")
        assert pool.opened == 2
    finally:
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


def test_budgets_are_promised_all_or_nothing_and_never_beyond_a_pool() -> None:
    """An entity starts only when every pool it uses has its whole budget free, so the
    budgets of running entities never add up to more than a pool holds."""
    pools = Pools({"warehouse": 3, "crm": 1})
    assert pools.reserve({"warehouse": 2, "crm": 1})
    assert not pools.reserve({"warehouse": 2})  # 2 + 2 > 3
    assert not pools.reserve({"warehouse": 1, "crm": 1})  # crm is full: warehouse stays free
    assert pools.reserve({"warehouse": 1})
    pools.release({"warehouse": 2, "crm": 1})
    assert pools.reserve({"warehouse": 2})
    assert pools.reserve({"inline url 0123456789ab": 4})  # an inline url's pool: the default


def test_an_entity_within_its_budget_never_waits_for_a_connection() -> None:
    """With the budget promised, an entity's read and then its write are served at once: a
    pool that would make either wait (timeout 0) raises instead."""
    pools = Pools({"warehouse": 3}, {"warehouse": 0})
    pool = pools.get("warehouse", FakeConnection)
    budget = {"warehouse": 2}
    assert pools.reserve(budget) and not pools.reserve(budget)
    with pool.connection() as read, pool.connection() as write:
        assert read is not write
    with (  # beyond the pool: the guard answers, naming the connection
        pool.connection(),
        pool.connection(),
        pool.connection(),
        pytest.raises(PoolTimeout, match="'warehouse'"),
        pool.connection(),
    ):
        pass


def test_crowded_pools_are_named_with_the_pool_size_that_would_serve_them() -> None:
    pools = Pools({"warehouse": 2, "crm": 8})
    budgets = [{"warehouse": 2, "crm": 1}] * 3 + [{"crm": 1}]
    (line,) = pools.crowding(budgets, concurrency=4)
    assert line.startswith("connection 'warehouse' (pool_size 2) runs 1 of its 3 entities")
    assert "pool_size 6 would run 3 at once" in line
    assert pools.crowding(budgets, concurrency=1) == []


def test_acquire_timeout_is_a_setting_of_the_connection(make_project: ProjectMaker) -> None:
    flow = """\
        home: {type: parquet, path: data}
        store: {type: postgres, connection: db, table: t}
        """
    hygge_yml = """\
        name: t
        connections:
          db: {type: postgres, url: "postgresql://app@db/shop", pool_size: 3,
               acquire_timeout: 2.5}
        """
    root = make_project({"hygge.yml": hygge_yml, "flows/x/flow.yml": flow})
    plan = make_plan(load_project(root))
    assert plan.pools.get("db", FakeConnection).timeout == 2.5
    assert plan.entities[0].pool_needs == {"db": 1}
    (root / "hygge.yml").write_text(hygge_yml.replace("2.5", "0").replace("        ", ""))
    with pytest.raises(ConfigError, match="acquire_timeout"):
        load_project(root)

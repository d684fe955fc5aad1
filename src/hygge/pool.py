"""Connection pools: one per named connection per coordinator, shared by its entities.

A pool never holds more than `size` connections (`pool_size`); a connection whose user
raised, or that fails its liveness check, is closed and replaced.

No entity ever waits for a connection another entity holds, so none can starve. An entity's
home streams its read on one connection (a partitioned read on several) while its store
writes on another, so an entity needs up to two of a pool at once. Left to themselves, N
entities could each hold a read and wait for a write connection that never frees. Instead
each entity has a budget per pool: the most connections its home and store hold at once
(their `pool_needs()`, summed). The coordinator starts an entity only when every pool it
uses has that budget free (`Pools.reserve`: all pools or none, and it never waits holding
any), and frees the budget when the entity ends. So the budgets of running entities add up
to at most `size`, and an entity asking for a connection holds fewer than its budget: at
least one connection of the pool is free, and the ask never waits on another entity. An
entity whose budget exceeds its pool could never start; planning refuses it.

Asking still gives up after the pool's `timeout` (a connection's `acquire_timeout`), naming
the connection: the guard against a plugin borrowing more than it declared, or a connection
never given back.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

from hygge.errors import PoolTimeout

C = TypeVar("C")
DEFAULT_SIZE = 4  # a connection's pool_size, and the size of an inline url's pool
DEFAULT_TIMEOUT = 30.0  # seconds; a connection's acquire_timeout


class Pool(Generic[C]):
    def __init__(
        self,
        name: str,
        size: int,
        connect: Callable[[], C],
        *,
        close: Callable[[C], None] = lambda connection: None,
        is_alive: Callable[[C], bool] = lambda connection: True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.name = name
        self.size = size
        self.timeout = timeout
        self._connect = connect
        self._close = close
        self._is_alive = is_alive
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[C] = []
        self._guard = threading.Lock()
        self.opened = 0  # connections ever opened, for tests and logs

    @contextlib.contextmanager
    def connection(self) -> Iterator[C]:
        """Borrow a connection; it returns to the pool unless the block raised."""
        connection = self._acquire()
        try:
            yield connection
        except BaseException:
            self._discard(connection)
            raise
        with self._guard:
            self._idle.append(connection)
        self._slots.release()

    def close(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, []
        for connection in idle:
            self._safe_close(connection)

    def _acquire(self) -> C:
        if not self._slots.acquire(timeout=self.timeout):
            raise PoolTimeout(
                f"connection {self.name!r}: all {self.size} connections stayed busy for"
                f" {self.timeout:g}s",
                hint=f"raise acquire_timeout or pool_size of connection {self.name!r}",
            )
        try:
            return self._reuse() or self._open()
        except BaseException:
            self._slots.release()
            raise

    def _reuse(self) -> C | None:
        while True:
            with self._guard:
                if not self._idle:
                    return None
                connection = self._idle.pop()
            if self._is_alive(connection):
                return connection
            self._safe_close(connection)

    def _open(self) -> C:
        connection = self._connect()
        with self._guard:
            self.opened += 1
        return connection

    def _discard(self, connection: C) -> None:
        self._safe_close(connection)
        self._slots.release()

    def _safe_close(self, connection: C) -> None:
        with contextlib.suppress(Exception):
            self._close(connection)


class Pools:
    """The pools of one coordinator, created on first use, sized by each `pool_size` and
    timed by each `acquire_timeout`; and the connection budgets of its running entities."""

    def __init__(
        self, sizes: Mapping[str, int], timeouts: Mapping[str, float] | None = None
    ) -> None:
        self.sizes = dict(sizes)
        self.timeouts = dict(timeouts or {})
        self._pools: dict[str, Pool] = {}  # type: ignore[type-arg]
        self._budgets: dict[str, int] = {}  # pool -> connections promised to running entities
        self._guard = threading.Lock()

    def size(self, name: str) -> int:
        """The pool's size: its connection's pool_size (an inline url's pool: the default)."""
        return self.sizes.get(name, DEFAULT_SIZE)

    def reserve(self, needs: Mapping[str, int]) -> bool:
        """Promise an entity `needs` (pool -> connections) if every pool has them free; all
        or nothing, never waiting. False: start it once a running entity has released."""
        with self._guard:
            if any(self._budgets.get(n, 0) + k > self.size(n) for n, k in needs.items()):
                return False
            for name, count in needs.items():
                self._budgets[name] = self._budgets.get(name, 0) + count
            return True

    def release(self, needs: Mapping[str, int]) -> None:
        """Take back what `reserve(needs)` promised: the entity has ended."""
        with self._guard:
            for name, count in needs.items():
                self._budgets[name] -= count

    def crowding(self, budgets: Sequence[Mapping[str, int]], concurrency: int) -> list[str]:
        """For each pool that serves fewer of these entity budgets at once than concurrency
        would run, a line saying so (the plan shows it, a run warns with it)."""
        lines = []
        for name in sorted({name for budget in budgets for name in budget}):
            needs = sorted(budget[name] for budget in budgets if name in budget)
            size, wanted = self.size(name), min(concurrency, len(needs))
            served = sum(1 for total in itertools.accumulate(needs) if total <= size)
            if served < wanted:
                lines.append(
                    f"connection {name!r} (pool_size {size}) runs {served} of its {len(needs)}"
                    f" entities at a time, fewer than concurrency {concurrency}: an entity"
                    f" holds up to {needs[-1]} of its connections at once; pool_size"
                    f" {sum(needs[-wanted:])} would run {wanted} at once"
                )
        return lines

    def get(
        self,
        name: str,
        connect: Callable[[], C],
        *,
        close: Callable[[C], None] = lambda connection: None,
        is_alive: Callable[[C], bool] = lambda connection: True,
    ) -> Pool[C]:
        """The pool of a connection, made on first use."""
        with self._guard:
            if name not in self._pools:
                timeout = self.timeouts.get(name, DEFAULT_TIMEOUT)
                self._pools[name] = Pool(
                    name, self.size(name), connect, close=close, is_alive=is_alive, timeout=timeout
                )
            return self._pools[name]

    def close(self) -> None:
        with self._guard:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

"""Connection pools: one per named connection per coordinator, shared by its entities.

A pool never holds more than `size` connections; asking for one when all are busy waits
up to `timeout` seconds, then fails with a message naming the connection. A connection
whose user raised, or that fails its liveness check, is closed and replaced.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from hygge.errors import RetryableError

C = TypeVar("C")


class PoolTimeout(RetryableError):
    """Every connection of a pool stayed busy for the whole acquire timeout."""


class Pool(Generic[C]):
    def __init__(
        self,
        name: str,
        size: int,
        connect: Callable[[], C],
        *,
        close: Callable[[C], None] = lambda connection: None,
        is_alive: Callable[[C], bool] = lambda connection: True,
        timeout: float = 30.0,
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
                hint=f"raise pool_size of connection {self.name!r}, or lower concurrency",
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
    """The pools of one coordinator, created on first use, sized by each `pool_size`."""

    def __init__(self, sizes: dict[str, int], timeout: float = 30.0) -> None:
        self.sizes = sizes
        self.timeout = timeout
        self._pools: dict[str, Pool] = {}  # type: ignore[type-arg]
        self._guard = threading.Lock()

    def get(
        self,
        name: str,
        connect: Callable[[], C],
        *,
        close: Callable[[C], None] = lambda connection: None,
        is_alive: Callable[[C], bool] = lambda connection: True,
        size: int | None = None,
    ) -> Pool[C]:
        """The pool of a connection; `size` is for pools no `pool_size` describes."""
        with self._guard:
            if name not in self._pools:
                size = self.sizes.get(name) or size or 1
                self._pools[name] = Pool(
                    name, size, connect, close=close, is_alive=is_alive, timeout=self.timeout
                )
            return self._pools[name]

    def close(self) -> None:
        with self._guard:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

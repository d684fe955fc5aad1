"""Handing items between threads through a bounded queue without waiting forever.

Readers, sinks and bulk ingests run on threads of their own, fed through small queues so that
memory stays bounded. A producer blocked on a full queue must notice when its consumer is
gone (failed, stopped), or it would wait forever: it looks every POLL_SECONDS.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import TypeVar

POLL_SECONDS = 0.1

T = TypeVar("T")


def put_while(items: queue.Queue[T], item: T, listening: Callable[[], bool]) -> bool:
    """Put item into items while `listening()` holds; False (item dropped) once it does not."""
    while listening():
        try:
            items.put(item, timeout=POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False

"""Ctrl-C and SIGTERM: the first stops the run cleanly, a second exits at once.

The first signal raises KeyboardInterrupt in the main thread, where the coordinator turns
it into a cancel: no new entity starts, running ones stop at their next batch and discard
their staging, the journal records `interrupted`, locks are released. A second signal
exits immediately; the next run recovers what was left.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from types import FrameType

from hygge.errors import ExitCode

EXIT_CODES: dict[int, ExitCode] = {
    signal.SIGINT: ExitCode.INTERRUPTED,
    signal.SIGTERM: ExitCode.TERMINATED,
}


class SignalState:
    def __init__(self) -> None:
        self.received: int | None = None

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_CODES.get(self.received or signal.SIGINT, ExitCode.INTERRUPTED)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            os._exit(EXIT_CODES.get(signum, ExitCode.INTERRUPTED))
        self.received = signum
        raise KeyboardInterrupt


def main_thread_only() -> None:
    """Block the stop signals in the calling (worker) thread, and so in the threads it starts.

    The kernel hands a process's signal to any thread not blocking it. Caught by a worker,
    it would only be noticed once the main thread next wakes, and a worker could publish
    in between; with every worker blocking them, the main thread takes each one at once.
    Windows has no signal masks, and runs Python's handlers in the main thread anyway."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, set(EXIT_CODES))


@contextlib.contextmanager
def graceful_signals() -> Iterator[SignalState]:
    """Install the handlers for the duration of a run (main thread only)."""
    state = SignalState()
    previous = {s: signal.signal(s, state.handle) for s in EXIT_CODES}
    try:
        yield state
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

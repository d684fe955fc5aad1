"""Where `hygge go`'s log records and progress lines go, and how often the lines come.

On a terminal the records go through Rich's handler on the console the progress draws on,
so they print above it; elsewhere one plain line a record. hygge's INFO records (an entity
started or finished) are for the log file (`hygge.logfile`): the console has its own lines.
"""

from __future__ import annotations

import logging
import os

from rich.console import Console

from hygge.errors import UsageError

PROGRESS_INTERVAL = "HYGGE_PROGRESS_INTERVAL"  # seconds between progress lines (not a tty)
DEFAULT_PROGRESS_INTERVAL = 10.0


def progress_interval(configured: float | None) -> float:
    """The environment's HYGGE_PROGRESS_INTERVAL, else hygge.yml's, else 10 seconds."""
    given = os.environ.get(PROGRESS_INTERVAL)
    if given is None:
        return configured or DEFAULT_PROGRESS_INTERVAL
    try:
        seconds = float(given)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError(
            f"{PROGRESS_INTERVAL}={given!r} is not a number of seconds",
            hint="give a positive number, e.g. 10 or 0.5, or unset it",
        )
    return seconds


def configure_logging(verbose: int, console: Console) -> None:
    """On the console the progress draws on, so log lines land above it. -v: hygge's own
    debug records; -vv: every library's too."""
    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.WARNING,
        format="%(message)s",
        handlers=[_log_handler(console, verbose)],
        force=True,
    )
    logging.getLogger("hygge").setLevel(logging.DEBUG if verbose else logging.NOTSET)


def _log_handler(console: Console, verbose: int) -> logging.Handler:
    """Rich's handler on a terminal; elsewhere one plain line a record, for grep."""
    from rich.logging import RichHandler

    from hygge.redact import RedactingFilter

    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False)
    else:
        handler = logging.StreamHandler(console.file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
    handler.setLevel(logging.NOTSET if verbose else logging.WARNING)
    handler.addFilter(_not_told_twice)
    handler.addFilter(RedactingFilter())
    return handler


def _not_told_twice(record: logging.LogRecord) -> bool:
    """hygge's INFO records (an entity started, finished) are for log files: the console
    has the progress lines saying the same."""
    return record.levelno != logging.INFO or not record.name.startswith("hygge")

"""`log_file`: a run's log records as JSON lines, one object per record with the run id on
each, in a file rotated by size, secrets masked before anything is written.

The coordinator opens it for the length of a run (so `hygge go` and `hygge.run()` write
alike); hygge's INFO records (entities started and finished) go to it even when the console
shows only warnings, and its DEBUG ones when hygge's logger is at DEBUG (`-v`).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

from hygge.errors import ConfigError
from hygge.redact import RedactingFilter, redact

MAX_BYTES = 10_000_000  # a file this large is rotated
BACKUPS = 5  # rotated files kept: log_file.1 … log_file.5
_LOGGER = "hygge"


class JsonLines(logging.Formatter):
    """A record as one JSON object: time (UTC), level, logger, run id, message."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "run_id": self.run_id,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


@contextlib.contextmanager
def run_log(path: Path | None, run_id: str) -> Iterator[None]:
    """Write hygge's records to path while the block runs (nothing when path is None)."""
    if path is None:
        yield
        return
    handler = _handler(path, run_id)
    logger = logging.getLogger(_LOGGER)
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()


def _handler(path: Path, run_id: str) -> logging.Handler:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS)
    except OSError as exc:
        raise ConfigError(
            f"log_file {path} cannot be written: {exc.strerror or exc}",
            hint="give a path in a folder hygge's user may write, or leave log_file out",
        ) from exc
    handler.setFormatter(JsonLines(run_id))
    handler.addFilter(RedactingFilter())
    return handler

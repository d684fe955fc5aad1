"""The Rich console every command prints through (light: no data library behind it)."""

from __future__ import annotations

import os

from rich.console import Console


def make_console(stderr: bool = False) -> Console:
    """Rich console; when output is not a terminal (cron, CI logs), wide lines are kept whole,
    unless COLUMNS names a width."""
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(stderr=stderr, soft_wrap=True, width=200)
    return console

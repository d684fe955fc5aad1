"""The Rich console every command prints through (light: no data library behind it)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from rich.console import Console


def make_console(stderr: bool = False) -> Console:
    """Rich console; when output is not a terminal (cron, CI logs), wide lines are kept whole,
    unless COLUMNS names a width."""
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(stderr=stderr, soft_wrap=True, width=200)
    return console


def fits(console: Console, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> bool:
    """Would a bordered table of these cells fit the console's width uncut?"""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return sum(widths) + 3 * len(widths) + 1 <= console.width

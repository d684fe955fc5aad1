"""Each batch's way from the home to the store: the rows the window admits, seen by the
checks (the rows a quarantining check holds back go to the quarantine), polished when the
entity has polish. Also what the checks found, as the run summary says it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import polars as pl

from hygge.checks import Checker, CheckReport
from hygge.config.models import Settings
from hygge.plugin import Store
from hygge.polish import Polisher
from hygge.quarantine import Quarantine
from hygge.window import ReadPlan

Admit = Callable[[pl.DataFrame], pl.DataFrame]
OnRows = Callable[[int, int], None]


def admission(
    settings: Settings,
    read: ReadPlan,
    checker: Checker | None,
    held: Quarantine | None,
    run_id: str,
    started: datetime,
) -> tuple[tuple[str, ...], str | None, Admit]:
    """The primary key and merge version as the store names them, and the batches' way."""
    key = tuple(settings.primary_key or ())
    version = settings.watermark.column if settings.watermark else None
    polish: Admit = lambda frame: frame  # noqa: E731
    if settings.polish is not None:
        polisher = Polisher(settings.polish, run_id, started)
        if version is not None:
            version = polisher.destination_key([version])[0]
        key, polish = polisher.destination_key(key), polisher.apply
    if checker is None:
        return key, version, lambda frame: polish(read.admit(frame))

    def admit(frame: pl.DataFrame) -> pl.DataFrame:
        good, rest = checker.observe(read.admit(frame))
        if rest is not None:
            assert held is not None, "a check quarantined rows of an entity without one"
            held.hold(rest, polish)
        return polish(good)

    return key, version, admit


def flushing(held: Quarantine, moved: OnRows) -> OnRows:
    """After each batch the writer writes the rows the checks held back meanwhile."""

    def on_rows(rows: int, size: int) -> None:
        held.flush()
        moved(rows, size)

    return on_rows


def findings(report: CheckReport | None, quarantine: Store[Any] | None) -> list[str]:
    """The checks that warned, and those that quarantined rows, for the summary."""
    if report is None:
        return []
    where = quarantine.destination() if quarantine else ""
    return [
        str(f) if f.on_fail == "warn" else f"{f}: held back in {where}" for f in report.findings
    ]

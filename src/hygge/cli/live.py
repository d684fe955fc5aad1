"""`hygge go`'s progress: Rich's Progress on a terminal, a plain line per running entity
every few seconds elsewhere (cron, CI, an orchestrator's log), so a long run is never silent.

Both are `hygge.progress.Reporter`s fed by the library; they keep what each entity has told
(`Moving`) and say it with the same facts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column
from rich.text import Text

from hygge.plan import PlannedEntity
from hygge.progress import PLANNING, PUBLISHING, QUEUED, Reporter
from hygge.results import EntityResult

_STYLE = {"success": "green", "failed": "bold red", "skipped": "yellow", "interrupted": "magenta"}
_MB = 1_000_000


@dataclass
class Moving:
    """What one entity has told so far."""

    phase: str = QUEUED
    rows: int = 0
    size: int = 0
    total: int | None = None
    started: float | None = None  # monotonic; None while queued

    def elapsed(self, now: float) -> float:
        return now - self.started if self.started is not None else 0.0

    def eta(self, now: float) -> float | None:
        """Seconds left at the rate so far, when the total is known."""
        elapsed = self.elapsed(now)
        if self.total is None or not self.rows or elapsed <= 0:
            return None
        return max(0, self.total - self.rows) * elapsed / self.rows

    def facts(self, now: float) -> str:
        """Phase, rows, size, rates, elapsed, and % with ETA when the total is known."""
        elapsed = self.elapsed(now)
        parts = [self.phase, f"{self.rows:,} rows", f"{self.size / _MB:,.1f} MB"]
        if elapsed > 0 and self.rows:
            rates = self.rows / elapsed, self.size / _MB / elapsed
            parts += [f"{rates[0]:,.0f} rows/s", f"{rates[1]:,.1f} MB/s"]
        parts.append(f"{elapsed:.1f}s")
        eta = self.eta(now)
        if self.total:
            share = min(100.0, 100 * self.rows / self.total)
            parts.append(f"{share:.0f}% of ~{self.total:,}")
        if eta is not None:
            parts.append(f"ETA {eta:.0f}s")
        return ", ".join(parts)


def finished_line(result: EntityResult) -> Text:
    line = Text(f"{result.status:<7}", style=_STYLE[result.status])
    line.append(f" {result.address}: {result.rows:,} rows in {result.seconds:.1f}s")
    if result.error:
        line.append(f" - {result.error.splitlines()[0]}")
    return line


class _Tracking(Reporter):
    """Keeps each entity's `Moving`, guarded for the entities' threads."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.lock = threading.Lock()
        self.moving: dict[str, Moving] = {}

    def __enter__(self) -> _Tracking:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def run_started(self, run_id: str, entities: tuple[PlannedEntity, ...]) -> None:
        with self.lock:
            self.moving = {e.address: Moving() for e in entities}

    def entity_started(self, entity: PlannedEntity) -> None:
        with self.lock:
            moving = self._of(entity)
            moving.started = time.monotonic()
            if moving.phase == QUEUED or moving.phase.startswith("waiting"):
                moving.phase = PLANNING

    def entity_phase(self, entity: PlannedEntity, phase: str) -> None:
        with self.lock:
            moving = self._of(entity)
            moving.phase = phase
            if phase == PUBLISHING and moving.total is not None:
                moving.total = moving.rows  # every row is read: the estimate is done

    def entity_total(self, entity: PlannedEntity, rows: int) -> None:
        with self.lock:
            self._of(entity).total = rows

    def entity_rows(self, entity: PlannedEntity, rows: int, size: int = 0) -> None:
        with self.lock:
            moving = self._of(entity)
            moving.rows, moving.size = rows, size

    def entity_finished(self, result: EntityResult) -> None:
        with self.lock:
            self.moving.pop(result.address, None)
        if not (self.quiet and result.status == "success"):
            self.console.print(finished_line(result), highlight=False)

    def _of(self, entity: PlannedEntity) -> Moving:
        return self.moving.setdefault(entity.address, Moving())


class PlainProgress(_Tracking):
    """Not a terminal: `start` and the result of each entity, and every `interval` seconds
    one `progress` line per running entity."""

    def __init__(self, console: Console, quiet: bool, interval: float) -> None:
        super().__init__(console, quiet)
        self.interval = interval
        self.stop = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name="hygge-progress", daemon=True)

    def __enter__(self) -> PlainProgress:
        if not self.quiet:
            self.ticker.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        if self.ticker.is_alive():
            self.ticker.join()

    def entity_started(self, entity: PlannedEntity) -> None:
        super().entity_started(entity)
        if not self.quiet:
            self.console.print(f"start    {entity.address} ({entity.run_type})", highlight=False)

    def _tick(self) -> None:
        while not self.stop.wait(self.interval):
            now = time.monotonic()
            with self.lock:
                lines = [
                    f"progress {address}: {moving.facts(now)}"
                    for address, moving in sorted(self.moving.items())
                    if moving.started is not None
                ]
            for line in lines:
                self.console.print(line, highlight=False, markup=False)


class _Amount(ProgressColumn):
    """Rows and megabytes moved, and their rates."""

    def render(self, task: Task) -> Text:
        moving: Moving = task.fields["moving"]
        if moving.started is None:
            return Text("")
        elapsed = max(moving.elapsed(time.monotonic()), 1e-9)
        text = f"{_short(moving.rows):>6} rows {moving.size / _MB:>7,.1f} MB"
        if moving.rows:
            rows, megabytes = moving.rows / elapsed, moving.size / _MB / elapsed
            text += f"\n{_short(rows):>6} rows/s {megabytes:>5,.1f} MB/s"
        return Text(text)


def _short(count: float) -> str:
    """1,234 / 12.3k / 4.5M: a number in at most six characters."""
    for threshold, size, unit in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if count >= threshold:
            return f"{count / size:.1f}{unit}"
    return f"{count:,.0f}"


class _Share(ProgressColumn):
    """% and ETA, shown only when the home told the total."""

    def render(self, task: Task) -> Text:
        moving: Moving = task.fields["moving"]
        eta = moving.eta(time.monotonic())
        if moving.total is None or not moving.total:
            return Text("")
        share = min(100.0, 100 * moving.rows / moving.total)
        left = f"\nETA {_clock(eta)}" if eta is not None else ""
        return Text(f"{share:3.0f}%{left}")


def _clock(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hour, minute = divmod(minutes, 60)
    return f"{hour}:{minute:02}:{second:02}"


class TerminalProgress(_Tracking):
    """A terminal: Rich's Progress, one line per entity (queued ones too), finished ones
    printed above it, as are log lines sent to the same console."""

    def __init__(self, console: Console, quiet: bool) -> None:
        super().__init__(console, quiet)
        self.progress = Progress(
            TextColumn(
                "{task.description}\n[cyan]{task.fields[phase]}",
                table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis"),
            ),
            BarColumn(bar_width=10),
            _Share(),
            _Amount(),
            TimeElapsedColumn(),
            console=console,
            expand=True,
            transient=True,
            refresh_per_second=8,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> TerminalProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def run_started(self, run_id: str, entities: tuple[PlannedEntity, ...]) -> None:
        super().run_started(run_id, entities)
        for e in entities:
            moving = self.moving[e.address]
            self.tasks[e.address] = self.progress.add_task(
                e.address, start=False, total=None, phase=moving.phase, moving=moving
            )

    def entity_started(self, entity: PlannedEntity) -> None:
        super().entity_started(entity)
        self.progress.start_task(self._task(entity))

    def entity_phase(self, entity: PlannedEntity, phase: str) -> None:
        super().entity_phase(entity, phase)
        with self.lock:
            moving = self.moving[entity.address]
        if moving.total is not None:
            self.progress.update(self._task(entity), completed=moving.rows, total=moving.total)
        self.progress.update(self._task(entity), phase=phase)

    def entity_total(self, entity: PlannedEntity, rows: int) -> None:
        super().entity_total(entity, rows)
        self.progress.update(self._task(entity), total=max(rows, 1))

    def entity_rows(self, entity: PlannedEntity, rows: int, size: int = 0) -> None:
        super().entity_rows(entity, rows, size)
        with self.lock:
            total = self.moving[entity.address].total
        if total is not None:
            self.progress.update(self._task(entity), completed=min(rows, total), total=total)

    def entity_finished(self, result: EntityResult) -> None:
        task = self.tasks.pop(result.address, None)
        if task is not None:
            self.progress.remove_task(task)
        super().entity_finished(result)

    def _task(self, entity: PlannedEntity) -> TaskID:
        if entity.address not in self.tasks:
            moving = self._of(entity)
            self.tasks[entity.address] = self.progress.add_task(
                entity.address, start=False, total=None, phase=moving.phase, moving=moving
            )
        return self.tasks[entity.address]


def progress_for(console: Console, quiet: bool, interval: float) -> _Tracking:
    """The reporter for this console: live on a terminal, plain lines elsewhere."""
    if console.is_terminal:
        return _Tracking(console, quiet) if quiet else TerminalProgress(console, quiet)
    return PlainProgress(console, quiet, interval)

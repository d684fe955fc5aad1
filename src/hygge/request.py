"""A run as `hygge go` and `hygge.run()` ask for it, checked and carried out in one place, so
the command and the library cannot drift: an orchestrator gets everything the CLI can do.

A request selects flows and entities (globs, comma lists, a run type suffix `:d` per term),
may force one run type on all of them, overrides settings (`--var` texts), reads a one-off
window (`backfill.py`), and waits for entities another run holds. What can be refused
without a project is refused when the request is made; the rest when it is planned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

from hygge.backfill import backfill_of, check_backfill
from hygge.config.models import RUN_TYPE_ALIASES, RunType
from hygge.config.project import Project, as_project
from hygge.coordinator import LIBRARY_COMMAND, Coordinator
from hygge.errors import UsageError
from hygge.plan import Plan, make_plan
from hygge.progress import Reporter
from hygge.results import RunResult
from hygge.selection import Selection
from hygge.window import Backfill


@dataclass(frozen=True)
class RunRequest:
    """What to run and how; the options of `hygge go` (see its --help)."""

    flows: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    run_type: RunType | None = None
    concurrency: int | None = None
    variables: tuple[str, ...] = ()
    backfill_from: object = None
    backfill_to: object = None
    wait_seconds: float = 0.0
    exclude: tuple[str, ...] = ()
    log_file: str | None = None  # else the project's log_file
    tags: tuple[str, ...] = ()
    round_id: str | None = None
    backfill: Backfill | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        """Refuse what needs no project to be refused, before one is loaded."""
        if self.concurrency is not None and self.concurrency < 1:
            raise UsageError(f"concurrency {self.concurrency} runs nothing", hint="give 1 or more")
        if self.wait_seconds < 0:
            raise UsageError(
                f"wait {self.wait_seconds} is negative",
                hint="give the seconds to wait for held entities, 0 to skip them",
            )
        if self.round_id is not None and not self.round_id.strip():
            raise UsageError("--round needs an id", hint="e.g. the scheduler's logical date")
        window = backfill_of(self.backfill_from, self.backfill_to, self.flows, self.entities)
        object.__setattr__(self, "backfill", window)

    def plan(self, project: Project, dry_run: bool = False) -> Plan:
        """The plan, with the window's rules checked. A dry run reads no rows, so the
        window's values wait for the run; it gets the cheap checks a run starts with
        (`preflight`) instead, and nothing is connected to or written."""
        selection = Selection.parse(self.flows, self.entities, self.exclude, self.tags)
        plan = make_plan(project, selection, self.run_type, self.concurrency, self.variables)
        if self.backfill is not None:
            check_backfill(plan, self.backfill, typed=not dry_run)
        if dry_run:
            plan.preflight()
        return plan

    def execute(
        self,
        plan: Plan,
        reporter: Reporter | None = None,
        command: str = LIBRARY_COMMAND,
        run_id: str | None = None,
    ) -> RunResult:
        """Run the plan; `command` is what the journal and the lock holders record."""
        coordinator = Coordinator(
            plan,
            reporter,
            self.backfill,
            command,
            self.wait_seconds,
            run_id,
            self.log_file,
            self.round_id,
        )
        return coordinator.run()


def names(value: str | Iterable[str]) -> tuple[str, ...]:
    """One name or several: a single string is one item, not its letters."""
    return (value,) if isinstance(value, str) else tuple(value)


def run_type_of(value: str | None) -> RunType | None:
    """A run type or one of its aliases (docs/architecture.md, Run types)."""
    if value is None:
        return None
    parsed = RUN_TYPE_ALIASES.get(value.strip().lower())
    if parsed is None:
        raise UsageError(
            f"run_type {value!r} is not a run type",
            hint="use incremental (i), full_drop (d) or merge (m)",
        )
    return parsed


@overload
def run(
    project: Project | str | Path | None = None,
    *,
    flows: str | Iterable[str] = (),
    entities: str | Iterable[str] = (),
    exclude: str | Iterable[str] = (),
    tags: str | Iterable[str] = (),
    run_type: str | None = None,
    concurrency: int | None = None,
    variables: str | Iterable[str] = (),
    backfill_from: object = None,
    backfill_to: object = None,
    wait: float = 0.0,
    round_id: str | None = None,
    dry_run: Literal[False] = False,
    reporter: Reporter | None = None,
    log_file: str | None = None,
) -> RunResult: ...


@overload
def run(
    project: Project | str | Path | None = None,
    *,
    flows: str | Iterable[str] = (),
    entities: str | Iterable[str] = (),
    exclude: str | Iterable[str] = (),
    tags: str | Iterable[str] = (),
    run_type: str | None = None,
    concurrency: int | None = None,
    variables: str | Iterable[str] = (),
    backfill_from: object = None,
    backfill_to: object = None,
    wait: float = 0.0,
    round_id: str | None = None,
    dry_run: Literal[True],
    reporter: Reporter | None = None,
    log_file: str | None = None,
) -> Plan: ...


def run(
    project: Project | str | Path | None = None,
    *,
    flows: str | Iterable[str] = (),
    entities: str | Iterable[str] = (),
    exclude: str | Iterable[str] = (),
    tags: str | Iterable[str] = (),
    run_type: str | None = None,
    concurrency: int | None = None,
    variables: str | Iterable[str] = (),
    backfill_from: object = None,
    backfill_to: object = None,
    wait: float = 0.0,
    round_id: str | None = None,
    dry_run: bool = False,
    reporter: Reporter | None = None,
    log_file: str | None = None,
) -> RunResult | Plan:
    """Run a project (or the selected flows/entities) and return one result per entity; with
    `dry_run`, return the plan instead and run nothing. The keywords are `hygge go`'s options:
    `entities=["shop.orders:d"]`, `exclude=["shop.big_table"]`, `tags=["nightly"]`,
    `variables=["flow.shop.batch_rows=5000"]`, `backfill_from`/`backfill_to` (--from/--to),
    `wait` (--wait SECONDS), `log_file` (--log-file), `round_id` (--round ID). `reporter`
    hears each entity's phase and rows as the run goes (`hygge.progress.Reporter`). Bad input
    raises the error `hygge go` reports, with its exit code."""
    request = RunRequest(
        names(flows),
        names(entities),
        run_type_of(run_type),
        concurrency,
        names(variables),
        backfill_from,
        backfill_to,
        wait,
        names(exclude),
        log_file,
        names(tags),
        round_id,
    )
    plan = request.plan(as_project(project), dry_run=dry_run)
    return plan if dry_run else request.execute(plan, reporter)

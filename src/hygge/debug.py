"""What `hygge debug` checks, as a library function: an orchestrator's health check (or the
CLI) calls `check_project` and gets plain results, no terminal needed.

Every named connection is opened once; every entity's home and store check themselves, and
the columns a run relies on are checked against the home's schema and the journal's
committed watermark (`entity_checks`). Nothing is written: a project without a journal
gets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hygge.config.connection_models import SqliteJournalConfig
from hygge.config.project import Project, load_project
from hygge.engines.driver import connection_problems
from hygge.entity_checks import entity_problems
from hygge.errors import ExitCode
from hygge.journal import WatermarkRecord, journal_path, open_project_journal
from hygge.plan import Plan, make_plan
from hygge.redact import redact


@dataclass(frozen=True)
class Check:
    """One thing checked and what is wrong with it (nothing: it is fine). Texts are
    redacted: a driver's message may quote a URL with its password."""

    kind: Literal["connection", "entity"]
    name: str  # the connection's name, or the entity's address F.E
    route: str = ""  # an entity's home -> store
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ProjectCheck:
    """Everything `check_project` found, connections first, entities in plan order."""

    project: str
    root: Path
    flows: int
    connections: tuple[Check, ...]
    entities: tuple[Check, ...]

    @property
    def problems(self) -> int:
        return sum(len(c.problems) for c in (*self.connections, *self.entities))

    @property
    def exit_code(self) -> ExitCode:
        """`hygge debug`'s status: 1 on any problem (docs/architecture.md, Exit codes)."""
        return ExitCode.FAILED if self.problems else ExitCode.OK


def check_project(project: Project | str | Path | None = None) -> ProjectCheck:
    """Check the config, every named connection, home and store, and the columns and
    committed watermarks of every entity, reading no rows. A config error raises (as a
    run's would); what the servers and sources say comes back as problems."""
    if not isinstance(project, Project):
        project = load_project(project)
    if project.unresolved:  # checking every connection needs every variable
        raise next(iter(project.unresolved.values()))
    plan = make_plan(project)
    connections = tuple(
        Check("connection", name, problems=_redacted(connection_problems(name, connection)))
        for name, connection in project.spec.connections.items()
    )
    stored = _committed_watermarks(plan)
    entities = tuple(
        Check(
            "entity",
            entity.address,
            redact(f"{entity.home.describe()} \u2192 {entity.store.destination()}"),
            _redacted(entity_problems(entity, stored.get((entity.flow, entity.name)))),
        )
        for entity in plan.entities
    )
    return ProjectCheck(project.name, project.root, len(project.flows), connections, entities)


def _redacted(problems: list[str]) -> tuple[str, ...]:
    return tuple(redact(problem) for problem in problems)


def _committed_watermarks(plan: Plan) -> dict[tuple[str, str], WatermarkRecord]:
    """The journal's watermarks of the plan's entities by (flow, entity); none when there is
    no journal yet (a check creates none)."""
    config = plan.project.spec.journal
    if (
        isinstance(config, SqliteJournalConfig)
        and not journal_path(plan.project.root, config.path).exists()
    ):
        return {}
    with open_project_journal(plan.project) as journal:
        marks = {(e.flow, e.name): journal.watermark(e.flow, e.name) for e in plan.entities}
    return {address: mark for address, mark in marks.items() if mark is not None}

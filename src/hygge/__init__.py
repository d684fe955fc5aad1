"""hygge: move data from where it lives to where it should settle.

The public API: load a project, check it, plan a run, run it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hygge.config.models import RunType
from hygge.config.project import Project, load_project
from hygge.coordinator import Coordinator, Reporter
from hygge.debug import Check, ProjectCheck, check_project
from hygge.errors import ConfigError, EntityError, HyggeError, UsageError
from hygge.plan import Plan, PlannedEntity, make_plan
from hygge.results import EntityResult, RunResult
from hygge.selection import Selection

__version__ = "0.1.0"

__all__ = [
    "Check",
    "ConfigError",
    "EntityError",
    "EntityResult",
    "HyggeError",
    "Plan",
    "PlannedEntity",
    "Project",
    "ProjectCheck",
    "RunResult",
    "Selection",
    "UsageError",
    "__version__",
    "check_project",
    "load_project",
    "make_plan",
    "run",
]


def run(
    project: Project | str | Path | None = None,
    *,
    flows: Iterable[str] = (),
    entities: Iterable[str] = (),
    run_type: RunType | None = None,
    concurrency: int | None = None,
    reporter: Reporter | None = None,
) -> RunResult:
    """Run a project (or the selected flows/entities) and return one result per entity."""
    if not isinstance(project, Project):
        project = load_project(project)
    plan = make_plan(project, Selection.parse(flows, entities), run_type, concurrency)
    return Coordinator(plan, reporter).run()

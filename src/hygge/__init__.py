"""hygge: move data from where it lives to where it should settle.

The public API: load a project, check it, plan a run, run it (`run` takes every option of
`hygge go`; `steering` reads and sets the journal's watermarks).
"""

from __future__ import annotations

from hygge.config.project import Project, load_project
from hygge.debug import ProjectCheck, check_project
from hygge.errors import ConfigError, EntityError, HyggeError, UsageError
from hygge.plan import Plan, PlannedEntity, make_plan
from hygge.request import run
from hygge.results import EntityResult, RunResult
from hygge.selection import Selection

__version__ = "0.1.0"

__all__ = [
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

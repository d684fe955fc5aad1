"""hygge: move data from where it lives to where it should settle.

The public API: load a project, check it, plan a run, run it (`run` takes every option of
`hygge go`; `steering` reads and sets the journal's watermarks). The names load on first use,
so `import hygge` (and `hygge --version`) costs no data library's import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_HOMES = {  # a public name -> the module that defines it
    "ConfigError": "hygge.errors",
    "EntityError": "hygge.errors",
    "HyggeError": "hygge.errors",
    "UsageError": "hygge.errors",
    "EntityResult": "hygge.results",
    "RunResult": "hygge.results",
    "Plan": "hygge.plan",
    "PlannedEntity": "hygge.plan",
    "make_plan": "hygge.plan",
    "Project": "hygge.config.project",
    "load_project": "hygge.config.project",
    "ProjectCheck": "hygge.debug",
    "check_project": "hygge.debug",
    "Selection": "hygge.selection",
    "Reporter": "hygge.progress",
    "run": "hygge.request",
}

if TYPE_CHECKING:
    from hygge.config.project import Project, load_project
    from hygge.debug import ProjectCheck, check_project
    from hygge.errors import ConfigError, EntityError, HyggeError, UsageError
    from hygge.plan import Plan, PlannedEntity, make_plan
    from hygge.progress import Reporter
    from hygge.request import run
    from hygge.results import EntityResult, RunResult
    from hygge.selection import Selection

__all__ = [
    "ConfigError",
    "EntityError",
    "EntityResult",
    "HyggeError",
    "Plan",
    "PlannedEntity",
    "Project",
    "ProjectCheck",
    "Reporter",
    "RunResult",
    "Selection",
    "UsageError",
    "__version__",
    "check_project",
    "load_project",
    "make_plan",
    "run",
]


def __getattr__(name: str) -> object:
    """A public name, imported from its module when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'hygge' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value

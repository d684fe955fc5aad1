"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

project_option = click.option(
    "--project",
    "-p",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder (default: found by walking up from the current folder).",
)

JSON_OUTPUT = "hygge.json"  # in the context's meta: the command was asked for JSON


def _remember_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """Noted as the options are parsed, so an error raised later is written as JSON too."""
    ctx.meta[JSON_OUTPUT] = value
    return value


F = TypeVar("F", bound=Callable[..., Any])


def json_option(help: str = "Machine-readable output on stdout.") -> Callable[[F], F]:
    """`--json`: output for scripts and orchestrators, errors included."""
    return click.option("--json", "as_json", is_flag=True, callback=_remember_json, help=help)


def complete_entities(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of `F.E`: the addresses of the project around the current folder."""
    return [a for a in _addresses(ctx) if a.startswith(incomplete)]


def complete_flows(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of a flow name."""
    flows = sorted({a.partition(".")[0] for a in _addresses(ctx)})
    return [f for f in flows if f.startswith(incomplete)]


def _addresses(ctx: click.Context) -> list[str]:
    """Every entity address, or none when no project loads (completion never fails)."""
    from hygge.config.project import load_project
    from hygge.errors import HyggeError

    try:
        project = load_project(ctx.params.get("project_dir"))
    except HyggeError:
        return []
    return [f"{f.name}.{e.name}" for f in project.flows for e in f.entities]

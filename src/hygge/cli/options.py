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

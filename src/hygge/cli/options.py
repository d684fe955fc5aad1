"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

project_option = click.option(
    "--project",
    "-p",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder (default: found by walking up from the current folder).",
)

"""`hygge history` and `hygge journal show|reset|set`: reading and steering the journal."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from hygge.cli.options import project_option
from hygge.cli.render import make_console
from hygge.cli.render_journal import history_json, print_history, print_watermarks, watermarks_json
from hygge.config.project import Project, load_project
from hygge.errors import UsageError, WatermarkError
from hygge.journal import Journal, WatermarkCommit, open_journal
from hygge.plan import PlannedEntity, make_plan
from hygge.selection import Selection
from hygge.watermark import mark_from_user


@click.command()
@project_option
@click.option("--entity", "entity", metavar="F.E", help="Only this entity.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def history(project_dir: Path | None, entity: str | None, limit: int, as_json: bool) -> None:
    """What ran: entity runs, newest first."""
    project = load_project(project_dir)
    flow, name = _address(project, entity) if entity else (None, None)
    with _journal(project) as journal:
        records = journal.history(flow, name, limit)
    if as_json:
        click.echo(json.dumps(history_json(records), indent=2))
    else:
        print_history(make_console(), records)


@click.group()
def journal() -> None:
    """Show, reset or set committed watermarks (changes are audited)."""


@journal.command()
@project_option
@click.option("--entity", "entity", metavar="F.E", help="Only this entity.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(project_dir: Path | None, entity: str | None, as_json: bool) -> None:
    """Committed watermarks, and the audit trail of changes made by hand."""
    project = load_project(project_dir)
    addresses = [_address(project, entity)] if entity else _all_addresses(project)
    with _journal(project) as book:
        marks = [(f, e, book.watermark(f, e)) for f, e in addresses]
        audit = book.audit(*(_address(project, entity) if entity else (None, None)))
    if as_json:
        click.echo(json.dumps(watermarks_json(marks, audit), indent=2))
    else:
        print_watermarks(make_console(), marks, audit)


@journal.command()
@project_option
@click.option("--entity", "entity", required=True, metavar="F.E")
@click.option("--reason", default="reset from the command line", show_default=True)
def reset(project_dir: Path | None, entity: str, reason: str) -> None:
    """Forget an entity's watermark: its next incremental run reads from the start."""
    project = load_project(project_dir)
    flow, name = _address(project, entity)
    with _journal(project) as book:
        done = book.reset_watermark(flow, name, user=_user(), reason=reason)
    click.echo(f"{entity}: watermark reset" if done else f"{entity}: had no watermark")


@journal.command(name="set")
@project_option
@click.option("--entity", "entity", required=True, metavar="F.E")
@click.option("--to", "value", required=True, metavar="VALUE", help="In the column's type.")
@click.option("--reason", default="set from the command line", show_default=True)
def set_(project_dir: Path | None, entity: str, value: str, reason: str) -> None:
    """Set an entity's watermark; its next incremental run starts there."""
    project = load_project(project_dir)
    planned = _planned(project, entity)
    watermark = planned.settings.watermark
    if watermark is None:
        raise UsageError(
            f"{entity} has no watermark configured", hint="set watermark: {column: ...}"
        )
    dtype = planned.home.schema().get(watermark.column)
    if dtype is None:
        raise UsageError(
            f"{entity}: column {watermark.column!r} is not in {planned.home.describe()}"
        )
    try:
        mark = mark_from_user(value, dtype, watermark.column)
    except WatermarkError as exc:  # a value the user typed: nothing was changed
        raise UsageError(f"{entity}: --to {exc.message}", hint=exc.hint) from None
    with _journal(project) as book:
        book.set_watermark(
            planned.flow,
            planned.name,
            WatermarkCommit(watermark.column, mark.encode(), None),
            user=_user(),
            reason=reason,
        )
    click.echo(f"{entity}: watermark set to {mark.display()}")


def _journal(project: Project) -> Journal:
    return open_journal(project.root, project.spec.journal.path)


def _planned(project: Project, entity: str) -> PlannedEntity:
    plan = make_plan(project, _one_entity(entity))
    if len(plan.entities) != 1:
        raise UsageError(f"--entity {entity!r} must name exactly one entity")
    return plan.entities[0]


def _address(project: Project, entity: str) -> tuple[str, str]:
    picked = _one_entity(entity).pick(_all_addresses(project))
    if len(picked) != 1:
        raise UsageError(f"--entity {entity!r} must name exactly one entity")
    return next(iter(picked))


def _one_entity(entity: str) -> Selection:
    """An entity's address: a run type suffix (`:d`) chooses how `go` runs, so here it
    would be silently meaningless."""
    if ":" in entity:
        address = entity.partition(":")[0]
        raise UsageError(
            f"--entity {entity!r}: a run type suffix means nothing here",
            hint=f"name the entity alone: --entity {address}",
        )
    return Selection.parse((), (entity,))


def _all_addresses(project: Project) -> list[tuple[str, str]]:
    return [(f.name, e.name) for f in project.flows for e in f.entities]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

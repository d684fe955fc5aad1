"""`hygge history` and `hygge journal show|reset|set`: reading and steering the journal.

The work is `hygge.steering`'s; these commands parse the options and print what it returns
(importing it when they run, as `hygge.cli.commands` explains).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from hygge.cli.console import make_console
from hygge.cli.options import json_option, project_option


@click.command()
@project_option
@click.option("--entity", "entity", metavar="F.E", help="Only this entity.")
@click.option("--run", "run_id", metavar="ID", help="Only this run (its id, or a start of it).")
@click.option(
    "--status",
    type=click.Choice(["success", "failed", "skipped", "interrupted", "running"]),
    help="Only entity runs that ended so.",
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--round", "round_id", metavar="ID", help="Only the runs of round ID.")
@json_option()
def history(
    project_dir: Path | None,
    entity: str | None,
    run_id: str | None,
    status: str | None,
    limit: int,
    round_id: str | None,
    as_json: bool,
) -> None:
    """What ran: entity runs, newest first, with the run id, rows, the watermark before and
    after, and the one-off window (--from/--to) when there was one."""
    from hygge import steering
    from hygge.cli.render_journal import history_json, print_history

    records = steering.history(project_dir, entity, limit, run_id, status, round_id)
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
@json_option()
def show(project_dir: Path | None, entity: str | None, as_json: bool) -> None:
    """Committed watermarks, and the audit trail of changes made by hand."""
    from hygge import steering
    from hygge.cli.render_journal import print_watermarks, watermarks_json

    marks, audit = steering.watermarks(project_dir, entity)
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
    from hygge import steering

    done = steering.reset_watermark(project_dir, entity, reason)
    click.echo(f"{entity}: watermark reset" if done else f"{entity}: had no watermark")


@journal.command(name="set")
@project_option
@click.option("--entity", "entity", required=True, metavar="F.E")
@click.option("--to", "value", required=True, metavar="VALUE", help="In the column's type.")
@click.option("--reason", default="set from the command line", show_default=True)
def set_(project_dir: Path | None, entity: str, value: str, reason: str) -> None:
    """Set an entity's watermark; its next incremental run starts there."""
    from hygge import steering

    mark = steering.set_watermark(project_dir, entity, value, reason)
    click.echo(f"{entity}: watermark set to {mark.display()}")


@journal.command()
@project_option
@click.option("--to", "to", required=True, metavar="CONNECTION", help="A postgres connection.")
@click.option("--schema", default="hygge", show_default=True, help="Where in that database.")
def migrate(project_dir: Path | None, to: str, schema: str) -> None:
    """Copy the SQLite journal into PostgreSQL: runs, watermarks, their state, the audit."""
    from hygge import steering

    where, done = steering.migrate_journal(project_dir, to, schema)
    copied = ", ".join(f"{count} {table.replace('_', ' ')}" for table, count in done.counts.items())
    click.echo(f"copied {copied} into {where}")
    click.echo(
        f"point hygge.yml at it: journal: {{type: postgres, connection: {to}, schema: {schema}}}"
    )

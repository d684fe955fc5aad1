"""The `hygge` command: thin Click commands over the library.

`HyggeCommandGroup.invoke` is the one place that turns a HyggeError into a message
and an exit status (docs/architecture.md, Exit codes). A command imports what it needs when
it runs, so `hygge --version` and `--help` load no data library.
"""

from __future__ import annotations

import json
import shlex
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hygge import __version__
from hygge.cli.console import make_console
from hygge.cli.journal import history, journal
from hygge.cli.options import (
    JSON_OUTPUT,
    complete_entities,
    complete_flows,
    json_option,
    project_option,
)
from hygge.errors import ExitCode, HyggeError, UsageError
from hygge.redact import redact

if TYPE_CHECKING:
    from hygge.config.models import RunType


class HyggeCommandGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HyggeError as exc:
            from rich.markup import escape

            if ctx.meta.get(JSON_OUTPUT):
                error = {"message": redact(exc.message), "hint": redact(exc.hint or "") or None}
                click.echo(json.dumps({"error": error, "exit_code": int(exc.exit_code)}, indent=2))
            console = make_console(stderr=True)
            console.print(f"[bold red]error:[/] {escape(redact(exc.message))}", highlight=False)
            if exc.hint:
                console.print(f"[dim]hint:[/] {escape(redact(exc.hint))}", highlight=False)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            make_console(stderr=True).print("interrupted")
            ctx.exit(ExitCode.INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception:  # a bug: its traceback, which may quote a secret, masked
            sys.stderr.write(redact(traceback.format_exc()))
            ctx.exit(ExitCode.FAILED)


@click.group(cls=HyggeCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hygge")
def main() -> None:
    """hygge moves tables from where they live (homes) to where they should settle (stores)."""


@main.command()
@click.argument("name", type=click.Path(path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Add missing files to an existing folder; never deletes or overwrites.",
)
def init(name: Path, force: bool) -> None:
    """Create a runnable project with sample data in NAME."""
    from hygge.cli.scaffold import init_project

    result = init_project(name, force=force)
    console = make_console()
    for path in result.kept:
        console.print(f"kept     {path}", highlight=False)
    console.print(f"created {len(result.created)} files in {result.root}", highlight=False)
    console.print(f"next: cd {result.root} && hygge go", highlight=False)


@main.command()
@project_option
@click.option(
    "-f",
    "--flow",
    "flows",
    multiple=True,
    metavar="F[:RT]",
    shell_complete=complete_flows,
    help="Run these flows (repeatable, comma-separated, globs).",
)
@click.option(
    "-e",
    "--entity",
    "entities",
    multiple=True,
    metavar="F.E[:RT]",
    shell_complete=complete_entities,
    help="Run these entities, e.g. shop.orders:d or 'shop.*'.",
)
@click.option(
    "-x",
    "--exclude",
    "exclude",
    multiple=True,
    metavar="F|F.E",
    help="Leave out these flows or entities (repeatable, comma-separated, globs).",
)
@click.option(
    "-t",
    "--tag",
    "tags",
    multiple=True,
    metavar="T",
    help="Only entities with one of these tags (repeatable; an entity has its flow's tags).",
)
@click.option(
    "-i",
    "--incremental",
    is_flag=True,
    help="Run every selected entity incrementally (unless a suffix says otherwise).",
)
@click.option(
    "-d",
    "--full-drop",
    is_flag=True,
    help="Replace every selected entity with a full copy (unless a suffix says otherwise).",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    help="Entities moved at once (default: options.concurrency).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan; write nothing, connect to nothing (with -v: read each home's columns"
    " to show the destination's, no rows).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="hygge's decisions (plan, windows, SQL, timings), settings with their sources,"
    " tracebacks; -vv adds the libraries' debug logs.",
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="flow.F[.entities.E|entities[N]].KEY=V",
    help="Override a setting, e.g. flow.shop.batch_rows=5000 or flow.shop.primary_key=[id] (YAML).",
)
@click.option(
    "--from",
    "backfill_from",
    metavar="V",
    help="One-off window from V (inclusive); the stored watermark does not move.",
)
@click.option("--to", "backfill_to", metavar="V", help="Upper bound (inclusive) of --from.")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="Wait up to SECONDS for entities another run holds (default: skip them, exit 75).",
)
@click.option(
    "--round",
    "round_id",
    metavar="ID",
    help="Work on round ID with the other workers given it: run what none has done yet.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only failures and the totals line.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Also write the run's log as JSON lines to PATH (default: log_file in hygge.yml).",
)
@json_option("Print a machine-readable summary on stdout (errors too).")
def go(
    project_dir: Path | None,
    flows: tuple[str, ...],
    entities: tuple[str, ...],
    exclude: tuple[str, ...],
    tags: tuple[str, ...],
    incremental: bool,
    full_drop: bool,
    concurrency: int | None,
    dry_run: bool,
    verbose: int,
    variables: tuple[str, ...],
    backfill_from: str | None,
    backfill_to: str | None,
    wait_seconds: float,
    round_id: str | None,
    quiet: bool,
    log_file: str | None,
    as_json: bool,
) -> None:
    """Move the selected entities (all by default).

    Overlapping runs are safe: an entity (or destination) that another `hygge go` holds is
    skipped with the holder named, or waited for with --wait SECONDS.

    \b
    Exit status: 0 all selected entities succeeded (or had nothing new)
                 1 an entity failed
                 2 usage or config error (nothing ran)
                 75 nothing failed, but entities held by another run were skipped
                    (--round: every entity was done by other workers)
                 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)
    """
    from hygge.cli.live import progress_for
    from hygge.cli.logs import configure_logging, progress_interval
    from hygge.cli.render import plan_json, print_plan, print_summary, result_json
    from hygge.config.project import load_project
    from hygge.peek import destination_columns
    from hygge.redact import redact_argv
    from hygge.request import RunRequest
    from hygge.signals import graceful_signals

    if incremental and full_drop:
        raise UsageError("--incremental and --full-drop exclude each other", hint="choose one")
    if quiet and verbose:
        raise UsageError("--quiet and --verbose exclude each other", hint="choose one")
    err = make_console(stderr=True)
    configure_logging(verbose, err)
    run_type: RunType | None = "incremental" if incremental else "full_drop" if full_drop else None
    request = RunRequest(
        flows,
        entities,
        run_type,
        concurrency,
        variables,
        backfill_from,
        backfill_to,
        wait_seconds,
        exclude,
        log_file,
        tags,
        round_id,
    )
    project = load_project(project_dir)
    plan = request.plan(project, dry_run=dry_run)
    out = make_console(stderr=as_json)
    if dry_run:
        landing = destination_columns(plan) if verbose else None
        if as_json:
            click.echo(json.dumps(plan_json(plan, landing), indent=2))
        else:
            print_plan(out, plan, bool(verbose), landing)
        return
    command = shlex.join(redact_argv(sys.argv))
    interval = progress_interval(project.spec.options.progress_interval)
    with (
        graceful_signals() as signals,
        progress_for(err, quiet or as_json, interval) as progress,
    ):
        result = request.execute(plan, progress, command)
    if as_json:
        click.echo(json.dumps(result_json(result), indent=2))
    else:
        print_summary(out, result, project.root, verbose=bool(verbose), quiet=quiet)
    sys.exit(signals.exit_code if result.interrupted else result.exit_code)


@main.command()
@project_option
def debug(project_dir: Path | None) -> None:
    """Check the config, every named connection, home and store, the watermark, key and
    partition columns (no rows read) and the committed watermarks; non-zero on a problem."""
    from hygge.cli.render import print_check
    from hygge.debug import check_project

    checked = check_project(project_dir)
    print_check(make_console(), checked)
    sys.exit(checked.exit_code)


@main.command(name="ls")
@project_option
@click.option("-f", "--flow", "flows", multiple=True, metavar="F[:RT]", help="Only these flows.")
@click.option("-e", "--entity", "entities", multiple=True, metavar="F.E[:RT]", help="Only these.")
@click.option("-x", "--exclude", "exclude", multiple=True, metavar="F|F.E", help="Not these.")
@click.option("-t", "--tag", "tags", multiple=True, metavar="T", help="Only with these tags.")
@json_option()
def ls(
    project_dir: Path | None,
    flows: tuple[str, ...],
    entities: tuple[str, ...],
    exclude: tuple[str, ...],
    tags: tuple[str, ...],
    as_json: bool,
) -> None:
    """The selected entities, one per line: address, run type, watermark, home, store, tags
    (tab-separated; nothing is connected to)."""
    from hygge.config.project import load_project
    from hygge.request import RunRequest

    request = RunRequest(flows, entities, exclude=exclude, tags=tags)
    plan = request.plan(load_project(project_dir))
    rows = [
        {
            "entity": e.address,
            "run_type": e.run_type,
            "watermark": e.settings.watermark.column if e.settings.watermark else None,
            "home": redact(e.home.describe()),
            "store": redact(e.store.destination()),
            "tags": list(e.tags),
        }
        for e in plan.entities
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo("\t".join(_cell(value) for value in row.values()))


@main.command()
@project_option
@click.argument("entity", metavar="F.E", required=False, shell_complete=complete_entities)
@click.option(
    "--config",
    "config_kind",
    type=click.Choice(["project", "flow", "entity"]),
    help="Print the JSON Schema of that kind of config file instead (for editors).",
)
@json_option()
def schema(
    project_dir: Path | None, entity: str | None, config_kind: str | None, as_json: bool
) -> None:
    """The columns entity F.E will deliver: source name, name in the store (after polish),
    type, and the destination's type and what a load does, when it exists. Reads the home's
    column types and the destination's, no rows. With --config KIND, the JSON Schema of
    hygge.yml, flow.yml or entity files."""
    if config_kind is not None:
        from hygge.config.jsonschema import MODELS, config_schema

        kind = next(k for k in MODELS if k == config_kind)
        click.echo(json.dumps(config_schema(kind), indent=2))
        return
    if entity is None:
        raise UsageError("hygge schema needs an entity F.E, or --config KIND")
    from hygge.cli.render import landing_lines
    from hygge.peek import landing

    found = landing(project_dir, entity)
    if as_json:
        click.echo(json.dumps(asdict(found), indent=2))
        return
    click.echo("\n".join(landing_lines(found)))


@main.command()
@project_option
@click.argument("entity", metavar="F.E", shell_complete=complete_entities)
@click.option("-n", "rows", type=click.IntRange(min=1), default=20, show_default=True)
def preview(project_dir: Path | None, entity: str, rows: int) -> None:
    """The first rows of entity F.E as they would land (after polish); writes nothing."""
    import polars as pl

    from hygge.peek import preview as first_rows

    frame = first_rows(project_dir, entity, rows)
    with pl.Config(tbl_rows=rows, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=40):
        click.echo(frame)


main.add_command(history)
main.add_command(journal)


@main.command()
@project_option
@json_option()
def locks(project_dir: Path | None, as_json: bool) -> None:
    """Which entities are held right now, and by whom."""
    from hygge.config.project import load_project
    from hygge.journal import held_locks_of

    held = held_locks_of(load_project(project_dir))
    if as_json:
        click.echo(json.dumps([{"lock": name, **asdict(who)} for name, who in held], indent=2))
        return
    console = make_console()
    for name, who in held:
        console.print(f"{name}: held by {who.describe()}", highlight=False)
    console.print(f"{len(held)} held", highlight=False)


def _cell(value: object) -> str:
    """A value of `hygge ls` text: a list comma-separated, nothing as -."""
    if isinstance(value, list):
        value = ",".join(value)
    return str(value or "-")

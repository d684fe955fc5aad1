"""Turns plans and results into terminal text (Rich) or JSON. No logic of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hygge.checks import CheckReport
from hygge.cli.console import fits
from hygge.debug import Check, ProjectCheck
from hygge.peek import Column, Landing
from hygge.plan import Plan, PlannedEntity
from hygge.redact import MASK, is_secret_key, redact
from hygge.results import EntityResult, RunResult

_STYLE = {"success": "green", "failed": "bold red", "skipped": "yellow", "interrupted": "magenta"}


def shorten(path: str, root: Path) -> str:
    """A path inside the project is shown relative to it; a URL's password is masked."""
    prefix = f"{root}/"
    return path[len(prefix) :] if path.startswith(prefix) else redact(path)


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}/s" if seconds > 0 and rows else "-"


def print_summary(
    console: Console, result: RunResult, root: Path, verbose: bool = False, quiet: bool = False
) -> None:
    if not quiet:
        _print_results(console, result, root)
    for r in result.entities:
        for change in r.schema_changes:
            console.print(f"[cyan]{escape(r.address)}[/] {escape(str(change))}", highlight=False)
        if r.checks is not None:
            console.print(f"[cyan]{escape(r.address)}[/] {escape(checks_line(r))}", highlight=False)
        for warning in r.warnings:
            console.print(f"[yellow]{escape(r.address)}[/] {escape(warning)}", highlight=False)
        if r.status in ("failed", "interrupted", "skipped") and r.error:
            console.print(
                f"[bold red]{escape(r.address)}[/] {escape(r.error.splitlines()[0])}",
                highlight=False,
            )
            if r.hint:
                console.print(f"  hint: {escape(r.hint)}", highlight=False)
            if verbose and r.traceback:
                console.print(r.traceback, highlight=False, markup=False)
    console.print(totals_line(result), highlight=False)


_SUMMARY = ("entity", "status", "rows", "time", "rows/s", "destination")
_RIGHT = {"rows", "time", "rows/s"}


def _print_results(console: Console, result: RunResult, root: Path) -> None:
    """A table when it fits the console; else two lines an entity, names never cut."""
    rows = [
        (
            r.address,
            r.status,
            f"{r.rows:,}",
            f"{r.seconds:.1f}s",
            rate(r.rows, r.seconds),
            shorten(r.destination, root),
        )
        for r in result.entities
    ]
    title = f"hygge run {result.run_id}"
    if fits(console, _SUMMARY, rows):
        table = Table(title=title, title_justify="left")
        for name in _SUMMARY:
            table.add_column(name, justify="right" if name in _RIGHT else "left")
        for row in rows:
            table.add_row(*row[:1], Text(row[1], style=_STYLE[row[1]]), *row[2:])
        console.print(table)
        return
    console.print(title, highlight=False)
    for address, status, count, seconds, speed, destination in rows:
        line = Text(f"{status:<11}", style=_STYLE[status]).append(address)
        console.print(line, highlight=False)
        console.print(f"{'':11}{count} rows in {seconds} ({speed})", highlight=False)
        console.print(f"{'':11}-> {destination}", highlight=False)


def totals_line(result: RunResult) -> str:
    parts = [
        f"{result.count('success')} passed",
        f"{result.count('failed')} failed",
        f"{result.count('skipped')} skipped",
    ]
    if result.count("interrupted"):
        parts.append(f"{result.count('interrupted')} interrupted")
    return (
        f"{', '.join(parts)}; {result.rows:,} rows in {result.seconds:.1f}s"
        f" ({rate(result.rows, result.seconds)})"
    )


def checks_line(r: EntityResult) -> str:
    """The checks of one entity in a line: rows checked, failed, held back."""
    report = r.checks
    assert report is not None
    failed = sum(f.rows for f in report.findings if f.check not in ("row_count", "freshness"))
    held = f", {report.quarantined:,} held back in the quarantine" if report.quarantined else ""
    return f"checks: {report.rows_checked:,} rows checked, {failed:,} failures{held}"


def _checks_json(report: CheckReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "rows_checked": report.rows_checked,
        "quarantined": report.quarantined,
        "findings": [
            {"check": f.label, "on_fail": f.on_fail, "rows": f.rows, "examples": f.examples}
            for f in report.findings
        ],
    }


def result_json(result: RunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "project": result.project,
        "exit_code": result.exit_code,
        "seconds": round(result.seconds, 3),
        "rows": result.rows,
        "passed": result.count("success"),
        "failed": result.count("failed"),
        "skipped": result.count("skipped"),
        "entities": [
            {
                "entity": r.address,
                "status": r.status,
                "run_type": r.run_type,
                "rows": r.rows,
                "seconds": round(r.seconds, 3),
                "attempts": r.attempts,
                "destination": r.destination,
                "error": r.error,
                "hint": r.hint,
                "warnings": list(r.warnings),
                "schema_changes": [asdict(change) for change in r.schema_changes],
                "checks": _checks_json(r.checks),
            }
            for r in result.entities
        ],
    }


def print_plan(
    console: Console,
    plan: Plan,
    verbose: bool = False,
    landing: Mapping[str, list[Column] | str] | None = None,
) -> None:
    table = Table(
        title=f"plan for {plan.project.name} (concurrency {plan.concurrency})", title_justify="left"
    )
    for name in ("entity", "home", "", "store", "run type", "destination"):
        table.add_column(name)
    for e in plan.entities:
        table.add_row(
            e.address,
            e.home.config.type,
            "\u2192",
            e.store.config.type,
            e.run_type,
            shorten(e.store.destination(), plan.project.root),
        )
    console.print(table)
    for e in plan.entities:
        for warning in e.warnings:
            console.print(f"[yellow]{escape(e.address)}[/] {escape(warning)}", highlight=False)
    for line in plan.crowding():
        console.print(f"[yellow]warning[/] {escape(line)}", highlight=False)
    if verbose:
        for e in plan.entities:
            console.print(f"[bold]{e.address}[/]  source: {escape(redact(e.home.describe()))}")
            root = plan.project.root
            for key, source in sorted(e.provenance.items()):
                value = _plain(getattr(e.settings, key))
                where = shorten(source, root)
                console.print(f"  {key} = {escape(repr(value))}  [dim]({escape(where)})[/]")
            for key, value, source in _plugin_keys(e):
                shown, where = repr(_safe(value)), shorten(source, root)
                console.print(f"  {key} = {escape(shown)}  [dim]({escape(where)})[/]")
            if e.settings.watermark and e.settings.watermark.start is not None:
                start = _plain(e.settings.watermark)["start"]
                console.print(
                    f"  [dim]watermark.start {escape(str(start))}: a date, or a time without a"
                    " zone, means that instant in UTC when the column has a time zone[/]",
                    highlight=False,
                )
            if landing is not None:
                _print_landing(console, landing[e.address])


def _print_landing(console: Console, columns: list[Column] | str) -> None:
    """The destination's columns after polish: name, type, and the source name it had."""
    if isinstance(columns, str):
        console.print(f"  destination columns: cannot tell ({escape(columns)})", highlight=False)
        return
    console.print("  destination columns:", highlight=False)
    for c in columns:
        was = "added" if c.source is None else None if c.source == c.destination else c.source
        source = f"  [dim]({escape(was)})[/]" if was else ""
        console.print(f"    {escape(c.destination)} {escape(c.type)}{source}", highlight=False)


def _plugin_keys(e: PlannedEntity) -> list[tuple[str, Any, str]]:
    """The home's and store's effective keys with where each was set: a line of a file, a
    --var, the named connection (a URL hygge fills in), else the plugin's default."""
    found = []
    for family, plugin in (("home", e.home), ("store", e.store)):
        config = plugin.config
        values = config.model_dump(mode="json", by_alias=True, exclude_none=True)
        for key, value in values.items():
            if key == "credentials":  # a cloud connection's, filled in: shown in hygge.yml
                continue
            source = e.key_sources.get(f"{family}.{key}")
            if source is None and key == "url" and getattr(config, "connection", None):
                source = f"connection {config.connection} in hygge.yml"
            found.append((f"{family}.{key}", value, source or "built-in default"))
    return found


def _safe(value: Any) -> Any:
    """A value fit to show: what secret-named keys of its mappings hold masked (storage
    options), a URL's password in any text too."""
    if isinstance(value, dict):
        return {k: MASK if is_secret_key(str(k)) else _safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe(item) for item in value]
    return redact(value) if isinstance(value, str) else value


def plan_json(
    plan: Plan, landing: Mapping[str, list[Column] | str] | None = None
) -> dict[str, Any]:
    found = landing or {}
    return {
        "project": plan.project.name,
        "concurrency": plan.concurrency,
        "warnings": plan.crowding(),
        "entities": [
            {
                "entity": e.address,
                "home": e.home.config.type,
                "source": redact(e.home.describe()),
                "store": e.store.config.type,
                "run_type": e.run_type,
                "destination": redact(e.store.destination()),
                "settings": {k: _plain(getattr(e.settings, k)) for k in e.provenance},
                "provenance": e.provenance,
                "keys": {
                    key: {"value": _safe(value), "source": redact(source)}
                    for key, value, source in _plugin_keys(e)
                },
                "warnings": list(e.warnings),
                **({"columns": _landing_json(found[e.address])} if e.address in found else {}),
            }
            for e in plan.entities
        ],
    }


def _landing_json(columns: list[Column] | str) -> list[dict[str, Any]] | dict[str, str]:
    return {"error": columns} if isinstance(columns, str) else [asdict(c) for c in columns]


def _plain(value: Any) -> Any:
    """A setting as JSON has it: a YAML date or time as ISO text."""
    return (
        value.model_dump(mode="json", exclude_none=True) if hasattr(value, "model_dump") else value
    )


def print_check(console: Console, checked: ProjectCheck) -> None:
    """`hygge debug`: each connection and entity, ok or its problems, then the count."""
    console.print(f"project {checked.project} at {checked.root}", highlight=False)
    for check in (*checked.connections, *checked.entities):
        _print_one_check(console, check)
    console.print(
        f"{checked.flows} flows, {len(checked.entities)} entities, {checked.problems} problems"
    )


def _print_one_check(console: Console, check: Check) -> None:
    what = (
        f"connection {check.name}" if check.kind == "connection" else f"{check.name}: {check.route}"
    )
    mark = "[green]ok[/]" if check.ok else "[bold red]problem[/]"
    console.print(f"{mark}  {escape(redact(what))}", highlight=False)
    for problem in check.problems:
        console.print(f"     {escape(redact(problem))}", highlight=False)


def landing_lines(found: Landing) -> list[str]:
    """`hygge schema`: where the columns land, then one aligned line per column: source name,
    the name it lands under, its type and (the destination existing) its type there and what
    a load does with it."""
    if found.problem is not None:
        head = f"into {found.destination}: its columns could not be read: {found.problem}"
    elif found.exists is None:
        head = f"into {found.destination}: the store cannot tell its columns"
    elif found.exists:
        head = f"into {found.destination}:"
    else:
        head = f"into {found.destination}: not there yet, every column is new"
    rows = [_cells(column) for column in found.columns]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(5)]
    shown = [i for i, width in enumerate(widths) if width]  # an empty column takes no room
    lines = ["  ".join(f"{row[i]:<{widths[i]}}" for i in shown) for row in rows]
    return [head, *(line.rstrip() for line in lines)]


def _cells(column: Column) -> list[str]:
    if column.source is not None:
        source = column.source
    else:
        source = "(store only)" if column.type == "-" else "(added)"
    renamed = "" if column.source == column.destination else f"-> {column.destination}"
    there = "" if column.verdict is None else column.store_type or "-"
    return [source, renamed, column.type, there, column.verdict or ""]

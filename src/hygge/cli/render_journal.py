"""Terminal text and JSON for `hygge history` and `hygge journal show`."""

from __future__ import annotations

import textwrap
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hygge.cli.console import fits
from hygge.journal import AuditRecord, EntityRunRecord
from hygge.steering import Marks
from hygge.watermark import Mark

_STYLE = {"success": "green", "failed": "bold red", "skipped": "yellow", "interrupted": "magenta"}


def shown(encoded: str | None) -> str:
    """A stored watermark as a person reads it."""
    return Mark.decode(encoded).display() if encoded else "-"


_HISTORY = (
    "started",
    "run",
    "entity",
    "run type",
    "status",
    "read",
    "written",
    "time",
    "watermark before",
    "watermark after",
    "backfill",
    "columns added",
    "error",
)
_RIGHT = {"read", "written", "time"}


def print_history(console: Console, records: list[EntityRunRecord]) -> None:
    """A table when it fits the console; else a few lines a run, nothing cut."""
    rows = [_history_row(r) for r in records]
    if not rows:
        console.print("no entity runs", highlight=False)
        return
    if fits(console, _HISTORY, rows):
        table = Table(title="entity runs, newest first", title_justify="left")
        for name in _HISTORY:
            table.add_column(name, justify="right" if name in _RIGHT else "left")
        for row in rows:
            cells = [Text(cell) for cell in row]
            cells[4].stylize(_STYLE.get(row[4], ""))
            table.add_row(*cells)
        console.print(table, highlight=False)
        return
    for row in rows:
        _print_history_lines(console, dict(zip(_HISTORY, row, strict=True)))


def _history_row(r: EntityRunRecord) -> tuple[str, ...]:
    return (
        f"{r.started_at:%Y-%m-%d %H:%M:%S}",
        r.run_id,
        f"{r.flow}.{r.entity}",
        r.run_type,
        r.status,
        f"{r.rows_read:,}",
        f"{r.rows_written:,}",
        f"{r.seconds:.1f}s",
        shown(r.watermark_before),
        shown(r.watermark_after),
        r.backfill or "-",
        ", ".join(f"{c.column} {c.type}" for c in r.schema_changes),
        (r.error or "").splitlines()[0] if r.error else "",
    )


def _print_history_lines(console: Console, row: dict[str, str]) -> None:
    status = Text(f"{row['status']:<12}", style=_STYLE.get(row["status"], ""))
    console.print(status.append(f"{row['entity']} ({row['run type']})"), highlight=False)
    lines = [
        f"run {row['run']}, {row['started']}",
        f"{row['read']} read, {row['written']} written in {row['time']}",
        f"watermark {row['watermark before']} -> {row['watermark after']}",
    ]
    if row["backfill"] != "-":
        lines.append(f"backfill {row['backfill']}")
    if row["columns added"]:
        lines.append(f"columns added: {row['columns added']}")
    if row["error"]:
        lines.append(f"error: {row['error']}")
    width = max(20, console.width - 12)
    for line in lines:
        for piece in textwrap.wrap(line, width, break_on_hyphens=False):
            console.print(f"{'':12}{piece}", highlight=False, markup=False)


def history_json(records: list[EntityRunRecord]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": r.run_id,
            "entity": f"{r.flow}.{r.entity}",
            "run_type": r.run_type,
            "status": r.status,
            "attempts": r.attempts,
            "rows_read": r.rows_read,
            "rows_written": r.rows_written,
            "seconds": round(r.seconds, 3),
            "watermark_before": shown(r.watermark_before) if r.watermark_before else None,
            "watermark_after": shown(r.watermark_after) if r.watermark_after else None,
            "backfill": r.backfill,
            "error": r.error,
            "schema_changes": [asdict(change) for change in r.schema_changes],
            "started_at": r.started_at.isoformat(),
            "ended_at": r.ended_at.isoformat() if r.ended_at else None,
        }
        for r in records
    ]


def print_watermarks(console: Console, marks: Marks, audit: list[AuditRecord]) -> None:
    table = Table(title="committed watermarks", title_justify="left")
    for name in ("entity", "column", "watermark", "committed", "by run"):
        table.add_column(name)
    for flow, entity, record in marks:
        if record is None:
            table.add_row(f"{flow}.{entity}", "-", "-", "-", "-")
        else:
            table.add_row(
                f"{flow}.{entity}",
                record.column,
                shown(record.value),
                f"{record.updated_at:%Y-%m-%d %H:%M:%S}",
                record.run_id or "(set by hand)",
            )
    console.print(table)
    for a in audit:
        console.print(
            f"{a.at:%Y-%m-%d %H:%M:%S} {a.user} {a.action} {a.flow}.{a.entity}:"
            f" {shown(a.old_value)} -> {shown(a.new_value)} ({escape(a.reason)})",
            highlight=False,
        )


def watermarks_json(marks: Marks, audit: list[AuditRecord]) -> dict[str, Any]:
    return {
        "watermarks": [
            {
                "entity": f"{flow}.{entity}",
                "column": record.column if record else None,
                "value": shown(record.value) if record else None,
                "run_id": record.run_id if record else None,
                "updated_at": record.updated_at.isoformat() if record else None,
            }
            for flow, entity, record in marks
        ],
        "audit": [
            {
                "at": a.at.isoformat(),
                "user": a.user,
                "action": a.action,
                "entity": f"{a.flow}.{a.entity}",
                "old": shown(a.old_value) if a.old_value else None,
                "new": shown(a.new_value) if a.new_value else None,
                "reason": a.reason,
            }
            for a in audit
        ],
    }

"""Terminal text and JSON for `hygge history` and `hygge journal show`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hygge.journal import AuditRecord, EntityRunRecord
from hygge.steering import Marks
from hygge.watermark import Mark

_STYLE = {"success": "green", "failed": "bold red", "skipped": "yellow", "interrupted": "magenta"}


def shown(encoded: str | None) -> str:
    """A stored watermark as a person reads it."""
    return Mark.decode(encoded).display() if encoded else "-"


def print_history(console: Console, records: list[EntityRunRecord]) -> None:
    table = Table(title="entity runs, newest first", title_justify="left")
    for name in ("started", "entity", "run type", "status", "read", "written", "time"):
        table.add_column(name, justify="right" if name in {"read", "written", "time"} else "left")
    table.add_column("watermark after")
    table.add_column("columns added")
    table.add_column("error")
    for r in records:
        table.add_row(
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            f"{r.flow}.{r.entity}",
            r.run_type,
            Text(r.status, style=_STYLE.get(r.status, "")),
            f"{r.rows_read:,}",
            f"{r.rows_written:,}",
            f"{r.seconds:.1f}s",
            shown(r.watermark_after),
            escape(", ".join(f"{c.column} {c.type}" for c in r.schema_changes)),
            escape((r.error or "").splitlines()[0] if r.error else ""),
        )
    console.print(table)


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

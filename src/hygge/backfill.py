"""The rules of a one-off window (`--from`/`--to`, `hygge.run(backfill_from=...)`), checked
before anything runs, the same for the CLI and the library.

A window needs a selection (a backfill of everything is almost surely a mistake), a lower
bound, and a watermark on every selected entity; it never drives a full_drop, which would
replace the whole destination with the window's rows. Once the column's type is known (not
in a dry run, which reads nothing) its values must be of it, and not an empty window.
"""

from __future__ import annotations

from collections.abc import Sequence

from hygge.errors import EntityError, UsageError
from hygge.plan import Plan, PlannedEntity
from hygge.window import Backfill


def backfill_of(
    lower: object, upper: object, flows: Sequence[str], entities: Sequence[str]
) -> Backfill | None:
    """The window asked for, or None; refused when it has no lower bound or no selection."""
    if lower is None and upper is None:
        return None
    if lower is None:
        raise UsageError("--to needs --from", hint="give the window's lower bound too")
    if not flows and not entities:
        raise UsageError(
            "--from needs a selection", hint="name what to backfill, e.g. --entity shop.orders"
        )
    return Backfill(lower, upper)


def check_backfill(plan: Plan, backfill: Backfill, typed: bool) -> None:
    """Refuse a window before anything runs: entities without a watermark, a full_drop
    (it would replace the table with the window) and, when `typed`, values that are not of
    the watermark column's type or an empty window."""
    lacking = [e.address for e in plan.entities if e.settings.watermark is None]
    if lacking:
        raise UsageError(
            f"--from/--to need a watermark, which {', '.join(lacking)} has not",
            hint="select only entities with a watermark column",
        )
    replacing = [e for e in plan.entities if e.run_type == "full_drop"]
    if replacing:
        which = "; ".join(
            f"{e.address} runs full_drop, from {e.provenance.get('run_type', 'its settings')}"
            for e in replacing
        )
        raise Backfill.full_drop_refused(which, replacing[0].address)
    if typed:
        for entity in plan.entities:
            _check_window_values(entity, backfill)


def _check_window_values(entity: PlannedEntity, backfill: Backfill) -> None:
    """--from/--to must be values of the watermark column's type, --from not after --to."""
    column = entity.settings.watermark.column if entity.settings.watermark else ""
    try:
        dtype = entity.home.schema().get(column)
    except EntityError:
        return  # the home cannot be read: the entity's run reports it
    if dtype is None:
        return  # the column is missing: the run says so, naming the columns there are
    try:
        backfill.bounds(dtype, column)
    except UsageError as exc:
        raise UsageError(f"{entity.address}: {exc.message}", hint=exc.hint) from None

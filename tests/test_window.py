"""Incremental windows: ties at the boundary and late rows are never lost nor duplicated."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hygge.errors import WatermarkError
from hygge.watermark import Mark, mark_from_user
from hygge.window import WindowState, WindowTracker

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCHEMA = {"id": pl.Int64, "updated_at": pl.Datetime("ns", "UTC"), "v": pl.Int64}


def read(source: pl.DataFrame, state: WindowState, lookback: str | None) -> pl.DataFrame:
    """What a home returns for the window: lower bound inclusive (minus lookback), NULLs kept."""
    if state.mark is None:
        return source
    lower = state.mark.minus(lookback).expr_for(source.schema["updated_at"], "updated_at")
    return source.filter((pl.col("updated_at") >= lower) | pl.col("updated_at").is_null())


def run_once(
    source: pl.DataFrame, dest: pl.DataFrame, state: WindowState, lookback: str | None
) -> tuple[pl.DataFrame, WindowState]:
    tracker = WindowTracker("updated_at", state, lookback)
    window = read(source, state, lookback)
    new = [tracker.admit(window.slice(i, 3)) for i in range(0, window.height, 3)]
    return pl.concat([dest, *new]), tracker.next_state()


# A step either inserts new ids or updates existing ones; the clock moves 0 or 1 minute,
# so many rows share a timestamp with the previous run's watermark.
steps = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 1), st.booleans()),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(steps=steps, lookback=st.sampled_from([None, "1m", "5m"]))
def test_destination_matches_source_with_ties_updates_and_lookback(steps, lookback) -> None:
    source = pl.DataFrame(schema=SCHEMA)
    dest = pl.DataFrame(schema=SCHEMA)
    state = WindowState()
    clock, next_id = T0, 0
    for inserts, updates, tick, run in steps:
        clock += timedelta(minutes=tick)
        fresh = pl.DataFrame(
            {
                "id": range(next_id, next_id + inserts),
                "updated_at": [clock] * inserts,
                "v": [0] * inserts,
            },
            schema=SCHEMA,
        )
        next_id += inserts
        changed = source.head(updates).with_columns(
            pl.lit(clock).cast(SCHEMA["updated_at"]).alias("updated_at"), pl.col("v") + 1
        )
        source = pl.concat([source.join(changed, on="id", how="anti"), changed, fresh])
        if run:
            dest, state = run_once(source, dest, state, lookback)
    dest, state = run_once(source, dest, state, lookback)

    assert dest.is_duplicated().sum() == 0  # no version of a row is appended twice
    latest = dest.unique("id", keep="last", maintain_order=True)  # append order: newest last
    assert latest.sort("id").equals(source.sort("id"))


def test_null_watermarks_are_counted_and_never_loaded() -> None:
    source = pl.DataFrame(
        {"id": [1, 2, 3], "updated_at": [T0, None, None]}, schema_overrides=SCHEMA
    )
    tracker = WindowTracker("updated_at", WindowState())
    assert tracker.admit(source)["id"].to_list() == [1]
    assert tracker.nulls == 2


def test_a_read_with_nothing_new_keeps_the_state() -> None:
    source = pl.DataFrame({"id": [1], "updated_at": [T0]}, schema_overrides=SCHEMA)
    _, state = run_once(source, source.clear(), WindowState(), None)
    tracker = WindowTracker("updated_at", state)
    assert tracker.admit(source).height == 0
    assert tracker.next_state() is state


@pytest.mark.parametrize(
    "dtype",
    [
        pl.Int8,
        pl.UInt64,
        pl.Date,
        pl.Datetime("us"),
        pl.Datetime("ns", "Asia/Kathmandu"),
        pl.Datetime("ms", "UTC"),
        pl.String,
        pl.Decimal(38, 9),
    ],
)
def test_marks_round_trip_exactly(dtype) -> None:
    values = {
        "int": pl.Series([3, 120], dtype=pl.Int64),
        "date": pl.Series(["2026-03-01", "1969-12-31"]).str.to_date(),
        "datetime": pl.Series([1_767_229_261_123_456_789, -5_000], dtype=pl.Int64),
        "string": pl.Series(["Åse", "zebra"]),
        "decimal": pl.Series(["12345678901234567890.123456789", "-1.5"]).str.to_decimal(scale=9),
    }
    kind = {pl.Date: "date", pl.String: "string"}.get(dtype, "int")
    if isinstance(dtype, pl.Datetime):
        kind = "datetime"
    elif isinstance(dtype, pl.Decimal):
        kind = "decimal"
    raw = values[kind]
    if kind == "datetime":  # the same instants in the column's unit
        raw = raw // {"ns": 1, "us": 1_000, "ms": 1_000_000}[dtype.time_unit]
    series = (
        raw.cast(pl.Datetime(dtype.time_unit, "UTC")).dt.convert_time_zone(dtype.time_zone)
        if kind == "datetime" and dtype.time_zone
        else raw.cast(dtype)
    )
    mark = Mark.max_of(series.rename("c"))
    assert mark is not None
    assert Mark.decode(mark.encode()) == mark
    frame = series.to_frame("c")
    assert frame.filter(pl.col("c") >= mark.expr_for(dtype, "c")).height == 1
    assert frame.filter(pl.col("c") == mark.expr_for(dtype, "c"))["c"].item() == series.max()


def test_naive_and_aware_do_not_compare() -> None:
    aware = Mark.max_of(pl.Series("t", [T0]))
    assert aware is not None
    with pytest.raises(WatermarkError, match="has a time zone"):
        aware.expr_for(pl.Datetime("us"), "t")
    with pytest.raises(WatermarkError, match="'2026-01-01T00:00:00Z' has a time zone") as zoned:
        mark_from_user("2026-01-01T00:00:00Z", pl.Datetime("us"), "t")
    assert "journal set" not in (zoned.value.hint or "")


@pytest.mark.parametrize("value", ["2026-01-01", date(2026, 1, 1), "2026-01-01T00:00:00"])
def test_a_date_or_naive_value_for_a_zoned_column_means_utc(value) -> None:
    for dtype in (pl.Datetime("us", "UTC"), pl.Datetime("ns", "Asia/Kathmandu")):
        mark = mark_from_user(value, dtype, "t")
        assert mark.as_python() == T0  # the same instant, shown in the column's zone
        assert mark.tz == dtype.time_zone


def test_user_values_take_the_column_type() -> None:
    mark = mark_from_user("2026-01-01T01:00:00+01:00", pl.Datetime("ns", "Europe/Oslo"), "t")
    assert (
        mark.encode() == Mark("datetime", 1_767_225_600_000_000_000, "ns", "Europe/Oslo").encode()
    )
    assert mark_from_user("2026-02-03", pl.Date, "d").display() == "2026-02-03"
    assert mark_from_user(7, pl.Int32, "n") == Mark("int", 7)
    with pytest.raises(WatermarkError, match="not a valid value"):
        mark_from_user("soon", pl.Int64, "n")


# An event log: rows have no key and the same event can happen twice in one second, so
# identical rows are real and each must arrive (a multiset, not a set).
EVENTS = {"updated_at": pl.Datetime("us", "UTC"), "kind": pl.String, "n": pl.Int64}
events = st.lists(
    st.tuples(
        st.lists(st.tuples(st.sampled_from(["click", "view"]), st.integers(0, 1)), max_size=5),
        st.integers(0, 1),  # the clock moves 0 or 1 minute
        st.booleans(),  # one of them arrives a minute late
        st.booleans(),  # a run happens after this step
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=150, deadline=None)
@given(steps=events, lookback=st.sampled_from([None, "1m", "5m"]))
def test_identical_rows_arrive_as_often_as_they_happen(steps, lookback) -> None:
    source = pl.DataFrame(schema=EVENTS)
    dest = pl.DataFrame(schema=EVENTS)
    state = WindowState()
    clock = T0
    for happened, tick, late, run in steps:
        clock += timedelta(minutes=tick)
        stamps = [clock] * len(happened)
        if late and lookback and stamps:  # a late row, within the lookback of the watermark
            stamps[0] -= timedelta(minutes=1)
        fresh = pl.DataFrame(
            {"updated_at": stamps, "kind": [k for k, _ in happened], "n": [n for _, n in happened]},
            schema=EVENTS,
        )
        source = pl.concat([source, fresh])
        if run:
            dest, state = run_once(source, dest, state, lookback)
    dest, state = run_once(source, dest, state, lookback)

    assert sorted(dest.rows()) == sorted(source.rows())


def test_a_third_identical_row_is_new_even_in_another_batch() -> None:
    click = {"updated_at": [T0], "kind": ["click"], "n": [5]}
    two = pl.DataFrame({k: v * 2 for k, v in click.items()}, schema=EVENTS)
    _, state = run_once(two, two.clear(), WindowState(), None)
    assert state.recent is not None and state.recent.height == 2  # both copies kept

    tracker = WindowTracker("updated_at", state)
    one = pl.DataFrame(click, schema=EVENTS)
    admitted = [tracker.admit(one).height for _ in range(3)]  # one row per batch

    assert admitted == [0, 0, 1]
    assert tracker.next_state().recent.height == 3  # type: ignore[union-attr]


def test_rows_compare_on_the_columns_both_have() -> None:
    """Loaded with (updated_at, kind, n: int); read back in two batches with n as text and
    a new column. Loaded rows pair once each; rows that differ on shared columns are new."""
    loaded = pl.DataFrame(
        {"updated_at": [T0] * 3, "kind": ["view", "view", "buy"], "n": [1, 1, 2]}, schema=EVENTS
    )
    _, state = run_once(loaded, loaded.clear(), WindowState(), None)
    tracker = WindowTracker("updated_at", state)
    read = pl.DataFrame(
        {
            "updated_at": [T0] * 5,
            "kind": ["view", "view", "view", "buy", "buy"],
            "n": ["1", "1", "1", "2", "3"],
            "note": ["new", None, None, None, "x"],
        },
        schema_overrides={"updated_at": EVENTS["updated_at"]},
    )
    admitted = pl.concat([tracker.admit(read.head(3)), tracker.admit(read.tail(2))])
    # in a batch, the views without a note pair first: they are the loaded ones read back
    assert sorted(admitted.select("kind", "n", "note").rows()) == [
        ("buy", "3", "x"),
        ("view", "1", "new"),
    ]
    recent = tracker.next_state().recent
    assert recent is not None
    assert recent.columns == ["updated_at", "kind", "n"] and recent.schema["n"] == pl.String
    assert recent.height == 5

    again = WindowTracker("updated_at", tracker.next_state())  # a third run, columns narrowed
    assert again.admit(read.drop("note")).height == 0

"""The contracts every home and store passes; a plugin's tests inherit them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from hygge.config.models import RUN_TYPES, RunType
from hygge.errors import HyggeError, StoreError
from hygge.plugin import Commit, Home, LoadRun, Store, Window
from hygge.watermark import Mark


def commit_of(run_id: str) -> Commit:
    """The commit record a flow would hand a load of run_id to publish (no watermark)."""
    return Commit(run_id, datetime.now(UTC))


def sample(rows: int, start: int = 0) -> pl.DataFrame:
    """Rows every format carries unchanged: an Int64 `id` and a String `name` (never empty)."""
    ids = range(start, start + rows)
    return pl.DataFrame(
        {"id": list(ids), "name": [f"row {i}" for i in ids]},
        schema={"id": pl.Int64, "name": pl.String},
    )


def assert_same_rows(actual: pl.DataFrame | None, expected: pl.DataFrame) -> None:
    """Same columns, dtypes and rows, in any row order: stores need not keep order across files."""
    assert actual is not None, "nothing is visible at the destination"
    assert_frame_equal(actual, expected, check_row_order=False)


def _versions(ids: list[int], names: list[str], versions: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": ids, "name": names, "version": versions},
        schema={"id": pl.Int64, "name": pl.String, "version": pl.Int64},
    )


def _int_mark(value: int | None) -> Mark | None:
    return None if value is None else Mark("int", value)


def _skip(reason: str) -> None:
    import pytest  # only the contract tests need pytest; importing hygge.testing does not

    pytest.skip(reason)


class HomeContract:
    """What every home does. Subclass it in a `Test...` class and implement the two makers.

    `make_home` must return a home that reads exactly `frame`; the contract uses `sample()`
    frames, so its columns are an Int64 `id` and a String `name`.
    """

    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> Home[Any]:
        """Write `frame` where a new home will read it; return that home."""
        raise NotImplementedError

    def make_broken_home(self, tmp_path: Path) -> Home[Any]:
        """A home whose source is missing (e.g. a path that does not exist)."""
        raise NotImplementedError

    def test_batches_never_exceed_batch_rows_and_add_up_to_the_source(self, tmp_path: Path) -> None:
        frame = sample(25)
        home = self.make_home(tmp_path, frame)
        for batch_rows in (1, 7, 25, 1000):
            batches = list(home.batches(Window.everything(), batch_rows))
            assert all(0 < batch.height <= batch_rows for batch in batches), (
                f"batch heights {[b.height for b in batches]} with batch_rows={batch_rows}"
            )
            assert_same_rows(pl.concat(batches), frame)

    def test_an_empty_source_yields_no_batch(self, tmp_path: Path) -> None:
        home = self.make_home(tmp_path, sample(0))
        assert list(home.batches(Window.everything(), 10)) == []

    def test_window_keeps_rows_between_its_bounds_and_rows_without_a_value(
        self, tmp_path: Path
    ) -> None:
        no_id = pl.DataFrame({"id": [None], "name": ["no id"]}, schema=sample(0).schema)
        frame = pl.concat([sample(20), no_id])
        home = self.make_home(tmp_path, frame)
        for lower, upper in ((5, 9), (15, None), (None, 3), (30, None)):
            window = Window("id", _int_mark(lower), _int_mark(upper))
            inside = pl.col("id").is_between(-1 if lower is None else lower, upper or 1_000)
            expected = frame.filter(inside | pl.col("id").is_null())
            assert_same_rows(pl.concat(home.batches(window, 4)), expected)

    def test_schema_and_high_mark_describe_the_rows(self, tmp_path: Path) -> None:
        home = self.make_home(tmp_path, sample(12))
        if type(home).schema is not Home.schema:
            assert home.schema() == sample(0).schema
        if type(home).high_mark is not Home.high_mark:
            assert home.high_mark("id") == Mark("int", 11)

    def test_column_bounds_agree_with_schema_and_high_mark(self, tmp_path: Path) -> None:
        home = self.make_home(tmp_path, sample(12))
        if type(home).high_mark is Home.high_mark:
            return  # a home that cannot read incrementally
        assert home.column_bounds("id") == (home.schema()["id"], Mark("int", 11))
        assert home.column_bounds("no_such_column") == (None, None)

    def test_check_passes_for_a_good_source(self, tmp_path: Path) -> None:
        assert self.make_home(tmp_path, sample(3)).check() == []

    def test_check_reports_a_missing_source(self, tmp_path: Path) -> None:
        problems = self.make_broken_home(tmp_path).check()
        assert problems and all(isinstance(p, str) and p for p in problems)

    def test_reading_a_missing_source_raises_a_hygge_error(self, tmp_path: Path) -> None:
        home = self.make_broken_home(tmp_path)
        try:
            list(home.batches(Window.everything(), 10))
        except HyggeError:
            return
        raise AssertionError("reading a missing source must raise a hygge error, not pass")


class StoreContract:
    """What every store does. Subclass it in a `Test...` class and implement the four hooks.

    `make_store` called twice with the same tmp_path must give two stores of the same
    destination (the second plays the next process after a crash). Loads are full_drop
    unless a test is about another run type: every store can take a full copy.
    """

    def make_store(self, tmp_path: Path) -> Store[Any]:
        """A store with a fresh destination under tmp_path."""
        raise NotImplementedError

    def make_broken_store(self, tmp_path: Path) -> Store[Any]:
        """A store whose destination cannot take a load (e.g. its path is a file)."""
        raise NotImplementedError

    def read_back(self, store: Store[Any]) -> pl.DataFrame | None:
        """Everything a reader of the destination sees; None when the destination does not exist."""
        raise NotImplementedError

    def leftovers(self, store: Store[Any]) -> list[str]:
        """Staging or temporary things a load left behind (names, for the failure message)."""
        raise NotImplementedError

    # helpers

    def load(
        self, store: Store[Any], run_type: RunType, *frames: pl.DataFrame, run_id: str = "run-1"
    ) -> None:
        """One whole load: begin, write each frame, publish."""
        load = store.begin(LoadRun(run_id, run_type, ("id",)))
        for frame in frames:
            load.write(frame)
        load.publish(commit_of(run_id))

    def needs(self, store: Store[Any], run_type: RunType) -> None:
        if run_type not in store.run_types:
            _skip(f"the store does not declare {run_type}")

    # the contract

    def test_nothing_is_visible_before_publish(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        load = store.begin(LoadRun("run-1", "full_drop", ("id",)))
        load.write(sample(10))
        assert self.read_back(store) is None, "a first load is visible before publish"
        load.publish(commit_of("run-1"))
        load = store.begin(LoadRun("run-2", "full_drop", ("id",)))
        load.write(sample(5, start=100))
        assert_same_rows(self.read_back(store), sample(10))
        load.abort()

    def test_publish_makes_every_written_row_visible(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        frame = sample(25)
        self.load(store, "full_drop", *(frame.slice(offset, 10) for offset in (0, 10, 20)))
        assert_same_rows(self.read_back(store), frame)
        assert self.leftovers(store) == []

    def test_abort_leaves_the_destination_unchanged_and_nothing_behind(
        self, tmp_path: Path
    ) -> None:
        store = self.make_store(tmp_path)
        load = store.begin(LoadRun("run-1", "full_drop", ("id",)))
        load.write(sample(3))
        load.abort()
        assert self.read_back(store) is None
        self.load(store, "full_drop", sample(10))
        for run_type in sorted(store.run_types):
            load = store.begin(LoadRun(f"run-{run_type}", run_type, ("id",)))
            load.write(sample(5, start=100))
            load.abort()
            load.abort()  # safe to call more than once
            assert_same_rows(self.read_back(store), sample(10))
            assert self.leftovers(store) == []

    def test_full_drop_replaces_everything(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        self.needs(store, "full_drop")
        self.load(store, "full_drop", sample(30), run_id="run-1")
        self.load(store, "full_drop", sample(4, start=100), run_id="run-2")
        assert_same_rows(self.read_back(store), sample(4, start=100))

    def test_incremental_appends(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        self.needs(store, "incremental")
        self.load(store, "incremental", sample(10), run_id="run-1")
        self.load(store, "incremental", sample(5, start=100), run_id="run-2")
        self.load(store, "incremental", run_id="run-3")  # nothing new
        assert_same_rows(self.read_back(store), pl.concat([sample(10), sample(5, start=100)]))

    def test_merge_upserts_on_the_primary_key(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        self.needs(store, "merge")
        self.load(store, "merge", sample(10), run_id="run-1")
        changed = sample(5, start=8).with_columns(name=pl.lit("changed"))
        self.load(store, "merge", changed, run_id="run-2")
        assert_same_rows(self.read_back(store), pl.concat([sample(8), changed]))

    def test_merge_keeps_the_newest_version_of_a_key_loaded_twice(self, tmp_path: Path) -> None:
        """One load may hold several versions of a row (it changed twice between runs): the
        greatest `version` wins, exact copies count once, across batches too."""
        store = self.make_store(tmp_path)
        self.needs(store, "merge")
        self._merge(store, "run-1", _versions([1, 2, 2], ["a", "b", "b"], [1, 1, 1]))
        later = _versions([1, 1, 3, 3, 3], ["a3", "a2", "c", "c", "c"], [3, 2, 1, 1, 1])
        self._merge(store, "run-2", later.head(2), later.tail(3))
        expected = _versions([1, 2, 3], ["a3", "b", "c"], [3, 1, 1])
        assert_same_rows(self.read_back(store), expected)

    def test_merge_refuses_versions_of_a_key_it_cannot_order(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        self.needs(store, "merge")
        before = _versions([1, 7], ["a", "b"], [1, 1])
        self._merge(store, "run-1", before)
        load = store.begin(LoadRun("run-2", "merge", ("id",), "version"))
        load.write(_versions([7, 7, 8], ["x", "y", "z"], [2, 2, 2]))
        try:
            load.publish(commit_of("run-2"))
        except StoreError as exc:
            assert "id=7" in exc.message, exc.message
        else:
            raise AssertionError("two differing rows of key 7 with one version were merged")
        finally:
            load.abort()
        assert_same_rows(self.read_back(store), before)

    def _merge(self, store: Store[Any], run_id: str, *frames: pl.DataFrame) -> None:
        load = store.begin(LoadRun(run_id, "merge", ("id",), "version"))
        for frame in frames:
            load.write(frame)
        load.publish(commit_of(run_id))

    def test_recover_removes_what_a_crashed_load_left(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        store.recover()  # nothing to recover is fine
        self.load(store, "full_drop", sample(10), run_id="run-1")
        crashed = store.begin(LoadRun("run-2", "full_drop", ("id",)))
        crashed.write(sample(7, start=100))  # ... and the process dies here
        restarted = self.make_store(tmp_path)
        restarted.recover()
        assert self.leftovers(restarted) == []
        assert_same_rows(self.read_back(restarted), sample(10))
        self.load(restarted, "full_drop", sample(3, start=200), run_id="run-3")
        assert_same_rows(self.read_back(restarted), sample(3, start=200))

    def test_loads_of_different_runs_never_overwrite_each_other(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        first = store.begin(LoadRun("run-1", "full_drop", ("id",)))
        second = store.begin(LoadRun("run-2", "full_drop", ("id",)))
        first.write(sample(6))
        second.write(sample(6, start=100))
        second.abort()
        first.publish(commit_of("run-1"))
        assert_same_rows(self.read_back(store), sample(6))
        if "incremental" in store.run_types:
            first = store.begin(LoadRun("run-3", "incremental", ("id",)))
            second = store.begin(LoadRun("run-4", "incremental", ("id",)))
            first.write(sample(6, start=200))
            second.write(sample(6, start=300))
            second.publish(commit_of("run-4"))
            first.publish(commit_of("run-3"))
            expected = pl.concat([sample(6, start=start) for start in (0, 200, 300)])
            assert_same_rows(self.read_back(store), expected)

    def test_row_count_is_what_a_reader_sees(self, tmp_path: Path) -> None:
        """The flow asks it before a full copy of nothing would replace the destination."""
        store = self.make_store(tmp_path)
        assert store.row_count() is None, "no destination yet: nothing to count"
        self.load(store, "full_drop", sample(4), sample(8, start=4), run_id="run-1")
        assert store.row_count() == 12
        if "incremental" in store.run_types:
            self.load(store, "incremental", sample(3, start=100), run_id="run-2")
            assert store.row_count() == 15
        self.load(store, "full_drop", sample(0), run_id="run-3")
        assert store.row_count() == 0

    def test_an_empty_full_drop_publishes_an_empty_destination(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        self.needs(store, "full_drop")
        self.load(store, "full_drop", run_id="run-1")
        empty = self.read_back(store)
        assert empty is not None and empty.height == 0, "an empty full copy must still publish"
        self.load(store, "full_drop", sample(10), run_id="run-2")
        self.load(store, "full_drop", sample(0), run_id="run-3")
        empty = self.read_back(store)
        assert empty is not None and empty.height == 0, f"{empty} is left after an empty copy"
        assert self.leftovers(store) == []

    def test_last_commit_is_the_record_of_the_newest_published_load(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        if type(store).last_commit is Store.last_commit:
            _skip("the store keeps no commit records")
        assert store.last_commit() is None
        first, second, aborted = (
            Commit(f"run-{n}", datetime(2026, 1, n, tzinfo=UTC), Mark("int", n).encode(), b"\0")
            for n in (1, 2, 3)
        )
        run_types = sorted(store.run_types)
        for commit, run_type in ((first, run_types[0]), (second, run_types[-1])):
            load = store.begin(LoadRun(commit.run_id, run_type, ("id",)))
            load.write(sample(3))
            load.publish(commit)
            assert store.last_commit() == commit
        load = store.begin(LoadRun(aborted.run_id, run_types[0], ("id",)))
        load.write(sample(3))
        load.abort()
        assert self.make_store(tmp_path).last_commit() == second

    def test_every_declared_run_type_loads(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        assert store.run_types, "a store must support at least one run type"
        assert store.run_types <= set(RUN_TYPES), f"unknown run types in {store.run_types}"
        for number, run_type in enumerate(sorted(store.run_types)):
            self.load(store, run_type, sample(3, start=10 * number), run_id=f"run-{number}")
        assert self.leftovers(store) == []

    def test_begin_refuses_a_run_type_it_does_not_declare(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        for run_type in sorted(set(RUN_TYPES) - store.run_types):
            try:
                load = store.begin(LoadRun("run-1", run_type, ("id",)))
            except HyggeError:
                continue
            load.abort()
            raise AssertionError(f"begin() accepted {run_type!r}, which the store does not declare")

    def test_check_passes_for_a_good_destination(self, tmp_path: Path) -> None:
        assert self.make_store(tmp_path).check() == []

    def test_check_reports_a_bad_destination(self, tmp_path: Path) -> None:
        problems = self.make_broken_store(tmp_path).check()
        assert problems and all(isinstance(p, str) and p for p in problems)

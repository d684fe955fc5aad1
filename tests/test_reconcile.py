"""Reconciliation: after publishing, the destination's own count of the load's rows must
match what the flow wrote; otherwise the entity fails loudly, though its rows are published."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from tests import proc

FLOW = """\
home: {type: parquet, path: data}
store: {type: sqlite, path: shop.db, table: orders}
watermark: {column: updated_at}
"""


def tampered_run(make_project, tmp_path: Path, flow: str, tamper, *, dated: bool = False) -> dict:
    """Run `go` on ten rows, pause it before publishing, let `tamper(root)` change the
    staged load, then finish: the entity must fail, and its JSON result is returned."""
    root = make_project({"flows/shop/flow.yml": flow})
    (root / "data").mkdir()
    frame = pl.DataFrame({"id": range(10)})
    if dated:
        frame = frame.with_columns(updated_at=pl.lit(datetime(2026, 12, 1, tzinfo=UTC)))
    frame.write_parquet(root / "data/a.parquet")
    marker = tmp_path / "held"
    run = proc.start_paused(root, marker, "go", "--json", point="before_publish")
    tamper(root)
    marker.unlink()
    code, out, err = proc.finish(run)
    assert code == 1, err
    entity: dict = json.loads(out)["entities"][0]
    assert entity["status"] == "failed"
    entity["root"] = root
    return entity


def test_rows_lost_between_staging_and_publishing_fail_the_entity(
    make_project, tmp_path: Path
) -> None:
    def take_a_staged_row(root: Path) -> None:  # another writer takes a staged row away
        with sqlite3.connect(root / "shop.db") as con:
            (stage,) = con.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE '_hygge_stage#%'"
            ).fetchone()
            con.execute(f'DELETE FROM "{stage}" WHERE id = 3')

    entity = tampered_run(make_project, tmp_path, FLOW, take_a_staged_row, dated=True)
    assert "10 rows were written to" in entity["error"]
    assert "it reports 9 from this load after publishing" in entity["error"]
    assert ":d to replace it" in entity["hint"]
    root = entity["root"]
    with sqlite3.connect(root / "shop.db") as con:  # published all the same, watermark moved
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (9,)
    shown = proc.run(root, "journal", "show", "--json")
    assert json.loads(shown.stdout)["watermarks"][0]["value"].startswith("2026-12-01")


def test_a_load_whose_counts_agree_succeeds(make_project) -> None:
    root = make_project({"flows/shop/flow.yml": FLOW})
    (root / "data").mkdir()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    pl.DataFrame({"id": range(10), "updated_at": [at] * 10}).write_parquet(root / "data/a.parquet")
    result = proc.run(root, "go", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["entities"][0]["rows"] == 10


FILE_FLOW = """\
home: {type: parquet, path: data}
store: {type: parquet, path: lake, file_rows: 4}
watermark: {column: updated_at}
"""


def test_a_staged_file_lost_before_publishing_fails_a_file_store_entity(
    make_project, tmp_path: Path
) -> None:
    def lose_the_last_file(root: Path) -> None:
        staged = sorted(root.glob(".lake.hygge-*/*.parquet"))  # the staging beside the lake
        assert len(staged) == 3  # files of 4, 4 and 2 rows
        staged[-1].unlink()  # something takes the last file (2 rows) away

    entity = tampered_run(make_project, tmp_path, FILE_FLOW, lose_the_last_file, dated=True)
    assert "10 rows were written to" in entity["error"]
    assert "it reports 8 from this load after publishing" in entity["error"]


def delta_store(tmp_path: Path):
    from hygge.plugin import Context
    from hygge.registry import store_class

    cls = store_class("delta")
    config = cls.Config.model_validate({"type": "delta", "path": "lake/orders"})
    return cls(config, Context(root=tmp_path, flow="shop", entity="orders"))


def delta_load(store, run_type: str, run_id: str, *frames: pl.DataFrame):
    from hygge.plugin import Commit, LoadRun

    load = store.begin(LoadRun(run_id, run_type, ("id",), "version"))
    for frame in frames:
        load.write(frame)
    load.publish(Commit(run_id, datetime.now(UTC)))
    return load


def rows(ids: list[int], version: int = 1) -> pl.DataFrame:
    return pl.DataFrame({"id": ids, "version": [version] * len(ids)})


def test_a_delta_load_reports_the_rows_its_commit_added(tmp_path: Path) -> None:
    store = delta_store(tmp_path)
    assert delta_load(store, "full_drop", "r1", rows([1, 2]), rows([3])).published_rows == 3
    assert delta_load(store, "incremental", "r2", rows([4, 5])).published_rows == 2
    assert delta_load(store, "full_drop", "r3", rows([6])).published_rows == 1
    # a merge: updated and inserted rows, plus the older row of a key repeated in the load
    merged = delta_load(store, "merge", "r4", rows([6, 7], 2), rows([7], 3))
    assert merged.published_rows == 3


def test_a_staged_delta_file_cut_short_fails_the_entity(make_project, tmp_path: Path) -> None:
    def cut_the_batch_short(root: Path) -> None:
        (staged,) = root.glob(".lake.hygge-*/*.arrow")  # one batch, staged as Arrow IPC
        pl.DataFrame({"id": range(7)}).write_ipc(staged)  # replaced, 3 rows short

    flow = "home: {type: parquet, path: data}\nstore: {type: delta, path: lake}\n"
    entity = tampered_run(make_project, tmp_path, flow, cut_the_batch_short)
    assert "10 rows were written to" in entity["error"]
    assert "it reports 7 from this load after publishing" in entity["error"]


MIRROR_FLOW = """\
home: {type: parquet, path: data}
store: {type: open_mirroring, path: landing, file_rows: 4, drop_wait: 0}
primary_key: [id]
"""


def test_an_open_mirroring_load_reports_the_rows_of_its_staged_files(tmp_path: Path) -> None:
    from hygge.plugin import Commit, Context, LoadRun
    from hygge.registry import store_class

    cls = store_class("open_mirroring")
    config = cls.Config.model_validate({"type": "open_mirroring", "path": "landing"})
    store = cls(config, Context(tmp_path, "shop", "orders"))
    for run_id, run_type in (("r1", "full_drop"), ("r2", "incremental")):
        load = store.begin(LoadRun(run_id, run_type, ("id",), "version"))
        load.write(rows([1, 2, 3]))
        load.write(rows([3], 2))  # a key repeated: its older row is left out, not lost
        load.publish(Commit(run_id, datetime.now(UTC)))
        assert load.published_rows == 4


def test_a_staged_mirroring_file_cut_short_fails_the_entity(make_project, tmp_path: Path) -> None:
    def lose_the_first_file(root: Path) -> None:
        staged = sorted(root.glob("landing/_*/part-*.parquet"))
        assert len(staged) == 3  # files of 4, 4 and 2 rows
        staged[0].unlink()

    entity = tampered_run(make_project, tmp_path, MIRROR_FLOW, lose_the_first_file)
    assert "it reports 6 from this load after publishing" in entity["error"]


def test_a_staged_ndjson_file_missing_a_line_fails_the_entity(make_project, tmp_path: Path) -> None:
    def drop_a_line(root: Path) -> None:
        first = sorted(root.glob(".lake.hygge-*/*.ndjson"))[0]
        lines = first.read_bytes().splitlines(keepends=True)
        first.write_bytes(b"".join(lines[:-1]) + b"\n  \n")  # last row gone, a blank line left

    flow = "home: {type: parquet, path: data}\nstore: {type: ndjson, path: lake, file_rows: 4}\n"
    entity = tampered_run(make_project, tmp_path, flow, drop_a_line)
    assert "it reports 9 from this load" in entity["error"]

"""parquet -> parquet with nothing to change: the store copies the source files as they are
(their footers read for rows and columns) and keeps every guarantee of a load that re-encodes
them: staging, the atomic swap, the commit record, the rows in the journal, reconciliation."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests import proc
from tests.conftest import data_files, read_lake
from tests.s3 import S3, SECRET

FULL_DROP = """\
home: {type: parquet, path: data}
store: {type: parquet, path: lake}
run_type: full_drop
"""
LANDING = """\
home: {type: parquet, path: data, new_files_only: true}
store: {type: parquet, path: lake}
run_type: incremental
"""
COPIED = "copied 2 files unchanged"


def orders(start: int, rows: int, version: int = 1) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": range(start, start + rows), "note": [f"order {i}" for i in range(rows)]}
    ).with_columns(version=pl.lit(version))


def write_sources(root: Path, version: int = 1) -> dict[str, bytes]:
    """Two source files (polars' default codec is zstd, the store's too); their bytes."""
    folder = root / "data"
    folder.mkdir(exist_ok=True)
    orders(0, 300, version).write_parquet(folder / "a.parquet")
    orders(300, 200, version).write_parquet(folder / "b.parquet")
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))}


def lake_bytes(root: Path) -> list[bytes]:
    return sorted((root / "lake" / name).read_bytes() for name in data_files(root / "lake"))


def go(root: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    done = proc.run(root, "go", "-v", "--json", *args, env=env)
    assert done.returncode == 0, done.stderr
    return {"log": done.stderr, **json.loads(done.stdout)["entities"][0]}


def test_a_full_drop_with_nothing_to_change_copies_the_files_byte_for_byte(make_project) -> None:
    root = make_project({"flows/shop/flow.yml": FULL_DROP})
    sources = write_sources(root)

    first = go(root)

    assert COPIED in first["log"]
    assert first["rows"] == 500
    assert lake_bytes(root) == sorted(sources.values())
    newer = write_sources(root, version=2)
    second = go(root)  # the swap replaces the first copy whole
    assert COPIED in second["log"]
    assert lake_bytes(root) == sorted(newer.values())
    assert read_lake(root / "lake")["version"].unique().to_list() == [2]
    assert [p.name for p in root.iterdir() if p.name.startswith(".lake")] == []
    history = json.loads(proc.run(root, "history", "--json").stdout)
    assert [h["rows_written"] for h in history] == [500, 500]


@pytest.mark.parametrize(
    ("change", "flow"),
    [
        ("a polish setting", FULL_DROP + "polish: {case: lower}\n"),
        ("another codec", FULL_DROP.replace("path: lake}", "path: lake, compression: snappy}")),
        ("a codec level", FULL_DROP.replace("path: lake}", "path: lake, compression_level: 3}")),
        ("selected columns", FULL_DROP.replace("path: data}", "path: data, columns: [id]}")),
        ("smaller files", FULL_DROP.replace("path: lake}", "path: lake, file_rows: 100}")),
        ("a watermark", FULL_DROP + "watermark: {column: id}\n"),
        ("checks", FULL_DROP + "checks: {not_null: [id]}\n"),
    ],
)
def test_a_run_that_changes_something_re_encodes_the_rows(
    change: str, flow: str, make_project
) -> None:
    root = make_project({"flows/shop/flow.yml": flow})
    sources = write_sources(root)

    done = go(root)

    assert "files unchanged" not in done["log"], change
    assert not set(lake_bytes(root)) & set(sources.values()), change
    lake = read_lake(root / "lake")
    assert lake.height == 500 and lake["id"].n_unique() == 500, change


def test_files_whose_columns_differ_from_the_folder_are_not_copied(make_project) -> None:
    """An append into a folder of Int64 ids: a new file of Int32 ids is cast, one with a new
    column gets it added and reported, as when no file is ever copied."""
    root = make_project({"flows/shop/flow.yml": LANDING})
    write_sources(root)
    assert COPIED in go(root)["log"]
    orders(500, 10).with_columns(pl.col("id").cast(pl.Int32)).write_parquet(root / "data/c.parquet")

    narrower = go(root)

    assert "files unchanged" not in narrower["log"]
    assert read_lake(root / "lake").schema["id"] == pl.Int64
    orders(510, 10).with_columns(extra=pl.lit("x")).write_parquet(root / "data/d.parquet")

    wider = go(root)

    assert "files unchanged" not in wider["log"]
    assert [c["column"] for c in wider["schema_changes"]] == ["extra"]
    files = sorted((root / "lake").glob("*.parquet"))
    assert sum(pl.read_parquet(file).height for file in files) == 520


def test_a_copied_file_lost_before_publishing_fails_the_entity(make_project, tmp_path) -> None:
    """Reconciliation counts the staged copies from their footers, as it counts written files."""
    root = make_project({"flows/shop/flow.yml": FULL_DROP})
    write_sources(root)
    marker = tmp_path / "held"
    run = proc.start_paused(root, marker, "go", "--json", point="before_publish")
    staged = sorted(root.glob(".lake.hygge-*/*.parquet"))
    assert len(staged) == 2
    staged[-1].unlink()  # the 200 rows of b.parquet
    marker.unlink()
    code, out, err = proc.finish(run)

    assert code == 1, err
    entity = json.loads(out)["entities"][0]
    assert "500 rows were written to" in entity["error"]
    assert "it reports 300 from this load after publishing" in entity["error"]


@pytest.mark.parametrize(
    ("point", "survivor"),
    [("after_batch", 1), ("before_publish", 1), ("after_swap", 2), ("after_publish", 2)],
)
def test_a_copying_full_drop_cut_by_a_crash_leaves_old_or_new(
    point: str, survivor: int, make_project
) -> None:
    root = make_project({"flows/shop/flow.yml": FULL_DROP})
    write_sources(root)
    assert COPIED in go(root)["log"]
    newer = write_sources(root, version=2)

    crashed = proc.run(root, "go", env={"HYGGE_FAILPOINT": point})

    assert crashed.returncode == 99, crashed.stderr
    seen = read_lake(root / "lake")
    assert seen["version"].unique().to_list() == [survivor]
    assert seen.height == 500
    assert COPIED in go(root)["log"]
    assert lake_bytes(root) == sorted(newer.values())


@pytest.mark.parametrize("point", ["after_batch", "before_publish", "mid_publish", "after_publish"])
def test_copying_appends_cut_by_a_crash_load_every_row_once(point: str, make_project) -> None:
    root = make_project({"flows/shop/flow.yml": LANDING})
    write_sources(root)

    crashed = proc.run(root, "go", env={"HYGGE_FAILPOINT": point})

    assert crashed.returncode == 99, crashed.stderr
    go(root)
    orders(500, 50).write_parquet(root / "data/c.parquet")
    assert "copied 1 files unchanged" in go(root)["log"]
    lake = read_lake(root / "lake")
    assert sorted(lake["id"].to_list()) == list(range(550))


def test_files_are_copied_to_and_from_object_storage(
    s3_server: S3, make_project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LAKE_SECRET", SECRET)
    bucket = s3_server.bucket(tmp_path)
    lake = f"connection: lake, path: s3://{bucket}/lake"
    root = make_project(
        {
            "hygge.yml": "name: t\n" + s3_server.connection_yaml(),
            "flows/shop/flow.yml": FULL_DROP.replace("path: lake", lake),
        }
    )
    sources = sorted(write_sources(root).values())

    assert COPIED in go(root)["log"]
    fs = s3_server.filesystem()
    landed = [fs.cat(p) for p in fs.ls(f"{bucket}/lake", detail=False) if p.endswith(".parquet")]
    assert sorted(landed) == sources
    back = FULL_DROP.replace("path: data", lake).replace("path: lake}", "path: back}")
    (root / "flows/shop/flow.yml").write_text(back)
    assert COPIED in go(root)["log"]
    assert sorted((root / "back" / n).read_bytes() for n in data_files(root / "back")) == sources

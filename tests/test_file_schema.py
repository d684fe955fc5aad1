"""A file store holds each load to the columns its folder already has (stores/_file_schema.py):
new columns are added and reported, exact conversions are cast, and any other change of a
column's type fails the entity before anything is published.

Real incremental runs: a landing folder (`new_files_only`) gets one source file per run.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from hygge.stores._file_schema import converts
from tests.conftest import ProjectMaker, data_files

FLOW = """\
home: {{type: parquet, path: land, new_files_only: true}}
store: {{type: {kind}, path: lake/x}}
"""
READ = {"parquet": pl.read_parquet, "csv": pl.read_csv, "ndjson": pl.read_ndjson}


@pytest.fixture
def landing(make_project: ProjectMaker, request: pytest.FixtureRequest) -> Path:
    """A project moving the files landing in `land/` into a folder store: parquet, unless the
    test is parametrised indirectly with the store's type."""
    root = make_project({"flows/x/flow.yml": FLOW.format(kind=store_kind(request))})
    (root / "land").mkdir()
    return root


def store_kind(request: pytest.FixtureRequest) -> str:
    callspec = getattr(request.node, "callspec", None)
    return (
        str(callspec.params["landing"]) if callspec and "landing" in callspec.params else "parquet"
    )


def land(root: Path, name: str, **columns: pl.Series | list) -> None:
    pl.DataFrame(columns).write_parquet(root / "land" / f"{name}.parquet")


def go(hygge_cli, root: Path, *args: str, code: int = 0) -> dict:
    """`hygge go --json ARGS`, which must exit `code`; its summary's one entity."""
    result = hygge_cli("go", "--json", *args, cwd=root)
    assert result.exit_code == code, result.output
    (entity,) = json.loads(result.stdout)["entities"]
    return entity


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under the folder (data and commit records), with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def read_newest_first(folder: Path) -> pl.DataFrame:
    """The README's way to read a parquet folder whose columns grew."""
    files = sorted(folder.glob("*.parquet"), reverse=True)
    return pl.scan_parquet(files, missing_columns="insert").collect()


@pytest.mark.parametrize("landing", ["parquet", "csv", "ndjson"], indirect=True)
def test_a_changed_type_fails_the_entity_naming_it_and_leaves_the_folder_untouched(
    landing: Path, hygge_cli, request: pytest.FixtureRequest
) -> None:
    root, kind = landing, store_kind(request)
    land(root, "1", id=[1, 2], v=[10, 20])
    go(hygge_cli, root)
    before = snapshot(root / "lake/x")
    land(root, "2", id=[3], v=["thirty"])

    failed = go(hygge_cli, root, code=1)

    assert failed["status"] == "failed"
    assert "column 'v' is String in this run's rows but Int64 in the folder" in failed["error"]
    assert "full_drop" in failed["hint"] and "--entity x.x:d" in failed["hint"]
    assert snapshot(root / "lake/x") == before
    assert not [p for p in (root / "lake").iterdir() if p.name.startswith(".")]  # no staging
    (published,) = data_files(root / "lake/x")
    assert READ[kind](root / "lake/x" / published)["v"].to_list() == [10, 20]

    (root / "land/1.parquet").unlink()  # the way out: one full copy of what the source has now
    assert go(hygge_cli, root, "--entity", "x.x:d")["rows"] == 1
    land(root, "3", id=[4], v=["forty"])
    assert go(hygge_cli, root)["rows"] == 1


def test_new_columns_are_added_reported_and_the_folder_reads_back_whole(
    landing: Path, hygge_cli
) -> None:
    root = landing
    land(root, "1", id=[1, 2], v=[10, 20])
    assert go(hygge_cli, root)["schema_changes"] == []
    land(root, "2", id=[3], v=[30], extra=[1.5])

    added = go(hygge_cli, root)

    assert added["schema_changes"] == [{"action": "added", "column": "extra", "type": "Float64"}]
    land(root, "3", id=[4], extra=[2.5])  # v is gone from the source: written as null
    text = hygge_cli("go", cwd=root)
    assert text.exit_code == 0, text.output
    assert "added column" not in text.stdout
    rows = read_newest_first(root / "lake/x").sort("id")
    assert rows.to_dict(as_series=False) == {
        "id": [1, 2, 3, 4],
        "v": [10, 20, 30, None],
        "extra": [None, None, 1.5, 2.5],
    }
    history = json.loads(hygge_cli("history", "--json", cwd=root).stdout)
    assert [h["schema_changes"] for h in history] == [[], added["schema_changes"], []]


@pytest.mark.parametrize("landing", ["csv", "ndjson"], indirect=True)
def test_text_stores_add_and_pad_columns_the_same_way(
    landing: Path, hygge_cli, request: pytest.FixtureRequest
) -> None:
    root, kind = landing, store_kind(request)
    land(root, "1", id=[1], v=[10])
    go(hygge_cli, root)
    land(root, "2", id=[2], extra=["e"])
    assert go(hygge_cli, root)["schema_changes"][0]["column"] == "extra"
    land(root, "3", id=[3], v=[30], extra=["f"])
    assert go(hygge_cli, root)["schema_changes"] == []
    frames = [READ[kind](root / "lake/x" / name) for name in data_files(root / "lake/x")]
    assert [frame.columns for frame in frames] == [["id", "v"], *[["id", "v", "extra"]] * 2]
    assert [frame.row(0) for frame in frames] == [(1, 10), (2, None, "e"), (3, 30, "f")]


def test_exact_conversions_are_cast_to_the_folders_type_and_others_refused(
    landing: Path, hygge_cli
) -> None:
    root = landing
    land(root, "1", id=[1], v=pl.Series([10], dtype=pl.Int64), f=pl.Series([1.5]))
    go(hygge_cli, root)
    land(root, "2", id=[2], v=pl.Series([20], dtype=pl.Int32), f=pl.Series([7], dtype=pl.Int16))
    go(hygge_cli, root)
    for name in data_files(root / "lake/x"):
        schema = pl.read_parquet_schema(root / "lake/x" / name)
        assert (schema["v"], schema["f"]) == (pl.Int64, pl.Float64)
    land(root, "3", id=[3], v=pl.Series([2**60], dtype=pl.UInt64), f=[2.5])
    failed = go(hygge_cli, root, code=1)
    assert "column 'v' is UInt64 in this run's rows but Int64" in failed["error"]
    assert read_newest_first(root / "lake/x")["f"].sort().to_list() == [1.5, 7.0]


@pytest.mark.parametrize(
    ("source", "target", "exact"),
    [
        (pl.Int32(), pl.Int64(), True),
        (pl.UInt32(), pl.Int64(), True),
        (pl.UInt8(), pl.UInt64(), True),
        (pl.Int16(), pl.Float32(), True),
        (pl.Int32(), pl.Float64(), True),
        (pl.Float32(), pl.Float64(), True),
        (pl.Null(), pl.Datetime("us", "UTC"), True),
        (pl.Int64(), pl.Int32(), False),  # narrower
        (pl.Int8(), pl.UInt64(), False),  # negatives
        (pl.UInt64(), pl.Int64(), False),
        (pl.Int32(), pl.Float32(), False),  # 31 bits in a 24-bit mantissa
        (pl.Int64(), pl.Float64(), False),  # 2**53 + 1 rounds
        (pl.Float64(), pl.Float32(), False),
        (pl.Float64(), pl.Int64(), False),
        (pl.Int64(), pl.String(), False),
        (pl.Datetime("ms"), pl.Datetime("us"), False),  # another type: refused, not guessed
        (pl.Date(), pl.Datetime("us"), False),
    ],
)
def test_the_rule_of_exact_conversions(
    source: pl.DataType, target: pl.DataType, exact: bool
) -> None:
    assert converts(source, target) is exact


def test_a_column_of_nulls_takes_the_first_type_it_gets(landing: Path, hygge_cli) -> None:
    root = landing
    land(root, "1", id=[1], v=pl.Series([None], dtype=pl.Null))
    go(hygge_cli, root)
    land(root, "2", id=[2], v=[2.5])
    assert go(hygge_cli, root)["schema_changes"] == []
    land(root, "3", id=[3], v=pl.Series([None], dtype=pl.Null))
    go(hygge_cli, root)
    rows = read_newest_first(root / "lake/x").sort("id")
    assert rows.schema["v"] == pl.Float64 and rows["v"].to_list() == [None, 2.5, None]


@pytest.mark.parametrize("landing", ["parquet", "csv"], indirect=True)
def test_files_landing_in_one_run_are_held_to_each_other(landing: Path, hygge_cli) -> None:
    """Two new files in one run: a new column in the second starts a new file (a file's
    columns are fixed by its first batch); a changed type fails the run, publishing nothing."""
    root = landing
    land(root, "1", id=[1], v=[10])
    land(root, "2", id=[2], v=[20], extra=["e"])
    assert go(hygge_cli, root)["rows"] == 2
    assert len(data_files(root / "lake/x")) == 2
    before = snapshot(root / "lake/x")
    land(root, "3", id=[3], v=[30], more=["m"])  # new here, and of two types in this run
    land(root, "4", id=[4], v=[40], more=[4])

    failed = go(hygge_cli, root, code=1)

    assert (
        "column 'more' is Int64 in a batch but String in the batches before it" in (failed["error"])
    )
    assert snapshot(root / "lake/x") == before


def test_a_folder_whose_records_lack_columns_is_held_to_its_newest_file(
    landing: Path, hygge_cli
) -> None:
    """Folders published before commit records kept the columns: the newest parquet file's
    footer tells them."""
    root = landing
    land(root, "1", id=[1], v=[10])
    go(hygge_cli, root)
    for record in (root / "lake/x/_hygge/commits").glob("*.json"):
        data = json.loads(record.read_text())
        del data["schema"]
        record.write_text(json.dumps(data))
    land(root, "2", id=[2], v=["twenty"])
    assert "is String in this run's rows but Int64" in go(hygge_cli, root, code=1)["error"]
    (root / "land/2.parquet").unlink()
    land(root, "3", id=[3], v=[30], extra=[True])
    assert go(hygge_cli, root)["schema_changes"][0]["column"] == "extra"

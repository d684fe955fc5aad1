"""A bad source file fails its entity with a message naming the file (and the line, where a
line is to blame), and never reaches the destination in a changed shape. A named pipe, socket
or device is such a file: never read (a pipe blocks), never skipped (the source looks empty)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import read_lake
from tests.proc import run

CSV_FLOW = """\
home: {type: csv, path: data/orders}
store: {type: parquet, path: lake/orders}
run_type: full_drop
"""
PARQUET_FLOW = """\
home: {type: parquet, path: data/orders}
store: {type: parquet, path: lake/orders}
watermark: {column: id}
"""


def failed(result) -> str:
    assert result.exit_code == 1, result.output
    entity = json.loads(result.stdout)["entities"][0]
    assert entity["status"] == "failed"
    return str(entity["error"])


@pytest.fixture
def csv_project(make_project, hygge_cli) -> Path:
    root = make_project({"flows/orders/flow.yml": CSV_FLOW})
    (root / "data/orders").mkdir(parents=True)
    (root / "data/orders/a.csv").write_text("id,amount\n1,2.5\n2,3.0\n")
    assert hygge_cli("go", cwd=root).exit_code == 0
    return root


@pytest.mark.parametrize(
    ("header", "column"),
    [("id,amount,id", "id"), ('id,amount,"amount"', "amount"), ("id;x;x", "x")],
)
def test_a_column_name_used_twice_is_refused_naming_file_and_column(
    header: str, column: str, csv_project: Path, hygge_cli
) -> None:
    delimiter = ";" if ";" in header else ","
    if delimiter == ";":
        flow = csv_project / "flows/orders/flow.yml"
        flow.write_text(CSV_FLOW.replace("type: csv,", "type: csv, delimiter: ';',"))
    row = delimiter.join(["3", "1.5", "7"])
    (csv_project / "data/orders/b.csv").write_text(f"{header}\n{row}\n")

    error = failed(hygge_cli("go", "--json", cwd=csv_project))

    assert str(csv_project / "data/orders/b.csv") in error
    assert f"column {column!r} appears more than once" in error
    assert "duplicated" not in str(read_lake(csv_project / "lake/orders").columns)


def test_a_header_of_distinct_names_that_polars_would_suffix_is_kept(
    csv_project: Path, hygge_cli
) -> None:
    (csv_project / "data/orders/a.csv").write_text("id,id_duplicated_0\n1,2\n")
    result = hygge_cli("go", cwd=csv_project)
    assert result.exit_code == 0, result.output
    assert read_lake(csv_project / "lake/orders").columns == ["id", "id_duplicated_0"]


@pytest.mark.parametrize("others", [0, 2])
def test_a_ragged_row_is_named_by_file_and_line(others: int, csv_project: Path, hygge_cli) -> None:
    for number in range(others):  # good files read in the same scan
        (csv_project / f"data/orders/a{number}.csv").write_text("id,amount\n5,1.0\n")
    (csv_project / "data/orders/b.csv").write_text(
        'id,amount\n3,"a\nquoted line break"\n4,1.0\n5,1.0,surplus\n6,2.0\n'
    )

    error = failed(hygge_cli("go", "--json", cwd=csv_project))

    assert f"{csv_project / 'data/orders/b.csv'} line 5 (3 fields where the header has 2)" in error
    assert read_lake(csv_project / "lake/orders")["id"].to_list() == [1, 2]


def test_skipped_rows_count_in_the_line_number(csv_project: Path, hygge_cli) -> None:
    flow = csv_project / "flows/orders/flow.yml"
    flow.write_text(CSV_FLOW.replace("type: csv,", "type: csv, skip_rows: 2,"))
    lines = ["exported by", "something", "id,amount", "1,2", "3,4,5"]
    (csv_project / "data/orders/a.csv").write_text("\n".join(lines) + "\n")

    error = failed(hygge_cli("go", "--json", cwd=csv_project))

    assert "a.csv line 5 (3 fields where the header has 2)" in error


def truncated(path: Path) -> None:
    pl.DataFrame({"id": [9, 10]}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:40])


@pytest.mark.parametrize("run_type", ["incremental", "full_drop"])
@pytest.mark.parametrize("damage", ["truncated", "not parquet", "empty"])
def test_a_broken_parquet_file_is_named(
    damage: str, run_type: str, make_project, hygge_cli
) -> None:
    root = make_project({"flows/orders/flow.yml": PARQUET_FLOW})
    (root / "data/orders").mkdir(parents=True)
    pl.DataFrame({"id": [1, 2]}).write_parquet(root / "data/orders/a.parquet")
    assert hygge_cli("go", cwd=root).exit_code == 0
    broken = root / "data/orders/b.parquet"
    if damage == "truncated":
        truncated(broken)
    else:
        broken.write_bytes(b"PAR1 not really parquet PAR1" if damage == "not parquet" else b"")
    pl.DataFrame({"id": [3]}).write_parquet(root / "data/orders/c.parquet")

    error = failed(hygge_cli("go", "--json", "--entity", f"orders.orders:{run_type}", cwd=root))

    assert f"cannot read {broken}:" in error
    assert read_lake(root / "lake/orders")["id"].to_list() == [1, 2]


@pytest.mark.parametrize("line", ['{"id": 4', "not json", "[4, 5]"])
def test_a_bad_ndjson_line_is_named_by_file_and_line(line: str, make_project, hygge_cli) -> None:
    flow = CSV_FLOW.replace("type: csv", "type: ndjson")
    root = make_project({"flows/orders/flow.yml": flow})
    (root / "data/orders").mkdir(parents=True)
    (root / "data/orders/a.ndjson").write_text('{"id": 1}\n{"id": 2}\n')
    (root / "data/orders/b.ndjson").write_text(f'{{"id": 3}}\n\n{line}\n{{"id": 5}}\n')

    error = failed(hygge_cli("go", "--json", cwd=root))

    assert f"{root / 'data/orders/b.ndjson'} line 3" in error
    assert not (root / "lake/orders").exists()


@pytest.fixture
def lake(make_project) -> Path:
    """A lake holding the three orders of one good run from the folder data/orders."""
    root = make_project({"flows/shop/flow.yml": PARQUET_FLOW})
    (root / "data/orders").mkdir(parents=True)
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(root / "data/orders/a.parquet")
    assert run(root, "go").returncode == 0
    (root / "data/orders/a.parquet").unlink()
    return root


def lake_files(root: Path) -> dict[str, bytes]:
    """Every file under lake/, commit records included."""
    lake = root / "lake"
    return {str(p.relative_to(lake)): p.read_bytes() for p in lake.rglob("*") if p.is_file()}


def make_pipe(path: Path) -> None:
    os.mkfifo(path)


def make_socket(path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))  # the file stays after the socket closes


@pytest.mark.parametrize(("make", "kind"), [(make_pipe, "named pipe"), (make_socket, "socket")])
def test_a_home_path_that_is_no_regular_file_is_named(make, kind: str, lake: Path) -> None:
    (lake / "data/orders").rmdir()
    make(lake / "data/orders")
    before = lake_files(lake)

    result = run(lake, "go")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{lake / 'data/orders'} is a {kind}" in result.stdout
    assert lake_files(lake) == before


def test_a_pipe_inside_a_home_folder_is_named_not_read(lake: Path) -> None:
    """Read, a pipe with no writer blocks for ever: the run must stop at once, naming it."""
    pl.DataFrame({"id": [4]}).write_parquet(lake / "data/orders/b.parquet")
    make_pipe(lake / "data/orders/c.parquet")
    before = lake_files(lake)

    result = run(lake, "go")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{lake / 'data/orders/c.parquet'} is a named pipe" in result.stdout
    assert lake_files(lake) == before

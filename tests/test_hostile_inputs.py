"""Hostile inputs, one table: config, command line and data files a user might really hand
hygge. For each: the exit status of the contract, a message naming the culprit, no
traceback, and a destination exactly as it was before (the last good run's files).

Every case starts from the same project after one good run: `files.orders` (CSV ->
parquet, full_drop) and `events.clicks` (parquet -> parquet, incremental on `ts`). A case
then changes some files (project or data) and runs `hygge go` with its arguments.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.conftest import lake_snapshot

HYGGE_YML = "name: hostile\n"
FILES_FLOW = """\
home: {type: csv, path: "data/{entity}.csv"}
store: {type: parquet, path: "lake/{entity}"}
run_type: full_drop
entities: [orders]
"""
EVENTS_FLOW = """\
home: {type: parquet}
store: {type: parquet, path: lake/clicks}
watermark: {column: ts}
entities: [{name: clicks, home: {path: data/events}}]
"""  # (a home path in flow.yml would be the folder of one sub-folder per entity)
ORDERS_CSV = "id,amount,note\n1,2.5,first\n2,3.0,second\n3,4.25,third\n"


def _events(ts: list[str], kinds: list[str] | None = None) -> pl.DataFrame:
    return pl.DataFrame({"ts": ts, "kind": kinds or ["click"] * len(ts)}).with_columns(
        pl.col("ts").str.to_datetime(time_zone="UTC")
    )


Mutation = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """A hostile input: what it changes, how hygge is run, and what must be seen."""

    files: dict[str, str | bytes] = field(default_factory=dict)  # written over the project
    args: tuple[str, ...] = ()
    exit_code: int = 2
    says: tuple[str, ...] = ()  # fragments the output must contain
    mutate: Mutation | None = None  # anything files cannot express


def _events_file(name: str, frame: pl.DataFrame) -> Mutation:
    def write(root: Path) -> None:
        frame.write_parquet(root / "data/events" / name)

    return write


def _file_at(path: Path) -> None:
    """A file where hygge wants a folder."""
    if path.is_dir():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    path.write_text("not a folder")


def _pipe_at(path: Path) -> None:
    """A named pipe where the data file was: reading it would wait for ever."""
    path.unlink()
    os.mkfifo(path)


def _truncated_parquet(root: Path) -> None:
    whole = root / "data/events/more.parquet"
    _events(["2026-01-05T00:00:00"]).write_parquet(whole)
    whole.write_bytes(whole.read_bytes()[:40])


def _replace_events(frame: pl.DataFrame) -> Mutation:
    """The events folder now holds only frame."""

    def replace(root: Path) -> None:
        (root / "data/events/first.parquet").unlink()
        frame.write_parquet(root / "data/events/first.parquet")

    return replace


def _flow(old: str, new: str, flow: str = FILES_FLOW) -> str:
    assert old in flow, old
    return flow.replace(old, new)


FILES = "flows/files/flow.yml"
EVENTS = "flows/events/flow.yml"
ORDERS = "data/orders.csv"
ONLY_ORDERS = ("--entity", "files.orders")
ONLY_CLICKS = ("--entity", "events.clicks")

CASES: dict[str, Case] = {
    # --- project files: exit 2, nothing runs ---------------------------------------------
    "yaml syntax error": Case({FILES: "home: {type: csv\n"}, says=("flow.yml", "YAML syntax")),
    "tab indentation": Case(
        {FILES: "home:\n\ttype: csv\n"}, says=("flows/files/flow.yml", "YAML syntax")
    ),
    "duplicate key": Case(
        {FILES: FILES_FLOW + "run_type: incremental\n"},
        says=("flow.yml:5", "duplicate key 'run_type'"),
    ),
    "python tag": Case(
        {FILES: FILES_FLOW + "batch_rows: !!python/object/apply:os.getpid []\n"},
        says=("flow.yml:5", "not allowed"),
    ),
    "unknown top key": Case({FILES: FILES_FLOW + "runtype: full_drop\n"}, says=("runtype",)),
    "unknown store key": Case(
        {FILES: _flow('path: "lake/{entity}"', 'path: "lake/{entity}", compresion: zstd')},
        says=("store.compresion", "did you mean 'compression'"),
    ),
    "unknown home type": Case(
        {FILES: _flow("type: csv", "type: excel")}, says=("unknown home type 'excel'",)
    ),
    "unknown run type": Case(
        {FILES: _flow("run_type: full_drop", "run_type: upsert")}, says=("run_type", "upsert")
    ),
    "zero batch_rows": Case({FILES: FILES_FLOW + "batch_rows: 0\n"}, says=("batch_rows",)),
    "negative retries": Case({FILES: FILES_FLOW + "retries: -1\n"}, says=("retries",)),
    "text batch_rows": Case(
        {FILES: FILES_FLOW + "batch_rows: lots\n"}, says=("batch_rows", "'lots'")
    ),
    "undefined variable": Case(
        {FILES: _flow('path: "lake/{entity}"', 'path: "${NO_SUCH_LAKE}/{entity}"')},
        says=("NO_SUCH_LAKE", "flow.yml:2"),
    ),
    "merge without primary key": Case(
        {FILES: _flow("run_type: full_drop", "run_type: merge")}, says=("merge",)
    ),
    "incremental without watermark": Case(
        {FILES: _flow("run_type: full_drop", "run_type: incremental")},
        says=("files.orders", "watermark"),
    ),
    "entity name with a slash": Case(
        {FILES: _flow("[orders]", "[a/b]")}, says=("'a/b' is not a valid name",)
    ),
    "hygge.yml without a name": Case({"hygge.yml": "options: {}\n"}, says=("hygge.yml", "name")),
    "hygge.yml is a list": Case(
        {"hygge.yml": "- name: x\n"}, says=("hygge.yml:1", "valid dictionary")
    ),
    "concurrency zero": Case(
        {"hygge.yml": HYGGE_YML + "options: {concurrency: 0}\n"}, says=("concurrency",)
    ),
    "literal password": Case(
        {
            "hygge.yml": HYGGE_YML
            + "connections: {db: {type: postgres, host: h, user: u, password: hunter2}}\n"
        },
        says=("hygge.yml", "password"),
    ),
    "undefined connection": Case(
        {
            FILES: _flow(
                'store: {type: parquet, path: "lake/{entity}"}',
                "store: {type: postgres, connection: nowhere, table: orders}",
            )
        },
        says=("connection 'nowhere' is not defined",),
    ),
    "home path missing": Case(
        {FILES: _flow("data/{entity}.csv", "data/{entity}-nope.csv")},
        says=("orders-nope.csv", "does not exist"),
    ),
    "store path is a file": Case(
        {FILES: _flow("lake/{entity}", "hygge.yml/{entity}")}, says=("is a file",)
    ),
    "watermark and new_files_only": Case(
        {EVENTS: _flow("data/events}", "data/events, new_files_only: true}", EVENTS_FLOW)},
        says=("new_files_only", "watermark"),
    ),
    # --- command line: exit 2 --------------------------------------------------------------
    "unknown entity": Case(args=("--entity", "files.nope"), says=("files.nope",)),
    "bad run-type suffix": Case(
        args=("--entity", "files.orders:x"), says=("unknown run type 'x' in 'files.orders:x'",)
    ),
    "incremental and full-drop": Case(args=("-i", "-d"), says=("--incremental", "--full-drop")),
    "var without equals": Case(args=("--var", "flow.files.batch_rows"), says=("--var",)),
    "var for an unknown flow": Case(args=("--var", "flow.nope.batch_rows=5"), says=("nope",)),
    "to without from": Case(args=("--to", "2026-01-01", *ONLY_CLICKS), says=("--to",)),
    "from without selection": Case(args=("--from", "2026-01-01"), says=("--from",)),
    "from without watermark": Case(
        args=("--from", "2026-01-01", *ONLY_ORDERS), says=("files.orders", "watermark")
    ),
    "concurrency flag zero": Case(args=("--concurrency", "0"), says=("--concurrency",)),
    "empty run-type suffix": Case(args=("--entity", "files.orders:"), says=("files.orders:",)),
    "from after to": Case(
        args=(*ONLY_CLICKS, "--from", "2026-02-01", "--to", "2026-01-01"),
        says=("--from 2026-02-01", "--to 2026-01-01"),
    ),
    "backfill with full_drop": Case(
        args=("--entity", "events.clicks:d", "--from", "2026-01-01"), says=("full_drop",)
    ),
    "var with a typo in a store key": Case(
        args=("--var", "flow.files.store.compresion=snappy"),
        says=("--var 'flow.files.store.compresion=snappy'", "did you mean 'compression'"),
    ),
    "var index out of range": Case(
        args=("--var", "flow.files.entities[3].batch_rows=5"), says=("entities[3]",)
    ),
    "lock folder is a file": Case(
        args=ONLY_ORDERS,
        says=(".hygge/locks",),
        mutate=lambda root: _file_at(root / ".hygge/locks"),
    ),
    # --- data files: the entity fails (exit 1) naming the file -------------------------------
    "ragged csv row": Case(
        {ORDERS: "id,amount,note\n1,2.5,x\n2,3.0\n3,4.25,z,extra\n"},
        args=ONLY_ORDERS,
        exit_code=1,
        says=("orders.csv",),
    ),
    "unclosed quote": Case(
        {ORDERS: 'id,amount,note\n1,2.5,"open\n2,3.0,x\n'},
        args=ONLY_ORDERS,
        exit_code=1,
        says=("orders.csv",),
    ),
    "latin-1 bytes in utf-8 csv": Case(
        {ORDERS: "id,amount,note\n1,2.5,Åse\n".encode("latin-1")},
        args=ONLY_ORDERS,
        exit_code=1,
        says=("orders.csv",),
    ),
    "empty csv file": Case({ORDERS: b""}, args=ONLY_ORDERS, exit_code=1, says=("orders.csv",)),
    "csv with a header only": Case(
        {ORDERS: "id,amount,note\n"}, args=ONLY_ORDERS, exit_code=1, says=("no rows", "allow_empty")
    ),
    "csv naming a column twice": Case(
        {ORDERS: "id,amount,id\n1,2.5,3\n"},
        args=ONLY_ORDERS,
        exit_code=1,
        says=("orders.csv", "'id'"),
    ),
    "ragged csv row names its line": Case(
        {ORDERS: "id,amount,note\n1,2.5,x\n2,3.0,y,z\n"},
        args=ONLY_ORDERS,
        exit_code=1,
        says=("orders.csv", "line 3"),
    ),
    "a named pipe as the source": Case(
        args=ONLY_ORDERS,
        exit_code=1,
        says=("orders.csv",),
        mutate=lambda root: _pipe_at(root / ORDERS),
    ),
    "a glob matching nothing": Case(
        {FILES: _flow("data/{entity}.csv", "data/{entity}-*.csv")},
        args=ONLY_ORDERS,
        exit_code=1,
        says=("no rows",),
    ),
    "a store folder of someone else's files": Case(
        {
            FILES: _flow('"lake/{entity}"', "lake/reports"),
            "lake/reports/orders/Q3-figures.xlsx": b"numbers",
        },
        args=ONLY_ORDERS,
        exit_code=1,
        says=("Q3-figures.xlsx", "overwrite_foreign"),
    ),
    "binary garbage as csv": Case(
        {ORDERS: bytes(range(256)) * 4}, args=ONLY_ORDERS, exit_code=1, says=("orders.csv",)
    ),
    "not parquet at all": Case(
        {"data/events/more.parquet": b"PAR1 not really parquet PAR1"},
        args=ONLY_CLICKS,
        exit_code=1,
        says=("events.clicks", "data/events"),
    ),
    "truncated parquet": Case(
        args=ONLY_CLICKS, exit_code=1, says=("events.clicks",), mutate=_truncated_parquet
    ),
    "empty parquet file": Case(
        {"data/events/more.parquet": b""},
        args=ONLY_CLICKS,
        exit_code=1,
        says=("events.clicks",),
    ),
    "watermark column renamed away": Case(
        args=ONLY_CLICKS,
        exit_code=1,
        says=("'ts'",),
        mutate=_replace_events(_events(["2026-01-09T00:00:00"]).rename({"ts": "when"})),
    ),
    "watermark turns into text": Case(
        args=ONLY_CLICKS,
        exit_code=1,
        says=("watermark of 'ts' is a datetime", "the column is String"),
        mutate=_replace_events(pl.DataFrame({"ts": ["tomorrow"], "kind": ["click"]})),
    ),
    "two-character delimiter": Case(
        {FILES: _flow("type: csv,", "type: csv, delimiter: ';;',")}, says=("delimiter",)
    ),
    "unknown csv encoding": Case(
        {FILES: _flow("type: csv,", "type: csv, encoding: latin9,")}, says=("encoding",)
    ),
    "negative file_rows": Case(
        {FILES: _flow('path: "lake/{entity}"', 'path: "lake/{entity}", file_rows: -1')},
        says=("file_rows",),
    ),
    "unknown compression": Case(
        {FILES: _flow('path: "lake/{entity}"', 'path: "lake/{entity}", compression: zip')},
        says=("compression",),
    ),
    "compression level out of range": Case(
        {FILES: _flow('path: "lake/{entity}"', 'path: "lake/{entity}", compression_level: 99')},
        says=("compression_level",),
    ),
    "lookback that is no duration": Case(
        {EVENTS: _flow("{column: ts}", "{column: ts, lookback: forever}", EVENTS_FLOW)},
        says=("flow.yml:3", "watermark.lookback", "'forever'"),
    ),
    "negative lookback": Case(
        {EVENTS: _flow("{column: ts}", "{column: ts, lookback: -5}", EVENTS_FLOW)},
        says=("watermark.lookback", "-5"),
    ),
    "empty flow file": Case({FILES: ""}, says=("flows/files/flow.yml",)),
    "entity file with an unknown key": Case(
        {"flows/files/entities/orders.yml": "batch_rowz: 5\n"},
        says=("orders.yml", "batch_rowz"),
    ),
    "unknown flow": Case(args=("--flow", "nope"), says=("nope",)),
    "entity glob matching nothing": Case(args=("--entity", "files.z*"), says=("files.z*",)),
    "var with a value of the wrong type": Case(
        args=("--var", "flow.files.batch_rows=abc"), says=("batch_rows", "abc")
    ),
    "selected column missing": Case(
        {FILES: _flow("type: csv,", "type: csv, columns: [id, nope],")},
        args=ONLY_ORDERS,
        exit_code=1,
        says=("nope",),
    ),
    "watermark column not in the source": Case(
        {EVENTS: _flow("{column: ts}", "{column: tss}", EVENTS_FLOW)},
        args=ONLY_CLICKS,
        exit_code=1,
        says=("'tss'",),
    ),
    "backfill from no date": Case(args=(*ONLY_CLICKS, "--from", "banana"), says=("'banana'", "ts")),
}


@pytest.fixture
def hostile(make_project, hygge_cli) -> Path:
    """The base project after one good run of both entities."""
    root = make_project({"hygge.yml": HYGGE_YML, FILES: FILES_FLOW, EVENTS: EVENTS_FLOW})
    (root / "data/events").mkdir(parents=True)
    (root / ORDERS).write_text(ORDERS_CSV)
    _events(["2026-01-01T00:00:00", "2026-01-02T00:00:00"]).write_parquet(
        root / "data/events/first.parquet"
    )
    first = hygge_cli("go", cwd=root)
    assert first.exit_code == 0, first.output
    return root


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input(name: str, hostile: Path, hygge_cli) -> None:
    case = CASES[name]
    for relative, content in case.files.items():
        path = hostile / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    if case.mutate is not None:
        case.mutate(hostile)
    before = lake_snapshot(hostile)

    result = hygge_cli("go", *case.args, cwd=hostile)

    output = result.output
    assert result.exit_code == case.exit_code, output
    for fragment in case.says:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert "Traceback" not in output
    assert lake_snapshot(hostile) == before


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 50


# Inputs that are strange but valid: they must arrive exactly as they are.
SURVIVES: dict[str, pl.DataFrame] = {
    "a 1 MB string": pl.DataFrame({"id": [1, 2], "text": ["x" * 1_000_000, "é" * 500_000]}),
    "emoji column names": pl.DataFrame({"🛒 cart": [1], "naïve ünïcödé": ["ok"]}),
    "names differing only in case": pl.DataFrame({"Id": [1], "id": [2], "ID": [3]}),
    "nul bytes and newlines in text": pl.DataFrame({"text": ["a\x00b", "line\nbreak", "\r\n"]}),
    "empty text versus null": pl.DataFrame({"text": ["", None, " "]}),
    "extreme numbers": pl.DataFrame(
        {
            "big": [2**63 - 1, -(2**63), 0],
            "float": [float("nan"), float("inf"), -0.0],
        }
    ),
    "dates at the edges": pl.DataFrame(
        {"day": ["0001-01-01", "9999-12-31", "1970-01-01"]}
    ).with_columns(pl.col("day").str.to_date()),
    "a column of nulls only": pl.DataFrame({"id": [1, 2], "nothing": [None, None]}),
    "nested values": pl.DataFrame(
        {"tags": [["a", "b"], [], None], "kv": [{"k": 1}, None, {"k": 2}]}
    ),
}


@pytest.mark.parametrize("name", list(SURVIVES))
def test_strange_but_valid_data_arrives_exactly(name: str, make_project, hygge_cli) -> None:
    frame = SURVIVES[name]
    root = make_project(
        {
            "flows/odd/flow.yml": """\
                home: {type: parquet, path: data/odd.parquet}
                store: {type: parquet, path: lake/odd}
                """
        }
    )
    (root / "data").mkdir()
    frame.write_parquet(root / "data/odd.parquet")

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 0, result.output
    arrived = pl.read_parquet(sorted((root / "lake/odd").glob("*.parquet")))
    assert_frame_equal(arrived, frame)


CSV_SURVIVES: dict[str, tuple[bytes, list[dict[str, object]]]] = {
    "a byte order mark": (b"\xef\xbb\xbfid,name\n1,a\n", [{"id": 1, "name": "a"}]),
    "windows line endings": (
        b"id,name\r\n1,a\r\n2,b\r\n",
        [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    ),
    "a newline inside quotes": (b'id,name\n1,"two\nlines"\n', [{"id": 1, "name": "two\nlines"}]),
    "no newline at the end": (b"id,name\n1,a", [{"id": 1, "name": "a"}]),
}


@pytest.mark.parametrize("name", list(CSV_SURVIVES))
def test_strange_but_valid_csv_arrives_exactly(name: str, make_project, hygge_cli) -> None:
    content, rows = CSV_SURVIVES[name]
    root = make_project(
        {
            "flows/odd/flow.yml": """\
                home: {type: csv, path: data/odd.csv}
                store: {type: parquet, path: lake/odd}
                """
        }
    )
    (root / "data").mkdir()
    (root / "data/odd.csv").write_bytes(content)

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 0, result.output
    arrived = pl.read_parquet(sorted((root / "lake/odd").glob("*.parquet")))
    assert arrived.to_dicts() == rows

"""`hygge debug` finds what would stop `hygge go` without moving a row: unusable watermark,
primary-key and partition columns, missing tables, table names an engine cannot keep."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import adbc_driver_postgresql.dbapi as dbapi
import duckdb
import polars as pl
import pytest

import hygge
from hygge.errors import ConfigError
from tests.conftest import ProjectMaker

FILE_FLOW = """\
home: {type: parquet, path: "data/{entity}.parquet"}
store: {type: parquet, path: "lake/{entity}"}
entities:
  - {name: fine, watermark: {column: ts, start: "2026-01-01", lookback: 2h}, primary_key: [id]}
  - {name: absent, watermark: {column: updated}}
  - {name: flagged, watermark: {column: flag}, primary_key: [id, missing]}
  - {name: badstart, watermark: {column: ts, start: "someday", lookback: 5}}
  - {name: nested, primary_key: [tags], run_type: full_drop}
"""


def write_sources(root: Path, names: list[str]) -> None:
    (root / "data").mkdir()
    frame = pl.DataFrame(
        {
            "id": [1, 2],
            "flag": [True, False],
            "ts": [datetime(2026, 1, 1), datetime(2026, 1, 2)],
            "tags": [[1], [2, 3]],
        }
    )
    for name in names:
        frame.write_parquet(root / f"data/{name}.parquet")


def test_debug_checks_the_columns_of_file_homes(make_project: ProjectMaker, hygge_cli) -> None:
    root = make_project({"flows/f/flow.yml": FILE_FLOW})
    write_sources(root, ["fine", "absent", "flagged", "badstart", "nested"])

    result = hygge_cli("debug", cwd=root)

    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "ok  f.fine" in out
    assert "problem  f.absent" in out and "watermark column 'updated' is not in" in out
    assert "columns there: id, flag, ts, tags" in out
    assert "problem  f.flagged" in out
    assert "watermark column 'flag' has type Boolean, which cannot order rows" in out
    assert "primary key column 'missing' is not in" in out
    assert "problem  f.badstart" in out
    assert "'someday' is not a valid value for watermark column 'ts'" in out
    assert "lookback 5 does not fit a datetime watermark" in out
    assert "problem  f.nested" in out
    assert "primary key column 'tags' has type List(Int64), which rows cannot be" in out
    assert "1 flows, 5 entities, 6 problems" in out
    assert not (root / "lake").exists() and not (root / ".hygge").exists()

    ran = hygge_cli("go", "--json", cwd=root)  # what debug found is what stops the run
    assert ran.exit_code == 1
    assert (root / "lake/fine").is_dir()


def test_a_watermark_on_an_empty_landing_folder_is_a_problem(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flow = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    root = make_project({"flows/f/flow.yml": flow + "watermark: {column: ts}\n"})
    (root / "data").mkdir()

    result = hygge_cli("debug", cwd=root)

    assert result.exit_code == 1, result.output
    assert "watermark column 'ts' is not in" in result.stdout
    assert "columns there: none, it holds no data yet" in result.stdout


def test_debug_finds_a_missing_table_in_a_duckdb_home(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flow = """\
        home: {type: duckdb, path: source.duckdb, table: "{entity}"}
        store: {type: parquet, path: "lake/{entity}"}
        run_type: full_drop
        entities: [orders, ordres]
        """
    root = make_project({"flows/f/flow.yml": flow})
    with duckdb.connect(str(root / "source.duckdb")) as con:
        con.execute("CREATE TABLE orders (id INTEGER)")

    result = hygge_cli("debug", cwd=root)

    assert result.exit_code == 1, result.output
    assert "ok  f.orders" in result.stdout
    assert "problem  f.ordres" in result.stdout and "ordres" in result.stdout.split("problem")[1]
    assert "1 problems" in result.stdout


@pytest.fixture
def pg_project(make_project: ProjectMaker, postgres_url: str, monkeypatch) -> tuple[Path, str]:
    """A project whose flow reads table `source` of the session's server (columns: id, flag,
    tags int[], updated_at) into parquet; returns (root, the source table's name)."""
    monkeypatch.setenv("PG_URL", postgres_url)
    source = "s_" + os.urandom(6).hex()
    with dbapi.connect(postgres_url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {source} (id bigint, flag boolean, tags int[], updated_at timestamptz)"
        )
        cur.execute(f"INSERT INTO {source} VALUES (1, true, '{{1,2}}', $1)", [datetime.now(UTC)])
    hygge_yml = 'name: t\nconnections:\n  db: {type: postgres, url: "${PG_URL}"}\n'
    return make_project({"hygge.yml": hygge_yml}), source


def pg_flow(root: Path, source: str, entities: str) -> None:
    """Each entity reads a view of `source` of its own (several entities reading one table
    is refused as a mistake)."""
    with dbapi.connect(os.environ["PG_URL"], autocommit=True) as con, con.cursor() as cur:
        for name in re.findall(r"name: (\w+)", entities):
            cur.execute(f"CREATE VIEW {source}_{name} AS SELECT * FROM {source}")
    home = f'home: {{type: postgres, connection: db, table: "{source}_{{entity}}"}}\n'
    store = 'store: {type: parquet, path: "lake/{entity}"}\n'
    (root / "flows/pg").mkdir(parents=True)
    (root / "flows/pg/flow.yml").write_text(home + store + "entities:\n" + entities)


def test_debug_checks_the_columns_of_a_postgres_home(pg_project, hygge_cli) -> None:
    root, source = pg_project
    pg_flow(
        root,
        source,
        """\
  - {name: fine, watermark: {column: updated_at, lookback: 1h}, primary_key: [id]}
  - {name: absent, watermark: {column: changed_at}}
  - {name: flagged, watermark: {column: flag}}
  - {name: listed, run_type: full_drop, primary_key: [tags]}
  - {name: split, run_type: full_drop, home: {partition: {column: flag, count: 2}}}
  - {name: lookback, watermark: {column: id, lookback: 2h}}
""",
    )

    result = hygge_cli("debug", cwd=root)

    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "ok  pg.fine" in out
    assert "problem  pg.absent" in out and "watermark column 'changed_at' is not in" in out
    assert "columns there: id, flag, tags, updated_at" in out
    assert "problem  pg.flagged" in out and "'flag' has type Boolean, which cannot order" in out
    assert "problem  pg.listed" in out and "primary key column 'tags' has type List" in out
    assert "problem  pg.split" in out and "partition column 'flag' has type Boolean" in out
    assert "problem  pg.lookback" in out
    assert "watermark column 'id' (Int64): lookback '2h' does not fit a int watermark" in out
    assert "1 flows, 6 entities, 5 problems" in out
    assert not (root / "lake").exists()


def test_a_postgres_table_name_longer_than_63_is_refused(pg_project, hygge_cli) -> None:
    root, source = pg_project
    long = "t" * 64
    (root / "flows/pg").mkdir(parents=True)
    flow = f"home: {{type: postgres, connection: db, table: {source}}}\n"
    flow += f"store: {{type: postgres, connection: db, table: {long}}}\nrun_type: full_drop\n"
    (root / "flows/pg/flow.yml").write_text(flow)

    checked = hygge_cli("debug", cwd=root)
    ran = hygge_cli("go", cwd=root)

    message = f"table '{long}' is 64 characters; a postgres name has at most 63"
    assert checked.exit_code == 1 and message in checked.stdout
    assert ran.exit_code == 2 and message in ran.stderr


def test_debug_checks_the_committed_watermark_against_the_config(
    make_project: ProjectMaker, hygge_cli
) -> None:
    """A watermark the journal holds on another column, or of another type than the column
    has now, stops `go`; `debug` says so first."""
    flow = "home: {type: parquet, path: data/x.parquet}\nstore: {type: parquet, path: lake}\n"
    root = make_project({"flows/x/flow.yml": flow + "watermark: {column: ts}\n"})
    (root / "data").mkdir()
    pl.DataFrame({"id": [1, 2], "ts": [1, 2]}).write_parquet(root / "data/x.parquet")
    assert hygge_cli("debug", cwd=root).exit_code == 0  # no journal yet: nothing to compare
    assert not (root / ".hygge/journal.db").exists()
    assert hygge_cli("go", cwd=root).exit_code == 0
    assert hygge_cli("debug", cwd=root).exit_code == 0

    (root / "flows/x/flow.yml").write_text(flow + "watermark: {column: id}\n")
    moved = hygge_cli("debug", cwd=root)
    assert moved.exit_code == 1, moved.output
    assert (
        "the committed watermark of x.x is on 'ts', but the config now names 'id'" in moved.stdout
    )

    (root / "flows/x/flow.yml").write_text(flow + "watermark: {column: ts}\n")
    stamps = [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)]
    pl.DataFrame({"id": [1, 2], "ts": stamps}).write_parquet(root / "data/x.parquet")
    retyped = hygge_cli("debug", cwd=root)
    assert retyped.exit_code == 1, retyped.output
    assert "watermark of 'ts' is a int" in retyped.stdout


def test_debug_refuses_a_misspelt_connection_type(make_project: ProjectMaker, hygge_cli) -> None:
    """It used to report the connection as fine: no driver was looked up for the type."""
    project = "name: t\nconnections:\n  warehouse:\n    type: postgress\n    host: db\n"
    root = make_project({"hygge.yml": project, "flows/f/flow.yml": FILE_FLOW})

    result = hygge_cli("debug", cwd=root)

    assert result.exit_code == 2, result.output
    assert "hygge.yml:4: key 'connections.warehouse.type'" in result.stderr
    assert "unknown connection type 'postgress'" in result.stderr
    assert "did you mean 'postgres'?" in result.stderr
    assert "ok  connection" not in result.stdout


def test_debug_checks_a_connection_typed_by_a_url_scheme_alias(
    make_project: ProjectMaker, hygge_cli
) -> None:
    """`type: mariadb` builds a mariadb:// URL the MySQL driver takes; debug checks it too."""
    project = "name: t\nconnections:\n  shop: {type: mariadb, host: 127.0.0.1, port: 1}\n"
    root = make_project({"hygge.yml": project, "flows/f/flow.yml": FILE_FLOW})
    write_sources(root, ["fine", "absent", "flagged", "badstart", "nested"])

    result = hygge_cli("debug", cwd=root)

    assert result.exit_code == 1, result.output
    assert "problem  connection shop" in result.stdout


def test_check_project_is_the_library_form_of_debug(make_project: ProjectMaker) -> None:
    """An orchestrator's health check gets debug's findings as values, nothing printed or
    written."""
    root = make_project({"flows/f/flow.yml": FILE_FLOW})
    write_sources(root, ["fine", "absent", "flagged", "badstart", "nested"])

    checked = hygge.check_project(root)

    assert (checked.project, checked.flows, checked.problems) == ("test", 1, 6)
    assert checked.exit_code == 1
    by_name = {c.name: c for c in checked.entities}
    assert list(by_name) == ["f.fine", "f.absent", "f.flagged", "f.badstart", "f.nested"]
    assert by_name["f.fine"].ok and by_name["f.fine"].route.endswith("lake/fine")
    assert by_name["f.absent"].problems[0].startswith("watermark column 'updated' is not in")
    assert len(by_name["f.flagged"].problems) == 2
    assert not (root / "lake").exists() and not (root / ".hygge").exists()


def test_check_project_names_a_bad_connection_without_its_password(
    make_project: ProjectMaker, postgres_url: str, monkeypatch
) -> None:
    canary = "canary-7d2f"
    monkeypatch.setenv("BAD_URL", postgres_url.replace("hygge-test-pw", canary))
    project = 'name: t\nconnections:\n  bad: {type: postgres, url: "${BAD_URL}"}\n'
    flow = "home: {type: parquet, path: data/x.parquet}\nstore: {type: parquet, path: lake}\n"
    root = make_project({"hygge.yml": project, "flows/f/flow.yml": flow})

    checked = hygge.check_project(root)

    (bad,) = checked.connections
    assert (bad.kind, bad.name, bad.ok) == ("connection", "bad", False)
    assert "password authentication failed" in " ".join(bad.problems)
    assert canary not in repr(checked)


def test_check_project_needs_every_variable(make_project: ProjectMaker, monkeypatch) -> None:
    """Checking every connection needs each one's variables; a run of other flows would not."""
    monkeypatch.delenv("NO_SUCH_URL", raising=False)
    project = 'name: t\nconnections:\n  db: {type: postgres, url: "${NO_SUCH_URL}"}\n'
    root = make_project({"hygge.yml": project, "flows/f/flow.yml": FILE_FLOW})

    with pytest.raises(ConfigError, match="NO_SUCH_URL") as refused:
        hygge.check_project(root)
    assert refused.value.exit_code == 2

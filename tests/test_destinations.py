"""Where entities read and write: a flow's paths made each entity's own, the same
destination reached by two spellings, and stores that would write over a home.

Runs go through the CLI (`hygge go`), so the exit status and messages are the user's."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest

from tests import proc
from tests.conftest import ProjectMaker, read_lake
from tests.test_contracts import home, store


def ids(root: Path, relative: str, values: list[int]) -> None:
    """Write a parquet file of `id` values under the project."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"id": values}).write_parquet(path)


def lake_ids(folder: Path) -> list[int]:
    return sorted(read_lake(folder)["id"].to_list())


# A flow's paths made each entity's own (README "File homes", "File stores").


def test_a_folder_home_of_a_flow_of_entities_is_read_one_sub_folder_per_entity(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flow = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    root = make_project({"flows/f/flow.yml": flow + "entities: [a, b]\n"})
    ids(root, "data/a/x.parquet", [1, 2, 3])
    ids(root, "data/b/x.parquet", [4])

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 0, result.output
    assert lake_ids(root / "lake/a") == [1, 2, 3]
    assert lake_ids(root / "lake/b") == [4]


def test_one_declared_entity_reads_and_writes_its_sub_folders_as_it_will_beside_a_second(
    make_project: ProjectMaker, hygge_cli
) -> None:
    """`entities: [a]` already means data/a and lake/a, so adding b later moves nothing; a
    flow declaring no entities (one named like the flow) reads and writes the paths as given."""
    flow = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    alone = flow.replace("lake", "out")
    root = make_project({"flows/f/flow.yml": flow + "entities: [a]\n", "flows/g/flow.yml": alone})
    ids(root, "data/a/x.parquet", [1, 2])
    ids(root, "data/b/x.parquet", [3])

    assert hygge_cli("go", "--flow", "f", cwd=root).exit_code == 0
    assert lake_ids(root / "lake/a") == [1, 2]
    (root / "flows/f/flow.yml").write_text(flow + "entities: [a, b]\n")
    assert hygge_cli("go", "--flow", "f", cwd=root).exit_code == 0
    assert (lake_ids(root / "lake/a"), lake_ids(root / "lake/b")) == ([1, 2], [3])

    assert hygge_cli("go", "--flow", "g", cwd=root).exit_code == 0
    assert lake_ids(root / "out") == [1, 2, 3]


def test_a_missing_entity_folder_says_why_the_entity_name_was_appended(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flow = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    root = make_project({"flows/f/flow.yml": flow + "entities: [a]\n"})
    ids(root, "data/x.parquet", [1])

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2, result.output
    assert f"home path {root}/data/a does not exist (in a flow that declares entities" in (
        result.stderr
    )
    assert f"to read {root}/data itself, give the entity its own home.path" in result.stderr


@pytest.mark.parametrize(
    ("home", "key", "example"),
    [
        ("{type: parquet, path: data/all.parquet}", "home.path", '"data/{entity}.parquet"'),
        ('{type: parquet, path: "data/*.parquet"}', "home.path", '"data/{entity}.parquet"'),
        ("{type: sqlite, path: app.db, table: orders}", "home.table", '"{entity}"'),
        ("{type: sqlite, path: app.db, table: main.orders}", "home.table", '"main.{entity}"'),
        ('{type: sqlite, path: app.db, query: "SELECT * FROM orders"}', "home.query", "{entity}"),
    ],
)
def test_one_file_glob_table_or_query_for_several_entities_is_refused(
    home: str, key: str, example: str, make_project: ProjectMaker, hygge_cli
) -> None:
    flow = f"home: {home}\nstore: {{type: parquet, path: lake}}\nentities: [a, b]\n"
    root = make_project({"flows/f/flow.yml": flow})
    ids(root, "data/all.parquet", [1, 2, 3])
    with closing(sqlite3.connect(root / "app.db")) as con, con:
        con.execute("CREATE TABLE orders (id INTEGER)")

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2, result.output
    assert f"flows/f/flow.yml:1: {key} " in result.stderr
    assert "every entity of flow f (a, b) would read the same rows" in result.stderr
    assert example in result.stderr
    assert not (root / "lake").exists()


def test_a_file_or_query_is_the_entitys_own_when_one_entity_or_the_entity_gives_it(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flow = """\
        home: {type: sqlite, path: app.db, query: "SELECT * FROM nothing"}
        store: {type: parquet, path: lake}
        entities:
          - {name: a, home: {query: "SELECT * FROM orders WHERE id < 3"}}
          - {name: b, home: {query: "SELECT * FROM orders WHERE id >= 3"}}
        """
    one = "home: {type: parquet, path: data/all.parquet}\nstore: {type: parquet, path: lake}\n"
    root = make_project({"flows/f/flow.yml": flow, "flows/g/flow.yml": one + "entities: [c]\n"})
    ids(root, "data/all.parquet", [7])
    with closing(sqlite3.connect(root / "app.db")) as con, con:
        con.execute("CREATE TABLE orders (id INTEGER)")
        con.executemany("INSERT INTO orders VALUES (?)", [(1,), (2,), (3,)])

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 0, result.output
    assert (lake_ids(root / "lake/a"), lake_ids(root / "lake/b")) == ([1, 2], [3])
    assert lake_ids(root / "lake/c") == [7]


# One destination reached by two spellings.


def test_two_spellings_of_one_sqlite_file_are_one_destination(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flows = {
        f"flows/{name}/flow.yml": f"home: {{type: parquet, path: data/{name}.parquet}}\n"
        f"store: {{type: sqlite, path: {path}, table: orders}}\n"
        for name, path in (("one", "wh.db"), ("two", "./sub/../wh.db"))
    }
    root = make_project(flows)
    ids(root, "data/one.parquet", [1])
    ids(root, "data/two.parquet", [2])

    for selection in ([], ["--flow", "two"]):  # also when only one of them is selected
        result = hygge_cli("go", *selection, cwd=root)

        assert result.exit_code == 2, result.output
        assert "one.one and two.two write the same destination" in result.stderr
        assert f"both {root / 'wh.db'}#main.orders" in result.stderr
    assert not (root / "wh.db").exists()


def test_a_folder_and_a_symlink_to_it_are_one_destination(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flows = {
        f"flows/{name}/flow.yml": f"home: {{type: parquet, path: data/{name}.parquet}}\n"
        f"store: {{type: parquet, path: {path}}}\n"
        for name, path in (("one", "lake/orders"), ("two", "alias/orders"))
    }
    root = make_project(flows)
    (root / "lake").mkdir()
    (root / "alias").symlink_to(root / "lake")
    ids(root, "data/one.parquet", [1])
    ids(root, "data/two.parquet", [2])

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2, result.output
    assert "one.one and two.two write the same destination" in result.stderr
    assert not (root / "lake/orders").exists()


def test_a_store_folder_that_is_a_symlink_stays_one_and_keeps_its_data(
    make_project: ProjectMaker, hygge_cli
) -> None:
    """The publish swaps the folder the link points to, never the link itself."""
    flow = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    root = make_project({"flows/orders/flow.yml": flow})
    (root / "big").mkdir()
    (root / "lake").symlink_to(root / "big")
    for number, values in enumerate(([1, 2], [3], [4, 5, 6])):
        ids(root, "data/x.parquet", values)

        result = hygge_cli("go", cwd=root)

        assert result.exit_code == 0, (number, result.output)
        assert (root / "lake").is_symlink()
        assert lake_ids(root / "big") == values
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == [".hygge"]


# Stores that would write over a home.


@pytest.mark.parametrize(
    ("home", "store", "source"),
    [
        ('"data/{entity}"', "data", "data/orders/x.parquet"),  # the store holds the home
        ("data/orders/x.parquet", "data", "data/orders/x.parquet"),
        ("data", "data/lake", "data/x.parquet"),  # the home would read the store's files back
    ],
)
def test_a_store_overlapping_a_home_is_refused_and_the_source_kept(
    home: str, store: str, source: str, make_project: ProjectMaker, hygge_cli
) -> None:
    flow = f"home: {{type: parquet, path: {home}}}\nstore: {{type: parquet, path: {store}}}\n"
    root = make_project({"flows/orders/flow.yml": flow})
    ids(root, source, [1, 2, 3])

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2, result.output
    assert f"the store of orders.orders ({root / store}) overlaps the home of orders.orders" in (
        result.stderr
    )
    assert pl.read_parquet(root / source)["id"].to_list() == [1, 2, 3]


def test_a_store_over_another_entitys_home_is_refused(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flow = """\
        home: {type: parquet, path: "in/{entity}"}
        store: {type: parquet, path: lake}
        entities: [a, {name: b, home: {path: b}, store: {path: in}}]
        """
    root = make_project({"flows/f/flow.yml": flow})
    ids(root, "in/a/x.parquet", [1])
    ids(root, "b/x.parquet", [2])

    for selection in ([], ["--entity", "f.b"]):  # also when the reader is not selected
        result = hygge_cli("go", *selection, cwd=root)

        assert result.exit_code == 2, result.output
        assert f"the store of f.b ({root / 'in'}) overlaps the home of f.a" in result.stderr
    assert pl.read_parquet(root / "in/a/x.parquet")["id"].to_list() == [1]


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
@pytest.mark.parametrize(
    ("home", "table"),
    [("table: main.orders", "ORDERS"), ('query: "SELECT * FROM orders"', "orders_copy")],
)
def test_a_database_store_on_the_table_or_file_its_home_reads_is_refused(
    kind: str, home: str, table: str, make_project: ProjectMaker, hygge_cli
) -> None:
    """`ORDERS` is `main.orders` to both engines; a query may read any table of its file."""
    flow = f"""\
        home: {{type: {kind}, path: app.db, {home}}}
        store: {{type: {kind}, path: ./app.db, table: {table}}}
        """
    root = make_project({"flows/orders/flow.yml": flow})

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2, result.output
    assert f"the store of orders.orders ({kind}://{root}/app.db#" in result.stderr
    assert "overlaps the home of orders.orders" in result.stderr


def test_another_table_of_the_home_database_file_is_a_destination_of_its_own(
    make_project: ProjectMaker, hygge_cli
) -> None:
    flow = """\
        home: {type: sqlite, path: app.db, table: orders}
        store: {type: sqlite, path: app.db, table: orders_copy}
        """
    root = make_project({"flows/orders/flow.yml": flow})
    with closing(sqlite3.connect(root / "app.db")) as con, con:
        con.execute("CREATE TABLE orders (id INTEGER)")
        con.execute("INSERT INTO orders VALUES (1)")

    assert hygge_cli("go", cwd=root).exit_code == 0
    with closing(sqlite3.connect(root / "app.db")) as con:
        assert con.execute("SELECT id FROM orders_copy").fetchall() == [(1,)]


# What a store writes, as an identity (`Store.target()`): locks and the plan key on it.

PG = "postgresql://a:pw1@db.example/shop"
SAME_TARGET = [
    pytest.param(
        "postgres",
        {"url": "postgresql://a:pw1@db.example:5432/shop", "table": "orders"},
        {"url": "postgresql://b:pw2@DB.Example/shop", "table": "public.orders"},
        id="postgres: user, host case, default port, schema.table",
    ),
    pytest.param(
        "mysql",
        {"url": "mysql://a:pw1@db/shop", "table": "Orders"},
        {"url": "mysql://b:pw2@db:3306/other", "table": "shop.orders"},
        id="mysql: user, default port, database by schema, case",
    ),
    pytest.param(
        "mssql",
        {"url": "mssql://a:pw1@db/Shop", "table": "Orders"},
        {"url": "mssql://b:pw2@DB:1433/shop", "table": "DBO.orders"},
        id="mssql: user, default port, case of every name",
    ),
    pytest.param(
        "sqlite",
        {"path": "wh.db", "table": "Orders"},
        {"path": "./sub/../wh.db", "table": "main.orders"},
        id="sqlite: path spelling, main, case",
    ),
    pytest.param(
        "duckdb",
        {"path": "wh.duckdb", "table": "orders"},
        {"path": "link.duckdb", "table": "MAIN.ORDERS"},
        id="duckdb: symlinked file, case",
    ),
    pytest.param("parquet", {"path": "lake/a"}, {"path": "alias/a/"}, id="parquet: symlink"),
    pytest.param(
        "postgres",
        {"url": "postgresql://a:pw1@localhost/shop", "table": "orders"},
        {"url": "postgresql://b:pw2@[::1]:5432/shop", "table": "orders"},
        id="postgres: localhost and ::1",
    ),
    pytest.param(
        "postgres",
        {"url": "postgresql://a:pw1@127.0.0.1:5433/shop", "table": "orders"},
        {
            "url": "postgresql://b:pw2@x/?host=/run/postgresql&port=5433&dbname=shop",
            "table": "orders",
        },
        id="postgres: a Unix socket and libpq's query keys",
    ),
    pytest.param(
        "postgres",
        {"url": "postgresql://shop:pw1@localhost/", "table": "orders"},
        {"url": "postgresql://shop:pw1@localhost/shop", "table": "orders"},
        id="postgres: the user's database by default",
    ),
    pytest.param(
        "mysql",
        {"url": "mysql://a:pw1@localhost/shop", "table": "orders"},
        {"url": "mysql://b:pw2@127.0.0.1:3306/shop", "table": "orders"},
        id="mysql: localhost and 127.0.0.1",
    ),
    pytest.param(
        "mssql",
        {"url": "mssql://a:pw1@[::ffff:127.0.0.1]/shop", "table": "orders"},
        {"url": "mssql://b:pw2@LOCALHOST:1433/shop", "table": "orders"},
        id="mssql: a mapped IPv4 loopback and LOCALHOST",
    ),
]
OTHER_TARGET = [
    pytest.param(
        "postgres",
        {"url": PG, "table": "orders"},
        {"url": PG, "table": "Orders"},
        id="postgres: quoted names keep their case",
    ),
    pytest.param(
        "postgres",
        {"url": PG, "table": "orders"},
        {"url": PG.replace("example/", "example:5433/"), "table": "orders"},
        id="postgres: another port",
    ),
    pytest.param(
        "mysql",
        {"url": "mysql://a:pw1@db/shop", "table": "orders"},
        {"url": "mysql://a:pw1@db/shop", "table": "orders", "schema": "other"},
        id="mysql: another database",
    ),
    pytest.param(
        "postgres",
        {"url": "postgresql://a:pw1@localhost/shop", "table": "orders"},
        {"url": "postgresql://a:pw1@10.1.2.3/shop", "table": "orders"},
        id="postgres: another machine",
    ),
    pytest.param(
        "postgres",
        {"url": "postgresql://a:pw1@db.example/?dbname=shop", "table": "orders"},
        {"url": "postgresql://a:pw1@db.example/a", "table": "orders"},
        id="postgres: dbname is not the user's",
    ),
    pytest.param(
        "sqlite",
        {"path": "wh.db", "table": "orders"},
        {"path": "sub/wh.db", "table": "orders"},
        id="sqlite: another file",
    ),
]


def targets(tmp_path: Path, kind: str, *configs: dict[str, str]) -> list[str]:
    (tmp_path / "lake").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "lake")
    (tmp_path / "link.duckdb").symlink_to(tmp_path / "wh.duckdb")
    return [store(kind, tmp_path, **config).target() for config in configs]


@pytest.mark.parametrize(("kind", "one", "two"), SAME_TARGET)
def test_two_configs_of_one_destination_have_one_target_without_a_password(
    kind: str, one: dict[str, str], two: dict[str, str], tmp_path: Path
) -> None:
    first, second = targets(tmp_path, kind, one, two)
    assert first == second
    assert "pw" not in first and "@" not in first


@pytest.mark.parametrize(("kind", "one", "two"), OTHER_TARGET)
def test_configs_of_two_destinations_have_two_targets(
    kind: str, one: dict[str, str], two: dict[str, str], tmp_path: Path
) -> None:
    first, second = targets(tmp_path, kind, one, two)
    assert first != second


# What a server home reads (`Home.origin()`), named as the store that would write it.

READ_AND_WRITTEN = [
    pytest.param(
        "postgres",
        {"url": "postgresql://a:pw1@db.example/shop", "table": "orders"},
        {"url": "postgresql://b:pw2@DB.example:5432/shop", "table": "public.orders"},
        id="postgres: public by default",
    ),
    pytest.param(
        "mysql",
        {"url": "mysql://a:pw1@db/shop", "table": "Orders"},
        {"url": "mysql://b:pw2@db:3306/other", "table": "shop.orders"},
        id="mysql: the URL's database, any case",
    ),
    pytest.param(
        "mssql",
        {"url": "mssql://a:pw1@db/Shop", "table": "orders"},
        {"url": "mssql://b:pw2@DB:1433/shop", "table": "DBO.Orders"},
        id="mssql: dbo by default, any case",
    ),
]


@pytest.mark.parametrize(("kind", "read", "written"), READ_AND_WRITTEN)
def test_a_server_table_a_home_reads_is_the_target_of_a_store_writing_it(
    kind: str, read: dict[str, str], written: dict[str, str], tmp_path: Path
) -> None:
    origin = home(kind, tmp_path, **read).origin()
    assert origin == store(kind, tmp_path, **written).target()
    assert origin is not None and "pw" not in origin
    other = {**written, "table": "invoices"}
    assert origin != store(kind, tmp_path, **other).target()
    assert home(kind, tmp_path, url=read["url"], query="SELECT 1 {window}").origin() is None


@pytest.mark.parametrize(
    ("kind", "spelling", "table"),
    [
        ("sqlite", "link.db", "ORDERS"),
        ("sqlite", "one/../shared.db", "main.orders"),
        ("duckdb", "link.db", "Main.Orders"),
    ],
)
def test_two_projects_cannot_write_one_database_table_at_once(
    kind: str, spelling: str, table: str, tmp_path: Path
) -> None:
    """The second spells the file through a symlink or `..`, the table in another case; its
    skip names both entities and both destinations as written."""
    (tmp_path / "link.db").symlink_to(tmp_path / "shared.db")
    roots = []
    for name, path, written in (("one", "shared.db", "orders"), ("two", spelling, table)):
        root = tmp_path / name
        (root / "flows/orders").mkdir(parents=True)
        (root / "hygge.yml").write_text(f"name: {name}\n")
        flow = (
            f"home: {{type: parquet, path: data}}\n"
            f"store: {{type: {kind}, path: {tmp_path / path}, table: {written}}}\n"
            "batch_rows: 10\n"
        )
        (root / "flows/orders/flow.yml").write_text(flow)
        ids(root, "data/x.parquet", list(range(50)))
        roots.append(root)
    held_pid, held_code, other = proc.go_beside_a_paused_go(roots[0], roots[1], tmp_path / "paused")

    assert held_code == 0
    assert other.returncode == 75, other.stdout + other.stderr
    line = " ".join(other.stdout.split())
    assert f"skipped (writing {kind}://{tmp_path / spelling}#" in line
    assert f"held by pid {held_pid}" in line
    assert f"for orders.orders writing {kind}://{tmp_path / 'shared.db'}#" in line

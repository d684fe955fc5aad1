"""Bad input: a clear message naming the culprit, exit 2, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

GOOD_FLOW = """\
home: {type: csv, path: "data/{entity}.csv"}
store: {type: parquet, path: lake}
entities: [orders]
"""

CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    "yaml syntax": ({"hygge.yml": "name: [t\n"}, ["hygge.yml:2", "YAML syntax error"]),
    "duplicate key": (
        {"hygge.yml": "name: t\nname: u\n"},
        ["hygge.yml:2", "duplicate key 'name'", "first at line 1"],
    ),
    "python tag": (
        {"hygge.yml": "name: !!python/object/apply:os.system [echo hi]\n"},
        ["hygge.yml:1", "!!python/object/apply:os.system", "not allowed"],
    ),
    "unknown key": (
        {"hygge.yml": "name: t\noptions:\n  concurency: 3\n"},
        ["hygge.yml:3", "options.concurency", "did you mean 'concurrency'"],
    ),
    "unknown key in a plugin section": (
        {"flows/sales/flow.yml": GOOD_FLOW.replace("csv,", "csv, delimter: ';',")},
        ["flow.yml:1", "home.delimter", "did you mean 'delimiter'"],
    ),
    "unknown home type": (
        {"flows/sales/flow.yml": GOOD_FLOW.replace("type: csv", "type: cvs")},
        ["flow.yml:1", "unknown home type 'cvs'", "did you mean 'csv'"],
    ),
    "unknown store type": (
        {"flows/sales/flow.yml": GOOD_FLOW.replace("type: parquet", "type: iceberg")},
        ["flow.yml:2", "unknown store type 'iceberg'", "parquet"],
    ),
    "missing required key": (
        {"flows/sales/flow.yml": "store: {type: parquet, path: lake}\n"},
        ["flows/sales/flow.yml", "missing required key 'home'"],
    ),
    "missing plugin key": (
        {"flows/sales/flow.yml": GOOD_FLOW.replace("type: parquet, path: lake", "type: parquet")},
        ["sales.orders", "missing required key 'store.path'"],
    ),
    "wrong value type": (
        {"flows/sales/flow.yml": GOOD_FLOW + "batch_rows: many\n"},
        ["flow.yml:4", "batch_rows", "valid integer", "'many'"],
    ),
    "undefined variable": (
        {"flows/sales/flow.yml": GOOD_FLOW.replace("path: lake", 'path: "${LAKE_ROOT}"')},
        ["flow.yml:2", "'LAKE_ROOT' is not set", "store.path"],
    ),
    "entity name with a dot": (
        {"flows/sales/flow.yml": GOOD_FLOW.replace("[orders]", "[sales.orders]")},
        ["flow.yml:3", "'sales.orders' is not a valid name"],
    ),
    "entity name with a slash": (
        {"flows/sales/flow.yml": GOOD_FLOW.replace("[orders]", "[a/b]")},
        ["flow.yml:3", "'a/b' is not a valid name"],
    ),
    "entity name with ..": (
        {"flows/sales/flow.yml": GOOD_FLOW.replace("[orders]", "['..']")},
        ["flow.yml:3", "'..' is not a valid name"],
    ),
    "entity file with a bad name": (
        {"flows/sales/flow.yml": GOOD_FLOW, "flows/sales/entities/a.b.yml": "batch_rows: 5\n"},
        ["a.b.yml", "entity name 'a.b' is not valid"],
    ),
    "entity defined twice": (
        {
            "flows/sales/flow.yml": GOOD_FLOW,
            "flows/sales/entities/orders.yml": "batch_rows: 5\n",
        },
        ["orders.yml", "entity 'orders' is defined twice", "flow.yml:3"],
    ),
    "flow folder without flow.yml": (
        {"flows/sales/flow.yml": GOOD_FLOW, "flows/empty/notes.txt": "hi\n"},
        ["flows/empty", "has no flow.yml"],
    ),
    "bad run type": (
        {"flows/sales/flow.yml": GOOD_FLOW + "run_type: sometimes\n"},
        ["flow.yml:4", "run_type", "'sometimes'"],
    ),
    "merge into a file store": (
        {"flows/sales/flow.yml": GOOD_FLOW + "run_type: merge\nprimary_key: id\n"},
        ["sales.orders", "'merge'", "not supported by store type 'parquet'", "full_drop"],
    ),
    "password written into hygge.yml": (
        {"hygge.yml": "name: t\nconnections:\n  pg:\n    type: postgres\n    password: hunter2\n"},
        ["hygge.yml:5", "'connections.pg.password'", "written into the file", "${PG_PASSWORD}"],
    ),
    "password written into a url": (
        {"flows/sales/flow.yml": GOOD_FLOW.replace("path: lake", "path: s3://k:hunter2@lake/x")},
        ["flow.yml:2", "'store.path'", "written into the file", "${DB_PASSWORD}"],
    ),
    "password written into a url's query": (
        {
            "hygge.yml": "name: t\nconnections:\n  pg:\n    type: postgres\n"
            "    url: postgresql://app@db/shop?password=hunter2\n"
        },
        ["hygge.yml:5", "'connections.pg.url'", "written into the file", "${PG_PASSWORD}"],
    ),
    "secret written into a delta store's storage_options": (
        {
            "flows/sales/flow.yml": GOOD_FLOW.replace(
                "{type: parquet, path: lake}",
                "{type: delta, path: lake/t, storage_options: {aws_secret_access_key: abc123}}",
            )
        },
        ["flow.yml:2", "'store.storage_options.aws_secret_access_key'", "written into the file"],
    ),
    "misspelt connection type": (
        {"hygge.yml": "name: t\nconnections:\n  pg:\n    type: postgress\n"},
        ["hygge.yml:4", "'connections.pg.type'", "'postgress'", "did you mean 'postgres'"],
    ),
    "incremental without a watermark": (
        {"flows/sales/flow.yml": GOOD_FLOW + "run_type: incremental\n"},
        ["sales.orders", "needs a watermark"],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_config_fails_with_exit_2_naming_the_culprit(case, make_project, hygge_cli) -> None:
    files, expected = CASES[case]
    files = {"flows/sales/flow.yml": GOOD_FLOW, **files}
    root = make_project(files)
    (root / "data").mkdir(exist_ok=True)
    (root / "data/orders.csv").write_text("id,amount\n1,2.5\n")

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2, result.output
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.output
    assert "hunter2" not in result.output
    assert not (root / "lake").exists()


def test_no_project_file(tmp_path: Path, hygge_cli) -> None:
    result = hygge_cli("go", cwd=tmp_path)
    assert result.exit_code == 2
    assert "no hygge.yml found" in result.stderr
    assert "hygge init" in result.stderr


def test_project_is_found_from_a_subfolder(make_project, hygge_cli) -> None:
    root = make_project({"flows/sales/flow.yml": GOOD_FLOW})
    (root / "data").mkdir()
    (root / "data/orders.csv").write_text("id\n1\n")
    result = hygge_cli("go", "--dry-run", cwd=root / "flows" / "sales")
    assert result.exit_code == 0, result.output
    assert "sales.orders" in result.stdout


def test_variables_expand_once_with_defaults(make_project, hygge_cli, monkeypatch) -> None:
    flow = GOOD_FLOW.replace("path: lake", 'path: "${LAKE:-fallback}/${SUB}"')
    root = make_project({"flows/sales/flow.yml": flow})
    (root / "data").mkdir()
    (root / "data/orders.csv").write_text("id\n1\n")
    monkeypatch.setenv("SUB", "${LAKE}")  # a value is never expanded again

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 0, result.output
    assert (root / "fallback" / "${LAKE}" / "orders").is_dir()


def test_passwords_from_the_environment_are_accepted(make_project, hygge_cli, monkeypatch) -> None:
    monkeypatch.setenv("PG_PASSWORD", "hunter2")
    monkeypatch.setenv("PG_URL", "postgresql://app:hunter2@db.example/shop")
    project = """\
name: t
connections:
  by_field: {type: postgres, host: db.example, user: app, password: "${PG_PASSWORD}"}
  in_url: {type: postgres, url: "postgresql://app:${PG_PASSWORD}@db.example/shop"}
  whole_url: {type: postgres, url: "${PG_URL}"}
  no_password: {type: postgres, url: "postgresql://app@db.example/shop"}
"""
    root = make_project({"hygge.yml": project, "flows/sales/flow.yml": GOOD_FLOW})
    (root / "data").mkdir()
    (root / "data/orders.csv").write_text("id\n1\n")

    result = hygge_cli("go", "--dry-run", cwd=root)

    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output


@pytest.mark.parametrize(
    ("store_path", "message"),
    [("data/readme.txt", "is a file, not a folder"), ("lake", None)],
)
def test_paths_are_checked_before_anything_runs(
    store_path, message, make_project, hygge_cli
) -> None:
    flow = """\
        home: {type: csv, path: "data/{entity}.csv"}
        store: {type: parquet, path: STORE}
        entities: [orders, missing]
        """.replace("STORE", store_path)
    root = make_project({"flows/sales/flow.yml": flow})
    (root / "data").mkdir()
    (root / "data/orders.csv").write_text("id\n1\n")
    (root / "data/readme.txt").write_text("not a folder")  # orders.csv is a home: not a store

    result = hygge_cli("go", cwd=root)

    assert result.exit_code == 2
    assert "sales.missing: home path" in result.stderr and "does not exist" in result.stderr
    if message:
        assert message in result.stderr
    assert not (root / "lake").exists()


def test_a_variable_is_needed_only_by_what_is_selected(
    make_project, hygge_cli, monkeypatch
) -> None:
    """Reading the journal, listing locks or running other flows needs none of the secrets of
    a connection (or flow, or entity) left out; what is selected still needs all of its own."""
    for name in ("PG_PASSWORD", "CRM_URL", "RETURNS_ROWS"):
        monkeypatch.delenv(name, raising=False)
    project = """\
name: t
connections:
  pg: {type: postgres, host: db.example, user: app, password: "${PG_PASSWORD}"}
"""
    root = make_project(
        {
            "hygge.yml": project,
            "flows/crm/flow.yml": "home: {type: postgres, connection: pg, table: x}\n"
            "store: {type: parquet, path: lake/crm}\n",
            "flows/web/flow.yml": 'home: {type: postgres, url: "${CRM_URL}", table: x}\n'
            "store: {type: parquet, path: lake/web}\n",
            "flows/sales/flow.yml": GOOD_FLOW,
            "flows/sales/entities/returns.yml": "batch_rows: ${RETURNS_ROWS}\n",
        }
    )
    (root / "data").mkdir()
    (root / "data/orders.csv").write_text("id\n1\n")

    for args in (["history"], ["locks"], ["journal", "show"], ["go", "--entity", "sales.orders"]):
        result = hygge_cli(*args, cwd=root)
        assert result.exit_code == 0, (args, result.output)
    assert (root / "lake/orders").is_dir()
    needed = {
        ("go",): ("hygge.yml:3", "PG_PASSWORD"),
        ("go", "--flow", "crm", "--dry-run"): ("hygge.yml:3", "PG_PASSWORD"),
        ("debug",): ("hygge.yml:3", "PG_PASSWORD"),
        ("go", "--flow", "web"): ("flows/web/flow.yml:1", "CRM_URL"),
        ("go", "--flow", "sales"): ("returns.yml:1", "RETURNS_ROWS"),
    }
    for args, (where, variable) in needed.items():
        result = hygge_cli(*args, cwd=root)
        assert result.exit_code == 2, (args, result.output)
        assert where in result.stderr and f"{variable!r} is not set" in result.stderr, args

"""The Python API, the plugin registry, retries, and what a file home reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import hygge
from hygge import registry
from hygge.errors import ConfigError, MissingDriverError
from tests import flaky
from tests.conftest import data_files, read_lake

FLOW = """\
home: {type: parquet, path: data}
store: {type: parquet, path: lake}
"""


def test_load_plan_and_run_from_python(make_project) -> None:
    root = make_project({"flows/orders/flow.yml": FLOW})
    (root / "data").mkdir()
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(root / "data/a.parquet")

    project = hygge.load_project(root)
    plan = hygge.make_plan(project)
    result = hygge.run(project)

    assert [e.address for e in plan.entities] == ["orders.orders"]
    assert plan.entities[0].run_type == "full_drop"
    assert result.exit_code == 0
    assert [(r.address, r.status, r.rows) for r in result.entities] == [
        ("orders.orders", "success", 3)
    ]
    assert read_lake(root / "lake")["id"].to_list() == [1, 2, 3]


def test_import_hygge_loads_no_optional_driver() -> None:
    code = (
        "import sys, hygge, json; print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in {'duckdb','adbc_driver_manager','connectorx','psycopg',"
        "'pymysql','s3fs','adlfs','gcsfs','boto3','hygge.homes','hygge.stores'})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_version_and_help_load_no_data_library() -> None:
    """`hygge --version` and `--help` answer at once: no Polars, pydantic or Arrow import
    (together most of a second of start-up), which the commands load when they run."""
    code = (
        "import sys, json\n"
        "from hygge.cli import main\n"
        "for args in (['--version'], ['--help'], ['go', '--help'], ['journal', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = {'polars', 'pydantic', 'pyarrow', 'yaml'}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_every_public_name_of_hygge_resolves() -> None:
    """The names load on first use; each one listed must be there."""
    assert all(getattr(hygge, name) is not None for name in hygge.__all__)
    with pytest.raises(AttributeError):
        hygge.no_such_name  # noqa: B018


LIBRARY_ALONE = """\
import importlib, json, pathlib, sys
import hygge
top = pathlib.Path(hygge.__file__).parent
parts = [p.relative_to(top).with_suffix("").parts for p in top.rglob("*.py")]
outside = [".".join(("hygge", *p)) for p in parts if p[0] not in {"cli", "__main__"}]
library = sorted(name.removesuffix(".__init__") for name in outside)
for name in library:
    importlib.import_module(name)
print(json.dumps({"imported": library, "ui": sorted(
    m for m in sys.modules if m.split(".")[0] in {"click", "rich"} or m.startswith("hygge.cli"))}))
"""


def test_the_library_never_imports_the_cli() -> None:
    """The CLI is a skin: every module outside `hygge.cli` imports without it (and without
    Click and Rich), so orchestrators calling the library get all of it and none of that."""
    out = subprocess.run(
        [sys.executable, "-c", LIBRARY_ALONE], capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout)
    assert {"hygge.plan", "hygge.coordinator", "hygge.stores.postgres"} <= set(found["imported"])
    assert found["ui"] == []


def test_the_package_says_it_is_typed() -> None:
    """Plugins type-check against hygge's bases: the PEP 561 marker ships in the package."""
    assert (Path(hygge.__file__).parent / "py.typed").is_file()


def test_file_home_reads_folders_recursively_but_skips_hidden_and_private(make_project) -> None:
    root = make_project({"flows/orders/flow.yml": FLOW})
    data = root / "data"
    for relative, ids in {
        "a.parquet": [1],
        "2026/01/b.parquet": [2],
        "_SUCCESS": None,
        "_tmp/c.parquet": [98],
        ".staging/d.parquet": [99],
        "2026/.e.parquet": [97],
        "notes.txt": None,
    }.items():
        path = data / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if ids is None:
            path.write_text("not data")
        else:
            pl.DataFrame({"id": ids}).write_parquet(path)

    result = hygge.run(root)

    assert result.exit_code == 0, result.entities
    assert sorted(read_lake(root / "lake")["id"].to_list()) == [1, 2]


def test_home_path_may_be_a_glob(make_project) -> None:
    flow = FLOW.replace("path: data", 'path: "data/*/keep-*.parquet"')
    root = make_project({"flows/orders/flow.yml": flow})
    for relative, ids in {
        "x/keep-1.parquet": [1],
        "y/keep-2.parquet": [2],
        "y/drop.parquet": [3],
    }.items():
        (root / "data" / relative).parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"id": ids}).write_parquet(root / "data" / relative)

    assert hygge.run(root).exit_code == 0
    assert sorted(read_lake(root / "lake")["id"].to_list()) == [1, 2]


@pytest.fixture
def flaky_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        registry.BUILTINS["home"], "flaky", registry.Builtin("tests.flaky:FlakyHome")
    )
    flaky.ATTEMPTS.clear()


@pytest.mark.parametrize(("failures", "status", "attempts"), [(2, "success", 3), (3, "failed", 3)])
def test_transient_errors_are_retried_and_failed_attempts_leave_nothing(
    failures: int, status: str, attempts: int, flaky_home, make_project
) -> None:
    flow = f"""\
        home: {{type: flaky, path: src.parquet, failures: {failures}}}
        store: {{type: parquet, path: lake, file_rows: 1}}
        retries: 2
        retry_delay: 0
        """
    root = make_project({"flows/orders/flow.yml": flow})
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(root / "src.parquet")

    result = hygge.run(root).entities[0]

    assert (result.status, result.attempts) == (status, attempts)
    if status == "success":
        assert sorted(read_lake(root / "lake")["id"].to_list()) == [1, 2, 3]
        assert len(data_files(root / "lake")) == 3  # no file of a failed attempt
    else:
        assert "the network hiccupped" in (result.error or "")
        assert not (root / "lake").exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".lake")] == []


def test_unknown_type_lists_known_ones_and_missing_driver_names_the_extra(monkeypatch) -> None:
    with pytest.raises(ConfigError) as unknown:
        registry.home_class("parquett")
    assert "did you mean 'parquet'" in (unknown.value.hint or "")

    monkeypatch.setitem(
        registry.BUILTINS["home"],
        "postgres",
        registry.Builtin("hygge_no_such_driver:X", "postgres"),
    )
    with pytest.raises(MissingDriverError) as missing:
        registry.home_class("postgres")
    assert missing.value.exit_code == 2
    # not 'hygge[postgres]': that name on PyPI is another project's
    assert "pip install '.[postgres]' in a checkout of hygge" in (missing.value.hint or "")


def test_plugins_come_from_entry_points(tmp_path: Path, monkeypatch) -> None:
    dist = tmp_path / "hygge_extra-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hygge-extra\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hygge.homes]\nflaky = tests.flaky:FlakyHome\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert "flaky" in registry.known_kinds("home")
    assert registry.home_class("flaky") is flaky.FlakyHome


def test_debug_reports_every_problem_and_exits_non_zero(make_project, hygge_cli) -> None:
    flow = """\
        home: {type: csv, path: "data/{entity}.csv"}
        store: {type: parquet, path: lake}
        entities: [present, absent]
        """
    root = make_project({"flows/crm/flow.yml": flow})
    (root / "data").mkdir()
    (root / "data/present.csv").write_text("id\n1\n")

    result = hygge_cli("debug", cwd=root)

    assert result.exit_code == 1
    assert "ok  crm.present" in result.stdout
    assert "problem  crm.absent" in result.stdout and "does not exist" in result.stdout
    assert "1 flows, 2 entities, 1 problems" in result.stdout
    assert not (root / "lake").exists()
    (root / "data/absent.csv").write_text("id\n2\n")
    assert hygge_cli("debug", cwd=root).exit_code == 0


def test_debug_checks_each_named_connection_and_never_shows_its_password(
    make_project,
    hygge_cli,
    postgres_url,
    monkeypatch,
) -> None:
    canary = "canary-5e1b"
    monkeypatch.setenv("GOOD_URL", postgres_url)
    monkeypatch.setenv("BAD_URL", postgres_url.replace("hygge-test-pw", canary))
    project = """\
        name: t
        connections:
          good: {type: postgres, url: "${GOOD_URL}"}
          bad: {type: postgres, url: "${BAD_URL}"}
        """
    flow = """\
        home: {type: postgres, connection: good, table: absent_table}
        store: {type: postgres, connection: bad, table: out}
        """
    root = make_project({"hygge.yml": project, "flows/db/flow.yml": flow})

    result = hygge_cli("debug", cwd=root)

    assert result.exit_code == 1
    assert "ok  connection good" in result.stdout
    assert "problem  connection bad" in result.stdout
    assert "password authentication failed" in result.stdout
    assert "absent_table" in result.stdout  # the home's own problem, on the good connection
    assert canary not in result.output

"""What scripts and orchestrators read: `hygge ls`, JSON errors, and option conflicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from hygge.cli.scaffold import init_project


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return init_project(tmp_path / "demo").root


def test_ls_lists_the_selection_one_tab_separated_line_each(demo: Path, hygge_cli) -> None:
    result = hygge_cli("ls", "--entity", "shop.*,warehouse.orders", cwd=demo)
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(line[0], line[1], line[2]) for line in lines] == [
        ("shop.orders", "incremental", "updated_at"),
        ("shop.products", "full_drop", "-"),
        ("warehouse.orders", "merge", "updated_at"),
    ]
    assert lines[2][4].endswith("warehouse.duckdb#main.orders")
    assert not (demo / "lake").exists() and not (demo / ".hygge").exists()


def test_ls_as_json(demo: Path, hygge_cli) -> None:
    result = hygge_cli("ls", "--json", "--flow", "crm", cwd=demo)
    assert json.loads(result.stdout) == [
        {
            "entity": "crm.customers",
            "run_type": "full_drop",
            "watermark": None,
            "home": str(demo / "data/crm/customers.csv"),
            "store": str(demo / "lake/crm/customers"),
            "tags": [],
        }
    ]


@pytest.mark.parametrize(
    "args",
    [("go", "--json", "--entity", "nope.x"), ("ls", "--json", "--entity", "nope.x")],
)
def test_an_error_under_json_is_json_on_stdout(demo: Path, hygge_cli, args) -> None:
    result = hygge_cli(*args, cwd=demo)
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": {"message": "no entity matches 'nope.x'", "hint": None},
        "exit_code": 2,
    }


def test_quiet_and_verbose_together_are_a_usage_error(demo: Path, hygge_cli) -> None:
    result = hygge_cli("go", "-q", "-v", cwd=demo)
    assert result.exit_code == 2
    assert "--quiet and --verbose exclude each other" in result.output
    assert not (demo / "lake").exists()


def test_a_dotenv_file_fills_variables_and_the_environment_wins(
    make_project, hygge_cli, monkeypatch
) -> None:
    flow = 'home: {type: parquet, path: "${SOURCE}"}\nstore: {type: parquet, path: "${LAKE}"}\n'
    root = make_project({"flows/shop/flow.yaml": flow})  # flow.yaml is a flow file too
    (root / ".env").write_text("SOURCE=data\nLAKE=from_dotenv\n")
    (root / "data").mkdir()
    pl.DataFrame({"id": [1, 2]}).write_parquet(root / "data/a.parquet")
    monkeypatch.setenv("LAKE", "from_environment")
    monkeypatch.delenv("SOURCE", raising=False)
    result = hygge_cli("go", cwd=root)
    assert result.exit_code == 0, result.output
    assert (root / "from_environment").is_dir() and not (root / "from_dotenv").exists()


def test_a_flow_with_both_flow_files_is_refused(make_project, hygge_cli) -> None:
    flow = "home: {type: parquet, path: data}\nstore: {type: parquet, path: lake}\n"
    root = make_project({"flows/shop/flow.yml": flow, "flows/shop/flow.yaml": flow})
    result = hygge_cli("ls", cwd=root)
    assert result.exit_code == 2 and "both flow.yml and flow.yaml" in result.output


def test_short_flags_select_like_the_long_ones(demo: Path, hygge_cli) -> None:
    short = hygge_cli("ls", "-f", "shop", "-e", "crm.customers", cwd=demo)
    long = hygge_cli("ls", "--flow", "shop", "--entity", "crm.customers", cwd=demo)
    assert short.stdout == long.stdout and len(short.stdout.splitlines()) == 3
    assert hygge_cli("go", "-c", "1", "-e", "crm.customers", cwd=demo).exit_code == 0


def test_exclude_leaves_out_flows_and_entities(demo: Path, hygge_cli) -> None:
    result = hygge_cli("ls", "-x", "shop", "--exclude", "warehouse.*", cwd=demo)
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["crm.customers"]
    ran = hygge_cli("go", "--json", "-e", "shop.*", "-x", "shop.orders", cwd=demo)
    assert [e["entity"] for e in json.loads(ran.stdout)["entities"]] == ["shop.products"]


@pytest.mark.parametrize(
    ("exclude", "message"),
    [
        ("shopp", "--exclude: no flow matches 'shopp'; did you mean shop?"),
        ("shop.orders:d", "an exclusion takes no ':RT'"),
        ("*", "--exclude leaves no entity to run"),
    ],
)
def test_a_bad_exclusion_is_a_usage_error(demo: Path, hygge_cli, exclude, message) -> None:
    result = hygge_cli("go", "--exclude", exclude, cwd=demo)
    assert result.exit_code == 2 and message in result.output
    assert not (demo / "lake").exists()


def test_incremental_runs_what_can_and_names_what_it_left_out(demo: Path, hygge_cli) -> None:
    result = hygge_cli("go", "--json", "-i", cwd=demo)
    assert result.exit_code == 0, result.output
    ran = [e["entity"] for e in json.loads(result.stdout)["entities"]]
    assert ran == ["shop.orders", "warehouse.orders"]
    for left in ("crm.customers", "shop.products"):
        assert f"{left} left out of --incremental: it has no watermark" in result.stderr
    assert not (demo / "lake/crm").exists()


def test_incremental_with_nothing_able_to_run_is_a_usage_error(demo: Path, hygge_cli) -> None:
    result = hygge_cli("go", "-i", "--flow", "crm", cwd=demo)
    assert result.exit_code == 2
    assert "no selected entity has a watermark: crm.customers" in result.stderr
    # a run type the entity asks for itself is still refused outright
    asked = hygge_cli("go", "--entity", "crm.customers:i", cwd=demo)
    assert asked.exit_code == 2 and "needs a watermark" in asked.stderr


def complete(demo: Path, line: str) -> list[str]:
    """What bash completion offers for the last word of line, as Click answers it."""
    words = line.split()
    env = {
        **os.environ,
        "_HYGGE_COMPLETE": "bash_complete",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - (0 if line.endswith(" ") else 1)),
    }
    code = "from hygge.cli import main; main(prog_name='hygge')"
    out = subprocess.run([sys.executable, "-c", code], cwd=demo, env=env, capture_output=True)
    return [item.partition(",")[2] for item in out.stdout.decode().split()]


def test_shell_completion_offers_the_projects_flows_and_entities(demo: Path) -> None:
    assert complete(demo, "hygge go --entity sh") == ["shop.orders", "shop.products"]
    assert complete(demo, "hygge go --flow w") == ["warehouse"]
    assert complete(demo, "hygge preview crm.") == ["crm.customers"]

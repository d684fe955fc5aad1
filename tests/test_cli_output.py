"""What scripts and orchestrators read: `hygge ls`, JSON errors, and option conflicts."""

from __future__ import annotations

import json
from pathlib import Path

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

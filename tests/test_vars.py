"""`--var`: lists and mappings as values, entities by position, and errors that name the
`--var` as typed (not the file it overrides)."""

from __future__ import annotations

from pathlib import Path

import pytest

FLOW = """\
home: {type: csv, path: "data/{entity}.csv"}
store: {type: parquet, path: lake}
watermark: {column: id}
entities: [orders, customers]
"""


@pytest.fixture
def crm(make_project) -> Path:
    root = make_project({"flows/crm/flow.yml": FLOW})
    (root / "data").mkdir()
    for name in ("orders", "customers"):
        (root / f"data/{name}.csv").write_text("id,name\n1,a\n")
    return root


def settings_of(output: str, entity: str) -> str:
    """The `-v` settings block of one entity in `go --dry-run -v` output."""
    return output.split(f"{entity}  source:")[1].split("  source:")[0]


@pytest.mark.parametrize(
    ("var", "expected"),
    [
        (
            "flow.crm.store.compresion=snappy",
            ["unknown key 'store.compresion'", "did you mean 'compression'"],
        ),
        ("flow.crm.store.compression=snapy", ["store.compression", "'snapy'"]),
        ("flow.crm.home.type=cvs", ["unknown home type 'cvs'", "did you mean 'csv'"]),
        ("flow.crm.entities.orders.home.connection=pg", ["connection 'pg' is not defined"]),
        ("flow.crm.watermark.colum=name", ["unknown key 'watermark.colum'", "'column'"]),
        ("flow.crm.entities.orders.batch_rows=many", ["batch_rows", "'many'"]),
        ("flow.crm.primary_key=[a, {b: c}]", ["primary_key"]),
    ],
)
def test_a_bad_var_is_named_as_typed(var: str, expected: list[str], crm: Path, hygge_cli) -> None:
    result = hygge_cli("go", "--dry-run", "--var", var, cwd=crm)
    assert result.exit_code == 2, result.output
    assert f"--var {var!r}" in result.stderr
    for text in expected:
        assert text in result.stderr
    assert "flow.yml" not in result.stderr and "in that file" not in result.stderr


def test_values_may_be_lists_and_mappings(crm: Path, hygge_cli) -> None:
    result = hygge_cli(
        "go",
        "--dry-run",
        "-v",
        "--var",
        "flow.crm.primary_key=[id, name]",
        "--var",
        "flow.crm.entities.orders.watermark={column: name, lookback: 2}",
        cwd=crm,
    )
    assert result.exit_code == 0, result.output
    assert "primary_key = ['id', 'name']" in settings_of(result.stdout, "crm.customers")
    orders = settings_of(result.stdout, "crm.orders")
    assert "'column': 'name'" in orders and "'lookback': 2" in orders


def test_entities_by_position_in_the_order_the_flow_defines_them(crm: Path, hygge_cli) -> None:
    result = hygge_cli(
        "go", "--dry-run", "-v", "--var", "flow.crm.entities[1].batch_rows=7", cwd=crm
    )
    assert result.exit_code == 0, result.output
    assert "batch_rows = 7  (--var flow.crm.entities[1].batch_rows=7)" in settings_of(
        result.stdout, "crm.customers"
    )
    assert "batch_rows = 100000" in settings_of(result.stdout, "crm.orders")

    beyond = hygge_cli("go", "--dry-run", "--var", "flow.crm.entities[2].batch_rows=7", cwd=crm)
    assert beyond.exit_code == 2
    assert "has 2 entities, numbered from 0" in beyond.stderr
    assert "orders, customers" in beyond.stderr

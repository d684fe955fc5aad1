"""Seeing before moving: `hygge schema` and `hygge preview` read the home and write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import polars as pl
import pytest
import yaml

from hygge import peek
from hygge.cli.scaffold import init_project

FLOW = """\
home: {type: parquet, path: data}
store: {type: parquet, path: lake}
polish: {case: snake, constants: {source_system: erp}}
"""


def project(make_project) -> Path:
    root = make_project({"flows/shop/flow.yml": FLOW})
    (root / "data").mkdir()
    frame = pl.DataFrame({"OrderID": range(50), "Order Total": [1.5] * 50})
    frame.write_parquet(root / "data/a.parquet")
    return root


def test_schema_gives_source_and_landed_names_and_types(make_project, hygge_cli) -> None:
    root = project(make_project)
    assert peek.columns(root, "shop.shop") == [
        peek.Column("OrderID", "order_id", "int64"),
        peek.Column("Order Total", "order_total", "float64"),
        peek.Column(None, "source_system", "string"),
    ]
    shown = hygge_cli("schema", "shop.shop", cwd=root)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines() == [
        f"into {root / 'lake'}: not there yet, every column is new",
        "OrderID      -> order_id       int64",
        "Order Total  -> order_total    float64",
        "(added)      -> source_system  string",
    ]
    as_json = json.loads(hygge_cli("schema", "--json", "shop.shop", cwd=root).stdout)
    assert as_json["destination"] == str(root / "lake") and as_json["exists"] is False
    assert as_json["columns"][0] == {
        "source": "OrderID",
        "destination": "order_id",
        "type": "int64",
        "store_type": None,
        "verdict": None,
    }
    assert not (root / "lake").exists() and not (root / ".hygge").exists()


def test_preview_shows_the_first_rows_as_they_would_land(make_project, hygge_cli) -> None:
    root = project(make_project)
    frame = peek.preview(root, "shop.shop", rows=5)
    assert frame.columns == ["order_id", "order_total", "source_system"]
    assert frame["order_id"].to_list() == [0, 1, 2, 3, 4]
    shown = hygge_cli("preview", "shop.shop", "-n", "3", cwd=root)
    assert shown.exit_code == 0 and "shape: (3, 3)" in shown.stdout
    assert not (root / "lake").exists() and not (root / ".hygge").exists()


def test_an_unknown_entity_is_a_usage_error(make_project, hygge_cli) -> None:
    root = project(make_project)
    result = hygge_cli("schema", "shop.nope", cwd=root)
    assert result.exit_code == 2 and "no entity matches 'shop.nope'" in result.output


def test_the_config_schemas_accept_the_demo_and_refuse_an_unknown_key(
    tmp_path: Path, hygge_cli
) -> None:
    root = init_project(tmp_path / "demo").root
    schemas = {}
    for kind in ("project", "flow", "entity"):
        result = hygge_cli("schema", "--config", kind, cwd=root)
        assert result.exit_code == 0, result.output
        schemas[kind] = json.loads(result.stdout)
    files = {
        "project": [root / "hygge.yml"],
        "flow": sorted(root.glob("flows/*/flow.yml")),
        "entity": sorted(root.glob("flows/*/entities/*.yml")),
    }
    for kind, paths in files.items():
        assert paths, kind
        for path in paths:
            jsonschema.validate(yaml.safe_load(path.read_text()) or {}, schemas[kind])
    bad = {"home": {"type": "parquet", "path": "x"}, "batch_row": 5}
    with pytest.raises(jsonschema.ValidationError, match="batch_row"):
        jsonschema.validate(bad, schemas["flow"])
    typo = {"home": {"type": "parqet"}}
    with pytest.raises(jsonschema.ValidationError, match="parqet"):
        jsonschema.validate(typo, schemas["flow"])


def test_init_points_each_file_at_its_schema_which_validates_it(tmp_path: Path, hygge_cli) -> None:
    """An editor reads the first-line modeline; the file it names is hygge's schema of that
    kind of file, and the file passes it."""
    root = init_project(tmp_path / "demo").root
    kinds = {"hygge.yml": "project", "flow.yml": "flow"}
    checked = 0
    for path in sorted(root.rglob("*.yml")):
        kind = kinds.get(path.name, "entity")
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        schema_file = (path.parent / first.partition("$schema=")[2]).resolve()
        assert schema_file == root / f"schemas/{kind}.json"
        printed = hygge_cli("schema", "--config", kind, cwd=root).stdout
        assert json.loads(schema_file.read_text()) == json.loads(printed)
        jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(printed))
        checked += 1
    assert checked == 7

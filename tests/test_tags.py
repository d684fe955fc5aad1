"""`tags:` on flows and entities and `--tag T`: an entity has its flow's tags and its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hygge
from hygge.cli.scaffold import init_project
from hygge.errors import SelectionError


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    """The demo with the shop flow tagged `lake`, its products `catalog` too, and the
    warehouse flow tagged `nightly`."""
    root = init_project(tmp_path / "demo").root
    shop = root / "flows/shop"
    (shop / "flow.yml").write_text((shop / "flow.yml").read_text() + "tags: [lake]\n")
    products = shop / "entities/products.yml"
    products.write_text(products.read_text() + "tags: [catalog]\n")
    warehouse = root / "flows/warehouse/flow.yml"
    warehouse.write_text(warehouse.read_text() + "tags: [nightly]\n")
    return root


def _ls(hygge_cli, root: Path, *args: str) -> list[dict]:
    result = hygge_cli("ls", "--json", *args, cwd=root)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_entity_has_its_flows_tags_and_its_own(tagged: Path, hygge_cli) -> None:
    listed = {row["entity"]: row["tags"] for row in _ls(hygge_cli, tagged)}
    assert listed == {
        "crm.customers": [],
        "shop.orders": ["lake"],
        "shop.products": ["lake", "catalog"],
        "warehouse.orders": ["nightly"],
    }
    text = hygge_cli("ls", "--tag", "catalog", cwd=tagged).stdout.splitlines()
    assert [line.split("\t")[0] for line in text] == ["shop.products"]
    assert text[0].split("\t")[-1] == "lake,catalog"


def test_tags_select_entities_in_go_ls_and_run(tagged: Path, hygge_cli) -> None:
    both = _ls(hygge_cli, tagged, "--tag", "catalog", "-t", "nightly")
    assert [row["entity"] for row in both] == ["shop.products", "warehouse.orders"]
    narrowed = _ls(hygge_cli, tagged, "--tag", "lake", "--exclude", "shop.orders")
    assert [row["entity"] for row in narrowed] == ["shop.products"]
    result = hygge_cli("go", "--json", "--tag", "lake", cwd=tagged)
    assert result.exit_code == 0, result.output
    ran = [e["entity"] for e in json.loads(result.stdout)["entities"]]
    assert ran == ["shop.orders", "shop.products"]
    assert not (tagged / "lake/crm").exists() and not (tagged / "warehouse.duckdb").exists()
    library = hygge.run(tagged, tags="nightly")
    assert [r.address for r in library.entities] == ["warehouse.orders"]
    assert library.exit_code == 0


def test_a_tag_no_entity_has_is_a_usage_error_naming_it(tagged: Path, hygge_cli) -> None:
    result = hygge_cli("go", "--tag", "nighty", cwd=tagged)
    assert result.exit_code == 2
    assert "no entity has tag 'nighty'; did you mean nightly?" in result.stderr
    assert not (tagged / "lake").exists()
    with pytest.raises(SelectionError, match="no entity has tag 'weekly'"):
        hygge.run(tagged, tags=["weekly"])
    none_left = hygge_cli("ls", "--flow", "crm", "--tag", "lake", cwd=tagged)
    assert none_left.exit_code == 2
    assert "no selected entity has tag 'lake'" in none_left.stderr


@pytest.mark.parametrize(
    ("line", "culprit"),
    [("tags: nightly", "tags"), ("tags: [two words]", "two words"), ("tag: [x]", "tag")],
)
def test_tags_are_strict_config(tagged: Path, hygge_cli, line: str, culprit: str) -> None:
    flow = tagged / "flows/crm/flow.yml"
    flow.write_text(flow.read_text() + line + "\n")
    result = hygge_cli("ls", cwd=tagged)
    assert result.exit_code == 2
    assert "flows/crm/flow.yml" in result.stderr and culprit in result.stderr

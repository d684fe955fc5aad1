"""docs/configuration.md is what `python -m hygge.config.reference` writes, and names every key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hygge.config import reference
from hygge.config.jsonschema import config_schema
from hygge.config.reference import render
from hygge.config.strict import Strict

REFERENCE = Path(__file__).parents[1] / "docs/configuration.md"


def test_the_committed_reference_is_what_the_generator_writes() -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "hygge.config.reference"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert generated == REFERENCE.read_text(encoding="utf-8"), (
        "docs/configuration.md is stale: python -m hygge.config.reference > docs/configuration.md"
    )


def keys(node: Any) -> set[str]:
    """Every property name anywhere in a JSON Schema."""
    if isinstance(node, list):
        return {key for item in node for key in keys(item)}
    if not isinstance(node, dict):
        return set()
    found = set(node["properties"]) if isinstance(node.get("properties"), dict) else set()
    return found | {key for value in node.values() for key in keys(value)}


@pytest.mark.parametrize(
    ("kind", "example"), [("project", "flows_dir"), ("flow", "description"), ("entity", "lookback")]
)
def test_every_key_a_config_file_takes_is_explained(kind: Any, example: str) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    written = keys(config_schema(kind))
    assert example in written
    assert sorted(key for key in written if f"| `{key}` |" not in text) == []


def test_every_home_and_store_key_is_explained() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for key in ("new_files_only", "partition", "compression_level", "overwrite_foreign", "schema"):
        assert f"| `{key}` |" in text
    assert "| `credentials` |" not in text  # filled in by hygge, never written


def test_a_key_without_a_description_stops_the_generator() -> None:
    class Undocumented(Strict):
        batch_rows: int = 1

    with pytest.raises(ValueError, match=r"Undocumented\.batch_rows has no description"):
        reference._table(Undocumented)
    assert "| `batch_rows` | integer, > 0 | `100,000` |" in render()

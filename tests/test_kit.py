"""The plugin kit is public API: its names are pinned, it loads no optional driver, and the
README's plugin example, built on the kit alone, passes the home and store contracts."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import polars as pl

import hygge.kit as kit
from hygge.testing import HomeContract, StoreContract

README = Path(__file__).parent.parent / "README.md"
PINNED = {
    "Commit", "ConfigError", "Context", "Cursor", "DatabaseConfig", "Dialect", "Driver",
    "EntityError", "FileDatabaseConfig", "FileDatabaseHome", "FileDatabaseLoad",
    "FileDatabaseStore", "FileDatabaseStoreConfig", "FileHome", "FileHomeConfig", "FileStore",
    "FileStoreConfig", "FileWriter", "Home", "Load", "LoadRun", "Mark", "PartitionedHomeConfig",
    "PluginConfig", "RetryableError", "SLOT", "ServerHome", "ServerHomeConfig", "SourceError",
    "SqlHome", "SqlHomeConfig", "SqlLoad", "SqlStore", "SqlStoreConfig", "StagedLoad", "Store",
    "StoreError", "Verdict", "Window",
}  # fmt: skip


def test_the_kit_exports_exactly_the_pinned_names() -> None:
    assert set(kit.__all__) == PINNED
    assert all(hasattr(kit, name) for name in PINNED)


def test_importing_the_kit_loads_no_optional_driver() -> None:
    code = (
        "import sys, hygge.kit; drivers = ('duckdb', 'adbc_driver_postgresql', 'pymysql',"
        " 'mssql_python'); print([d for d in drivers if d in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def readme_plugin() -> dict[str, Any]:
    """The names the README's plugin example defines (the python block importing the kit),
    run as a module of its own, as a plugin package's would be."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    example = next(block for block in blocks if "from hygge.kit import" in block)
    module = types.ModuleType("readme_plugin")
    sys.modules[module.__name__] = module
    exec(compile(example, str(README), "exec"), module.__dict__)
    return module.__dict__


PLUGIN = readme_plugin()


def context(tmp_path: Path) -> kit.Context:
    return kit.Context(root=tmp_path, flow="f", entity="e")


class TestTheReadmeHomeOnTheKit(HomeContract):
    def make_home(self, tmp_path: Path, frame: pl.DataFrame) -> kit.Home[Any]:
        folder = tmp_path / "data"
        folder.mkdir()
        half = frame.height // 2
        for number, part in enumerate([frame.head(half), frame.slice(half)]):
            part.write_ipc(folder / f"part-{number}.arrow")
        return PLUGIN["ArrowHome"](PLUGIN["ArrowHomeConfig"](path="data"), context(tmp_path))

    def make_broken_home(self, tmp_path: Path) -> kit.Home[Any]:
        return PLUGIN["ArrowHome"](PLUGIN["ArrowHomeConfig"](path="missing"), context(tmp_path))


class TestTheReadmeStoreOnTheKit(StoreContract):
    def make_store(self, tmp_path: Path) -> kit.Store[Any]:
        config = PLUGIN["ArrowStoreConfig"](path="lake/orders", file_rows=7)
        return PLUGIN["ArrowStore"](config, context(tmp_path))

    def make_broken_store(self, tmp_path: Path) -> kit.Store[Any]:
        (tmp_path / "lake").mkdir()
        (tmp_path / "lake" / "orders").write_text("a file where the folder should be")
        return self.make_store(tmp_path)

    def read_back(self, store: kit.Store[Any]) -> pl.DataFrame | None:
        folder = Path(store.destination())
        if not folder.exists():
            return None
        files = sorted(folder.glob("[!._]*.arrow"))
        return pl.concat([pl.read_ipc(file) for file in files]) if files else pl.DataFrame()

    def leftovers(self, store: kit.Store[Any]) -> list[str]:
        folder = Path(store.destination())
        beside = [p.name for p in folder.parent.iterdir() if p != folder]
        return sorted(beside + [p.name for p in folder.rglob(".*")])

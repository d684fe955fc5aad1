"""The package layout the architecture notes promise: homes and stores never import each
other, engines import neither, and no module imports another package's private module."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import hygge

SOURCE = Path(hygge.__file__).parent


def imports_of(path: Path) -> list[str]:
    """The hygge modules a source file imports (`from hygge.x import y` gives hygge.x.y and
    hygge.x, since y may be a module or a name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return [name for name in found if name.startswith("hygge.")]


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    return module.rpartition(".")[0]


def test_homes_stores_and_engines_keep_to_their_rooms() -> None:
    forbidden = {
        "hygge.homes": ("hygge.stores",),
        "hygge.stores": ("hygge.homes",),
        "hygge.engines": ("hygge.homes", "hygge.stores"),
    }
    crossings = [
        f"{module_name(path)} imports {name}"
        for path in SOURCE.rglob("*.py")
        for room, banned in forbidden.items()
        if module_name(path).startswith(room + ".")
        for name in imports_of(path)
        if name.startswith(banned)
    ]
    assert crossings == []


def test_no_module_imports_another_packages_private_module() -> None:
    """hygge.kit alone gathers the bases from where they live: it is their public face."""
    modules = {module_name(path) for path in SOURCE.rglob("*.py")}
    crossings = [
        f"{module_name(path)} imports {name}"
        for path in SOURCE.rglob("*.py")
        if module_name(path) != "hygge.kit"
        for name in imports_of(path)
        if name in modules
        and name.rpartition(".")[2].startswith("_")
        and not name.endswith(".__init__")
        and package_of(name) != package_of(module_name(path))
    ]
    assert crossings == []


EACH_ALONE = """\
import importlib, json, pathlib, sys
import hygge
top = pathlib.Path(hygge.__file__).parent
names = sorted(
    ".".join(("hygge", *p.relative_to(top).with_suffix("").parts)).removesuffix(".__init__")
    for p in top.rglob("*.py")
    if p.stem != "__main__"
)
failed = {}
for name in names:
    for loaded in [m for m in sys.modules if m == "hygge" or m.startswith("hygge.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed[name] = str(exc)
print(json.dumps(failed))
"""


def test_every_module_imports_first() -> None:
    """Whatever a program imports first works: an import cycle that only the usual order
    hides (a plugin base reaching config discovery and back) fails here."""
    out = subprocess.run(
        [sys.executable, "-c", EACH_ALONE], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == {}

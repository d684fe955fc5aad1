"""The `hygge` command: Click commands that parse arguments and render what the library returns.

Nothing outside this package imports it, so the library runs without Click or Rich output
(docs/architecture.md, Output).
"""

from hygge.cli.commands import main

__all__ = ["main"]

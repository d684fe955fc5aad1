"""Testing helpers for plugin authors: in-memory plugins and the contract every plugin passes.

`MemoryHome` and `MemoryStore` are real plugins that keep tables in this process, so flow and
coordinator tests need no files. `HomeContract` and `StoreContract` hold the behaviour every
home and store must have; a plugin's tests inherit them and say how to build the plugin:

    class TestMyStore(StoreContract):
        def make_store(self, tmp_path): ...
        def make_broken_store(self, tmp_path): ...
        def read_back(self, store): ...
        def leftovers(self, store): ...

`HomeContract` asks for `make_home` and `make_broken_home` in the same way. Nothing here
imports pytest until a contract test asks to be skipped, and nothing imports an optional
driver.
"""

from __future__ import annotations

from hygge.testing.contracts import HomeContract, StoreContract, assert_same_rows, sample
from hygge.testing.memory import (
    MemoryHome,
    MemoryHomeConfig,
    MemoryLoad,
    MemoryStore,
    MemoryStoreConfig,
    drop_tables,
    get_table,
    put_table,
    staged_runs,
)

__all__ = [
    "HomeContract",
    "MemoryHome",
    "MemoryHomeConfig",
    "MemoryLoad",
    "MemoryStore",
    "MemoryStoreConfig",
    "StoreContract",
    "assert_same_rows",
    "drop_tables",
    "get_table",
    "put_table",
    "sample",
    "staged_runs",
]
